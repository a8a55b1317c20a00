"""No personal data in logs, URLs or world-readable files."""

from __future__ import annotations

import logging
import os
import stat
from datetime import date

import pytest
from sqlalchemy import create_engine, text

from ivr.apikeys import create_api_key
from ivr.db import make_engine
from ivr.orders.importer import parse_order, upsert_orders
from tests.callbacks.fakes import FakeTwilio
from tests.conftest import AUTH_TOKEN

CALLER = "+4915112345678"
POSTAL = "10115"
SPOKEN = "ich habe eine frage zu meiner rechnung"


@pytest.fixture
def everything_logged(app, caplog):  # type: ignore[no-untyped-def]
    """Every log record at DEBUG, SQLAlchemy's statements (echo) included."""
    engine = app.extensions["ivr.db"].kw["bind"]
    engine.echo = "debug"
    caplog.set_level(logging.DEBUG)
    yield caplog
    engine.echo = False


def _logged(caplog) -> str:  # type: ignore[no-untyped-def]
    lines = []
    for record in caplog.records:
        lines.append(record.getMessage())
        if record.exc_text:
            lines.append(record.exc_text)
    return "\n".join(lines)


def test_a_whole_conversation_logs_no_number_postal_code_or_transcript(
    app, session, phone, everything_logged
):
    app.config["TWILIO_HTTP_CLIENT"] = FakeTwilio(AUTH_TOKEN)
    upsert_orders(
        session,
        [
            parse_order(
                {
                    "order_number": "4711",
                    "status": "shipped",
                    "phone": "+4917699887766",
                    "postal_code": POSTAL,
                    "customer_name": "Anna Beispiel",
                    "carrier": "DHL",
                    "ordered_at": date(2026, 11, 20).isoformat(),
                },
                "DE",
            )
        ],
    )
    session.commit()
    everything_logged.clear()
    caller = phone(CALLER)
    caller.dial()
    caller.say(SPOKEN)  # speech intent
    caller.hang_up()
    other = phone(CALLER)
    other.dial()
    other.press("1")  # order status
    other.press("4711#")
    other.press(f"{POSTAL}#")  # postal code verification
    assert "unterwegs" in other.heard
    other.hang_up()
    third = phone(CALLER)
    third.dial()
    third.press("3")  # callback
    third.press("1")  # to this number
    assert "Wann passt es Ihnen" in third.heard
    third.press("1")  # as soon as possible
    assert "Wir rufen Sie in Kürze" in third.heard  # the callback request was stored
    third.hang_up()
    logged = _logged(everything_logged)
    assert "INSERT INTO" in logged  # SQLAlchemy's statements were captured
    for secret in (CALLER, CALLER.lstrip("+"), "15112345678", POSTAL, SPOKEN, "Anna Beispiel", "4711"):
        assert secret not in logged, f"{secret!r} was logged"


def test_a_failing_statement_does_not_log_its_parameters(app, caplog):
    engine = make_engine(app.config["DATABASE_URL"])
    with pytest.raises(Exception) as failure, engine.connect() as conn:
        conn.execute(text("SELECT * FROM no_such_table WHERE phone = :phone"), {"phone": CALLER})
    assert CALLER not in str(failure.value)
    engine.dispose()


def test_the_sqlite_file_and_its_journal_are_private(tmp_path):
    path = tmp_path / "private.db"
    old = os.umask(0o022)
    try:
        engine = make_engine(f"sqlite:///{path}")
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect():
            pass
    finally:
        os.umask(old)
    for name in (path, path.with_name("private.db-wal"), path.with_name("private.db-shm")):
        if name.exists():
            assert stat.S_IMODE(name.stat().st_mode) == 0o600, name
    assert path.exists()
    engine.dispose()


