"""Live events: a change written by any process wakes the streams of the agent it concerns."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from ivr.db import session_factory
from ivr.desk.events import POLL_SECONDS, events_for


def _wait_listening(hub, seconds: float = 5.0) -> None:
    limit = time.monotonic() + seconds
    while not hub.listening and time.monotonic() < limit:
        time.sleep(0.02)


def test_a_change_from_another_connection_wakes_that_agents_stream_at_once(app, create_user, database_url):
    engine = session_factory(app).kw["bind"]
    if engine.dialect.name != "postgresql":
        pytest.skip("NOTIFY needs PostgreSQL; SQLite streams poll")
    anna = create_user("anna@shop.example")
    ben = create_user("ben@shop.example", name="Ben")
    hub = events_for(engine)
    _wait_listening(hub)
    assert hub.listening
    seen_ben = hub.version(ben["id"])
    seen = hub.version(anna["id"])
    other = create_engine(database_url)  # as another `ivr serve` process would write it
    try:
        started = time.monotonic()
        with other.begin() as conn:
            conn.execute(
                text("UPDATE users SET activity = 'available', activity_since = now() WHERE id = :id"),
                {"id": anna["id"]},
            )
        assert hub.wait(anna["id"], seen, timeout=5.0) != seen
        assert time.monotonic() - started < 1.0
        assert hub.wait(ben["id"], seen_ben, timeout=0.3) == seen_ben  # Ben's screen is not woken
    finally:
        other.dispose()


def test_without_a_listener_streams_look_every_poll_interval(app, create_user):
    engine = session_factory(app).kw["bind"]
    if engine.dialect.name == "postgresql":
        pytest.skip("the polling fallback is what SQLite uses")
    hub = events_for(engine)
    anna = create_user("anna@shop.example")
    started = time.monotonic()
    seen = hub.version(anna["id"])
    assert hub.wait(anna["id"], seen, timeout=2.0) == seen
    assert time.monotonic() - started < POLL_SECONDS + 0.2
