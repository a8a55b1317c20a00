"""Spike alarms on hand-built event streams: fire on a spike, stay quiet on normal swings,
store and send once per window, to a local webhook and a local SMTP server."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from scipy.stats import nbinom
from sqlalchemy import select

from ivr.apikeys import create_api_key
from ivr.cli import main
from ivr.db import session_factory
from ivr.flows.steps import Event
from ivr.history import log_events
from ivr.insights.alarms import TOTAL, DetectorSettings, detect, nb_tail
from ivr.insights.alarms_run import run_alarms
from ivr.insights.alarms_store import Alarm, Windows, window_counts
from ivr.models import Interaction

#: Tuesday 24 November 2026, 10:07 in Berlin: the window under test is 08:00–09:00 UTC.
NOW = datetime(2026, 11, 24, 9, 7, tzinfo=UTC)
WINDOW = (datetime(2026, 11, 24, 8, 0, tzinfo=UTC), datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
SECRET = "alarm-hook-secret"


# --- the detector alone ---------------------------------------------------------------


def counts(total: int, **subjects: int) -> dict[str, int]:
    return {TOTAL: total, **subjects}


def test_the_tail_is_the_negative_binomials_with_the_stated_variance():
    # mean 20, extra 0.1, median of 4 windows: variance (1 + π/8) · (20 + 0.1 · 400) = 83.56
    size = 400 / (83.5619 - 20)
    assert nb_tail(30, 20.0, 0.1, 4) == pytest.approx(nbinom.sf(29, size, size / (size + 20)), rel=1e-4)
    assert nb_tail(0, 5.0, 0.1, 4) == 1.0


def test_a_complaint_spike_fires_even_after_a_past_spike_in_the_baseline():
    weekly = [counts(100, complaint=c) for c in (3, 4, 30, 2)]  # one odd week: the median ignores it
    daily = [counts(100, complaint=c) for c in (4, 3, 2, 5, 3, 4)]
    [found] = detect(counts(110, complaint=22), weekly, daily, DetectorSettings())
    assert (found.subject, found.kind, found.observed, found.expected) == ("complaint", "count", 22, 3.5)
    assert found.score > 3


def test_normal_weekly_swings_stay_quiet():
    # Monday mornings are busy: against the last Mondays 46 calls are normal, although the
    # weekend days of the recent-days baseline saw far fewer.
    weekly = [counts(400, delivery_issue=c) for c in (40, 44, 38, 41)]
    daily = [counts(300, delivery_issue=c) for c in (30, 35, 8, 6, 33, 31)]
    assert detect(counts(420, delivery_issue=46), weekly, daily, DetectorSettings()) == []


def test_few_calls_never_fire_and_a_rising_share_does():
    quiet = [counts(50, complaint=0)] * 4
    assert detect(counts(50, complaint=4), quiet, quiet, DetectorSettings()) == []
    # Volume is low today (a holiday) but complaints are a third of the calls instead of 5 %.
    weekly = [counts(200, complaint=c) for c in (10, 9, 11, 10)]
    daily = [counts(200, complaint=c) for c in (10, 10, 9, 11, 12, 10)]
    [found] = detect(counts(30, complaint=10), weekly, daily, DetectorSettings())
    assert found.kind == "share" and found.observed == pytest.approx(1 / 3)
    assert found.expected == pytest.approx(0.05, abs=0.01)


# --- on the database: hand-built calls ------------------------------------------------


class Calls:
    """Builds finished inbound calls with their events, as the service records them."""

    def __init__(self, session) -> None:
        self.session = session
        self.n = 0

    def add(self, at: datetime, intent: str | None = None, outcome: str = "completed", events=()) -> None:
        self.n += 1
        call = Interaction(
            channel="voice",
            direction="inbound",
            call_sid=f"CA{self.n:032d}",
            started_at=at,
            ended_at=at + timedelta(minutes=3),
            status="completed",
            intent=intent,
            outcome=outcome,
        )
        self.session.add(call)
        self.session.flush()
        log_events(self.session, call, [Event(kind, data) for kind, data in events], at=at)

    def usual_hour(self, start: datetime, complaints: int = 3, others: int = 20) -> None:
        """A normal hour: some complaints, order questions, one abandoned, one lost in the IVR."""
        for i in range(complaints):
            self.add(start + timedelta(minutes=5 + i), "complaint")
        for i in range(others):
            self.add(start + timedelta(minutes=2 + i), "order_status", "self_service")
        self.add(start + timedelta(minutes=30), "agent", "abandoned", [("queued", {}), left_queue()])
        lost = [("route", {"reason": "retries exhausted"})]
        self.add(start + timedelta(minutes=40), None, "completed", lost)


def left_queue() -> tuple[str, dict[str, Any]]:
    return ("left_queue", {"reason": "hangup", "waited": 90})


def baseline(calls: Calls, **usual: int) -> None:
    """Four weeks and six days of usual hours at the window's time."""
    for back in [timedelta(weeks=w) for w in range(1, 5)] + [timedelta(days=d) for d in range(1, 7)]:
        calls.usual_hour(WINDOW[0] - back, **usual)