def test_an_existing_world_readable_database_is_made_private(tmp_path):
    path = tmp_path / "old.db"
    create_engine(f"sqlite:///{path}").dispose()
    with create_engine(f"sqlite:///{path}").begin() as conn:
        conn.execute(text("CREATE TABLE t (x)"))
    os.chmod(path, 0o644)
    make_engine(f"sqlite:///{path}").dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_lookups_by_phone_or_order_number_need_no_url(client, session):
    key = create_api_key(session, "shop", ["orders", "callbacks"])
    session.commit()
    headers = {"X-API-Key": key}
    upsert_orders(session, [parse_order({"order_number": "4711", "status": "shipped"}, "DE")])
    session.commit()
    found = client.post("/api/orders/lookup", json={"order_number": "4711"}, headers=headers)
    assert found.status_code == 200 and found.get_json()["status"] == "shipped"
    assert client.post("/api/orders/lookup", json={}, headers=headers).status_code == 400
    old = client.get("/api/orders/4711", headers=headers)
    assert old.status_code == 200 and old.headers["Deprecation"] == "true"
    assert "/api/orders/lookup" in old.headers["Link"]
    searched = client.post(
        "/api/callbacks/search", json={"phone": CALLER, "status": ["queued"]}, headers=headers
    )
    assert searched.status_code == 200 and searched.get_json() == []
    bad = client.post("/api/callbacks/search", json={"phone": "nonsense"}, headers=headers)
    assert bad.status_code == 400
    listed = client.get(f"/api/callbacks?phone={CALLER}", headers=headers)
    assert listed.status_code == 200 and listed.headers["Deprecation"] == "true"


def test_the_access_log_leaves_query_strings_out():
    import runpy
    from pathlib import Path

    settings = runpy.run_path(str(Path(__file__).resolve().parents[2] / "gunicorn.conf.py"))
    assert "%(U)s" in settings["access_log_format"] and "%(r)s" not in settings["access_log_format"]
    assert "%(q)s" not in settings["access_log_format"]


def test_the_lean_access_logger_writes_gunicorns_line():
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn.config import Config
    from gunicorn.glogging import Logger, SafeAtoms

    from ivr.serving import ACCESS_LOG_FORMAT, AccessLogger

    config = Config()
    config.set("access_log_format", ACCESS_LOG_FORMAT)
    response = SimpleNamespace(status="403 FORBIDDEN", sent=0, headers=[("Content-Type", "text/html")])
    request = SimpleNamespace(headers=[("X-TWILIO-SIGNATURE", "c2lnbmF0dXJl")])
    environ = {
        "REMOTE_ADDR": "10.1.2.3",
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/twilio/step",
        "RAW_URI": "/twilio/step?n=2&From=%2B4915112345678",
        "QUERY_STRING": "n=2&From=%2B4915112345678",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_USER_AGENT": 'TwilioProxy/1.1 "quoted"',
    }
    took = timedelta(seconds=1, microseconds=4321)

    def line(logger: Logger) -> str:
        logger.now = lambda: "[30/Nov/2026:12:00:00 +0000]"
        return ACCESS_LOG_FORMAT % SafeAtoms(logger.atoms(response, request, environ, took))

    ours = line(AccessLogger(config))
    assert ours == line(Logger(config))
    assert ours.startswith('10.1.2.3 - - [30/Nov/2026:12:00:00 +0000] "POST /twilio/step HTTP/1.1" 403 0 ')
    assert "4915112345678" not in ours
    # Another format gets all of gunicorn's atoms.
    config.set("access_log_format", "%(h)s %({x-twilio-signature}i)s")
    assert AccessLogger(config).atoms(response, request, environ, took)["{x-twilio-signature}i"]


def test_numbers_in_our_log_lines_are_masked():
    from ivr.privacy.logs import MaskPersonalData, mask_numbers

    assert (
        mask_numbers("The 'To' number +4915112345678 is not valid")
        == "The 'To' number +49151*****678 is not valid"
    )
    assert mask_numbers("ruf 0151 1234 5678 an") == "ruf 015112***678 an"
    sid = "CA3cb85ecd6f4c4687afd8f0b1d97d569e"
    assert mask_numbers(f"call {sid} step 12, 2026-11-24") == f"call {sid} step 12, 2026-11-24"
    record = logging.LogRecord(
        "callbacks.dialer",
        logging.WARNING,
        __file__,
        1,
        "Twilio refused %s: %s",
        ("7", "To +4915112345678"),
        None,
    )
    assert (
        MaskPersonalData().filter(record)
        and CALLER not in record.getMessage()
        and "+49151" in record.getMessage()
    )
