"""Pooled PostgreSQL connections: tested before use only after idling, and a dead one is replaced."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from ivr import db

pytestmark = pytest.mark.skipif(
    not os.environ.get("IVR_TEST_DATABASE_URL"), reason="the connection pool matters on PostgreSQL"
)


def test_a_connection_cut_while_idle_is_replaced_before_a_request_sees_it(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = db.make_engine(database_url)
    admin = db.make_engine(database_url)
    try:
        with engine.connect() as conn:
            first = conn.scalar(text("SELECT pg_backend_pid()"))
        with admin.begin() as conn:  # a restart, a pooler or firewall timeout: the server side is gone
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        monkeypatch.setattr(db, "PING_AFTER_IDLE", 0.0)  # it has idled long enough
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT pg_backend_pid()")) != first  # a new connection
    finally:
        engine.dispose()
        admin.dispose()