@pytest.fixture
def calls(app: Flask) -> Iterator[Calls]:
    with session_factory(app)() as session:
        yield Calls(session)
        session.commit()


class Hook(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []
    status = 200

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[type[Hook]]:
    """A chat channel's incoming webhook on localhost."""
    handler = type("RecordingHook", (Hook,), {"received": [], "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}/hook"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()
    server.server_close()


class Mailbox:
    """A minimal SMTP server (RFC 5321 without extensions) that keeps what it is sent."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.messages: list[str] = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            with conn, conn.makefile("rb") as reader:
                conn.sendall(b"220 localhost ready\r\n")
                while line := reader.readline():
                    verb = line.decode().strip().upper()
                    if verb.startswith("DATA"):
                        conn.sendall(b"354 go ahead\r\n")
                        body = []
                        while (row := reader.readline()) not in (b".\r\n", b""):
                            body.append(row.decode())
                        self.messages.append("".join(body))
                        conn.sendall(b"250 queued\r\n")
                    elif verb.startswith("QUIT"):
                        conn.sendall(b"221 bye\r\n")
                        break
                    else:
                        conn.sendall(b"250 ok\r\n")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    yield box
    box.close()


@pytest.fixture
def notifying(app: Flask, webhook, mailbox) -> Flask:
    app.config.update(
        ALARMS_WEBHOOK_URL=webhook.url,
        ALARMS_WEBHOOK_SECRET=SECRET,
        ALARMS_EMAIL_TO="lead@shop.example",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=mailbox.port,
        SMTP_SECURITY="none",
        SMTP_FROM="hotline@shop.example",
    )
    return app


def stored_alarms(app: Flask) -> list[Alarm]:
    with session_factory(app)() as session:
        return list(session.scalars(select(Alarm).order_by(Alarm.id)))


def test_window_counts_follow_the_definitions(app: Flask, calls: Calls):
    calls.usual_hour(WINDOW[0])
    calls.add(WINDOW[0] - timedelta(minutes=1), "complaint")  # before the window
    calls.session.commit()
    found = window_counts(calls.session, *WINDOW)
    assert found == {
        TOTAL: 25,
        "complaint": 3,
        "order_status": 20,
        "agent": 1,
        "abandoned": 1,
        "failed_self_service": 1,
    }


def test_a_complaint_spike_is_stored_and_sent_once_to_the_webhook_and_by_mail(
    notifying: Flask, calls: Calls, webhook, mailbox
):
    baseline(calls)
    calls.usual_hour(WINDOW[0], complaints=18)
    calls.session.commit()

    result = run_alarms(session_factory(notifying), notifying.config, NOW)
    assert (result.window_start, result.window_end) == WINDOW
    [alarm] = stored_alarms(notifying)
    assert (alarm.subject, alarm.kind, alarm.observed, alarm.expected) == ("complaint", "count", 18, 3)
    assert alarm.sent_at is not None and sorted(alarm.delivered) == ["email", "webhook"]
    assert result.sent == 1

    [(headers, body)] = webhook.received
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Hotline-Signature"] == f"sha256={expected}"
    sent = json.loads(body)
    assert sent["alarm"]["subject"] == "complaint" and sent["alarm"]["observed"] == 18
    assert sent["text"].startswith("Hotline alarm: 18 calls about 'complaint'")
    [mail] = mailbox.messages
    assert "Subject: Hotline alarm: 18 calls about 'complaint'" in mail
    assert "To: lead@shop.example" in mail

    # The same window again, and the next overlapping window: nothing new, nothing re-sent.
    run_alarms(session_factory(notifying), notifying.config, NOW + timedelta(minutes=3))
    run_alarms(session_factory(notifying), notifying.config, NOW + timedelta(minutes=15))
    assert len(stored_alarms(notifying)) == 1
    assert len(webhook.received) == 1 and len(mailbox.messages) == 1


def test_a_usual_hour_raises_nothing(notifying: Flask, calls: Calls, webhook, mailbox):
    baseline(calls)
    calls.usual_hour(WINDOW[0], complaints=5, others=24)
    calls.session.commit()
    assert run_alarms(session_factory(notifying), notifying.config, NOW).new_alarms == []
    assert webhook.received == [] and mailbox.messages == []


def test_abandoned_and_failed_self_service_spikes(app: Flask, calls: Calls):
    baseline(calls)
    calls.usual_hour(WINDOW[0])
    for i in range(12):
        calls.add(WINDOW[0] + timedelta(minutes=i), "agent", "abandoned", [("queued", {}), left_queue()])
        calls.add(WINDOW[0] + timedelta(minutes=i), None, "abandoned", [("no_match", {}), ("no_input", {})])
    calls.session.commit()
    run_alarms(session_factory(app), app.config, NOW)
    assert sorted(a.subject for a in stored_alarms(app)) == ["abandoned", "agent", "failed_self_service"]


def test_a_failed_delivery_is_retried_only_to_the_channel_that_failed(
    notifying: Flask, calls: Calls, webhook, mailbox
):
    baseline(calls)
    calls.usual_hour(WINDOW[0], complaints=18)
    calls.session.commit()
    webhook.status = 500
    first = run_alarms(session_factory(notifying), notifying.config, NOW)
    [alarm] = stored_alarms(notifying)
    assert first.sent == 0 and alarm.sent_at is None and alarm.delivered == ["email"]
    assert alarm.send_error == "webhook: HTTPError"
    webhook.status = 200
    assert run_alarms(session_factory(notifying), notifying.config, NOW + timedelta(minutes=5)).sent == 1
    assert len(webhook.received) == 2 and len(mailbox.messages) == 1


def test_the_api_lists_recent_alarms_for_kpi_keys_only(app: Flask, calls: Calls, client, session):
    baseline(calls)
    calls.usual_hour(WINDOW[0], complaints=18)
    calls.session.commit()
    run_alarms(session_factory(app), app.config, NOW)
    kpis = create_api_key(session, "wallboard", ["kpis"])
    orders = create_api_key(session, "shop", ["orders"])
    session.commit()
    app.config["CLOCK"] = lambda: NOW

    assert client.get("/api/alarms").status_code == 401
    assert client.get("/api/alarms", headers={"X-API-Key": orders}).status_code == 403
    resp = client.get("/api/alarms", headers={"X-API-Key": kpis})
    [alarm] = resp.get_json()["alarms"]
    assert alarm["subject"] == "complaint" and alarm["window_end"] == WINDOW[1].isoformat()
    later = client.get("/api/alarms?since=2026-11-24T11:00:00%2B01:00", headers={"X-API-Key": kpis})
    assert later.get_json()["alarms"] == []
    bad = client.get("/api/alarms?since=yesterday", headers={"X-API-Key": kpis})
    assert bad.status_code == 400 and "ISO time" in bad.get_json()["error"]


def test_the_cli_runs_one_pass_and_lists(app: Flask, calls: Calls, runner):
    baseline(calls)
    calls.usual_hour(WINDOW[0], complaints=18)
    calls.session.commit()
    app.config["CLOCK"] = lambda: NOW
    result = runner.invoke(main, ["alarms", "run", "--once"])
    assert result.exit_code == 0, result.output
    assert "1 new alarms, 0 sent" in result.output
    listed = runner.invoke(main, ["alarms", "list"])
    assert "Hotline alarm: 18 calls about 'complaint'" in listed.output


def test_a_bad_setting_stops_the_worker_with_its_name(app: Flask, runner, monkeypatch):
    monkeypatch.setenv("IVR_ALARMS_ALPHA", "often")
    result = runner.invoke(main, ["alarms", "run", "--once"])
    assert result.exit_code != 0 and "IVR_ALARMS_ALPHA must be a number" in result.output


def test_windows_end_on_steps():
    assert Windows().current(NOW) == WINDOW
    start, end = Windows(step=timedelta(minutes=15)).current(NOW + timedelta(minutes=10))
    assert end == datetime(2026, 11, 24, 9, 15, tzinfo=UTC) and end - start == timedelta(hours=1)


def test_a_new_hotline_without_history_raises_nothing(app: Flask, calls: Calls):
    calls.add(WINDOW[0] - timedelta(days=2), "order_status")  # the first call ever
    calls.usual_hour(WINDOW[0], complaints=18)
    calls.session.commit()
    assert run_alarms(session_factory(app), app.config, NOW).new_alarms == []


def test_two_workers_at_once_store_and_send_each_alarm_once(notifying: Flask, calls: Calls, webhook, mailbox):
    baseline(calls)
    calls.usual_hour(WINDOW[0], complaints=18)
    calls.session.commit()
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            run_alarms(session_factory(notifying), notifying.config, NOW)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert [a.subject for a in stored_alarms(notifying)] == ["complaint"]
    assert len(webhook.received) == 1 and len(mailbox.messages) == 1
