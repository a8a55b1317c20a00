"""A database that hangs or is gone: callers still get the fallback, probes tell the truth."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from twilio.request_validator import RequestValidator

from ivr import create_app
from ivr.db import Timeouts
from tests.conftest import AUTH_TOKEN, twiml

CALL = {
    "CallSid": "CA" + "4" * 32,
    "From": "+4915112345678",
    "To": "+4930123456789",
    "AccountSid": "AC" + "0" * 32,
}
#: Far above the configured timeouts and below Twilio's 15 s, so a hang fails the test.
BOUND = 14


@pytest.fixture
def silent_database() -> Iterator[str]:
    """A PostgreSQL URL whose server accepts TCP connections and never says a word."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"postgresql+psycopg://hotline@127.0.0.1:{server.getsockname()[1]}/hotline"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


@pytest.fixture
def hung_app(silent_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """The app on the silent database, with a fallback number and short timeouts."""
    monkeypatch.setenv("IVR_INSTANCE_PATH", str(tmp_path / "instance"))
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": silent_database,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "PUBLIC_URL": None,
            "FALLBACK_NUMBER": "+4930999999",
            "DB_TIMEOUTS": Timeouts(connect=2, statement=2, lock=1),
        }
    )


def within_bound(request: Callable[[], Any]) -> Any:
    """Run the request on a thread and fail the test if it does not come back in time."""
    answers: list[Any] = []
    thread = threading.Thread(target=lambda: answers.append(request()), daemon=True)
    thread.start()
    thread.join(BOUND)
    assert answers, "the request hung past Twilio's webhook timeout"
    return answers[0]


def test_hung_database_still_connects_the_caller_to_the_fallback_number(hung_app):
    sig = RequestValidator(AUTH_TOKEN).compute_signature("http://localhost/twilio/voice", CALL)
    client = hung_app.test_client()
    resp = within_bound(lambda: client.post("/twilio/voice", data=CALL, headers={"X-Twilio-Signature": sig}))
    doc = twiml(resp)
    assert "technischer Fehler" in doc.find("Say").text
    assert doc.find("Dial").text == "+4930999999"


def test_readiness_fails_while_liveness_holds_when_the_database_hangs(hung_app):
    client = hung_app.test_client()
    assert client.get("/health").get_json() == {"status": "ok"}
    resp = within_bound(lambda: client.get("/health/ready"))
    assert resp.status_code == 503
    assert resp.get_json() == {"status": "unavailable", "reason": "database did not answer"}


def test_readiness_ok_when_the_database_answers(client):
    resp = client.get("/health/ready")
    assert resp.status_code == 200 and resp.get_json() == {"status": "ok", "database": "ok"}


def test_sqlite_write_lock_held_too_long_serves_the_fallback(app, twilio_post):
    from ivr import db

    if not app.config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("the in-process writer lock exists on SQLite only")
    app.config["FALLBACK_NUMBER"] = "+4930999999"
    with db._SQLITE_WRITER:  # another request of this process that never finishes
        doc = twiml(within_bound(lambda: twilio_post("/twilio/voice", **CALL)))
    assert doc.find("Dial").text == "+4930999999"
