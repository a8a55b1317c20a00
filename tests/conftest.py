"""Shared fixtures: an app on a real database (SQLite, or PostgreSQL when configured)."""

from __future__ import annotations

import os
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, delete, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator

import ivr.models  # noqa: F401
import ivr.plugins  # noqa: F401
from ivr import create_app
from ivr.db import Base, session_factory
from ivr.flows.store import _parsed as flow_cache
from ivr.flows.store import load_shipped_flows
from ivr.migrate import upgrade
from ivr.simulator import InProcess, Phone

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
#: A Tuesday at 10:00 in Berlin: the hotline is staffed.
OPEN_HOURS = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
#: A Sunday evening in Berlin: only self-service.
CLOSED_HOURS = datetime(2026, 11, 22, 19, 0, tzinfo=UTC)


def _fresh_postgres(url: str) -> Iterator[str]:
    """A throw-away database next to the configured one, so parallel runs never collide."""
    base = make_url(url)
    name = f"ivr_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database for the whole run: PostgreSQL if IVR_TEST_DATABASE_URL is set."""
    configured = os.environ.get("IVR_TEST_DATABASE_URL")
    if configured:
        for url in _fresh_postgres(configured):
            upgrade(url)
            yield url
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        upgrade(url)
        yield url


@pytest.fixture
def app(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """The app on an emptied database with the shipped flows published, during opening hours."""
    monkeypatch.setenv("IVR_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "PUBLIC_URL": None,
            "FALLBACK_NUMBER": None,
            "SPEECH_MODE": "twilio",
            "CLOCK": lambda: OPEN_HOURS,
        }
    )
    with session_factory(app)() as session:
        existing = set(inspect(session.connection()).get_table_names())
        for table in reversed(Base.metadata.sorted_tables):
            if table.name in existing:  # test_migrations checks that every model has its table
                session.execute(delete(table))
        flow_cache.clear()  # version ids restart on an emptied SQLite database
        load_shipped_flows(session)
        session.commit()
    engine = session_factory(app).kw["bind"]
    yield app
    engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """A CLI runner bound to the test app; invoke with ``runner.invoke(main, [...])``."""
    return app.test_cli_runner()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A database session on the test database (commit what a test sets up)."""
    with session_factory(app)() as s:
        yield s


@pytest.fixture
def twilio_post(client: FlaskClient) -> Callable[..., Any]:
    """POST to a webhook signed exactly as Twilio signs it."""

    def post(path: str, signature: str | None = None, **params: str) -> Any:
        url = f"http://localhost{path}"
        sig = (
            signature
            if signature is not None
            else RequestValidator(AUTH_TOKEN).compute_signature(url, params)
        )
        return client.post(path, data=params, headers={"X-Twilio-Signature": sig})

    return post


@pytest.fixture
def phone(app: Flask) -> Callable[..., Phone]:
    """A simulated caller driving the real webhooks in-process."""

    def make(from_number: str = "+4915112345678", **kwargs: Any) -> Phone:
        return Phone(InProcess(app), from_number=from_number, **kwargs)

    return make


def twiml(resp: Any) -> ET.Element:
    """Parse a webhook response as TwiML for XPath asserts."""
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.mimetype == "text/xml"
    return ET.fromstring(resp.get_data(as_text=True))


@pytest.fixture(autouse=True)
def no_real_twilio(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that would reach Twilio's REST API without an injected HTTP client."""

    def refuse(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a test tried to reach Twilio's REST API; inject an HttpClient")

    monkeypatch.setattr(TwilioHttpClient, "request", refuse)
