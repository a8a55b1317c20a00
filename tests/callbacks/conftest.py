"""Queue fixtures that need only a database: SQLite always, PostgreSQL when configured."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

import ivr.plugins  # noqa: F401  (the callback tables)
from callbacks.models import QUEUED, CallbackRequest
from callbacks.settings import Settings
from ivr.db import make_engine
from ivr.migrate import upgrade
from ivr.models.agent import Agent

#: Tuesday 24 November 2026, 10:00 in Berlin.
TUESDAY_10 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
OFFICE = {"timezone": "Europe/Berlin", "country": "DE", "weekly": {"mon-fri": "08:00-18:00"}}


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated database of each kind (PostgreSQL only with IVR_TEST_DATABASE_URL)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'callbacks.db'}"
        upgrade(url)
        yield url
        return
    configured = os.environ.get("IVR_TEST_DATABASE_URL")
    if not configured:
        pytest.skip("IVR_TEST_DATABASE_URL is not set")
    base = make_url(configured)
    name = f"ivr_cb_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    """A session factory on the test database."""
    engine = make_engine(db_url)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


@pytest.fixture
def settings() -> Settings:
    """Short leases and no pauses, so tests run fast."""
    return Settings(
        caller_id="+4930123456789",
        claim_lease=timedelta(seconds=2),
        dial_lease=timedelta(minutes=15),
        api_retry_delay=0,
        poll_seconds=0.02,
    )


@pytest.fixture
def add_agents(sessions: sessionmaker[Session]) -> Callable[[int], list[str]]:
    """Create ``n`` active agents; returns their phone numbers."""

    def add(n: int) -> list[str]:
        phones = [f"+49301111{i:04d}" for i in range(n)]
        with sessions() as session:
            session.add_all(Agent(name=f"agent{i}", phone=p) for i, p in enumerate(phones))
            session.commit()
        return phones

    return add


@pytest.fixture
def add_requests(sessions: sessionmaker[Session]) -> Callable[..., list[int]]:
    """Bulk-insert ``n`` due requests from distinct numbers; returns their ids."""

    def add(n: int, due: datetime | None = None, hours: dict[str, object] | None = None) -> list[int]:
        at = due or datetime.now(UTC) - timedelta(minutes=1)
        rows = [
            {
                "phone": f"+4915{i:09d}",
                "status": QUEUED,
                "priority": i % 3,
                "source": "api",
                "language": "de",
                "window": "asap",
                "hours": hours,
                "position_at": at,
                "requested_at": at,
                "updated_at": at,
                "due_at": at + timedelta(seconds=i),
                "next_attempt_at": at,
                "attempts": 0,
                "dials": 0,
                "updates": 0,
            }
            for i in range(n)
        ]
        with sessions() as session:
            for chunk in range(0, n, 2000):
                session.execute(insert(CallbackRequest), rows[chunk : chunk + 2000])
            session.commit()
            return list(session.scalars(text("SELECT id FROM callback_requests ORDER BY id")))

    return add
