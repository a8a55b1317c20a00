"""The dialer and Twilio's callbacks through the app: retries, backoff, bad answers, the customer history.

Only Twilio's REST API is faked (``FakeTwilio`` behind twilio's ``HttpClient`` seam); its webhooks are
posted to the real app, signed as Twilio signs them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from callbacks.dialer import CredentialsRejected, Dialer
from callbacks.settings import Settings
from callbacks.telephony import make_client
from ivr.cli import main
from ivr.db import session_factory
from tests.callbacks.fakes import ACCOUNT_SID, FakeTwilio, PlacedCall
from tests.conftest import AUTH_TOKEN, OPEN_HOURS, twiml

BERLIN = ZoneInfo("Europe/Berlin")
CUSTOMER = "+4915112345678"
AGENT = "+4930111100001"
CALLER_ID = "+4930123456789"
Post = Callable[..., Any]


def cli(runner: FlaskCliRunner, *args: str) -> Any:
    result = runner.invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.output) if "--json" in args else result.output


def queue(runner: FlaskCliRunner, *statuses: str) -> list[dict[str, Any]]:
    """The queue as an agent lists it (open requests unless states are given)."""
    return cli(runner, "callbacks", "list", "--json", *(a for s in statuses for a in ("--status", s)))


def one(runner: FlaskCliRunner) -> dict[str, Any]:
    """The single request, whatever its state."""
    [request] = [
        r
        for r in queue(
            runner,
            "queued",
            "claimed",
            "dialing",
            "connected",
            "completed",
            "no_answer",
            "failed",
            "cancelled",
        )
    ]
    return request


@pytest.fixture
def clock(app: Flask) -> Callable[[datetime], None]:
    """Move the app's (and the dialer's) clock."""

    def move(at: datetime) -> None:
        app.config["CLOCK"] = lambda: at

    return move


@pytest.fixture
def fake() -> FakeTwilio:
    return FakeTwilio(AUTH_TOKEN)


@pytest.fixture
def sleeps() -> list[float]:
    """The pauses the dialer took between API retries (recorded instead of slept)."""
    return []


@pytest.fixture
def dialer(app: Flask, fake: FakeTwilio, sleeps: list[float]) -> Callable[..., Dialer]:
    """A worker on the app's database, talking to the fake Twilio, on the app's clock."""

    app.config["CALLBACK_CALLER_ID"] = CALLER_ID  # the webhooks and the worker share one config

    def make(token: str = AUTH_TOKEN, **overrides: Any) -> Dialer:
        config = {
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": token,
            "TWILIO_API_BASE_URL": "https://api.twilio-compatible.example",
        }
        settings = replace(
            Settings.from_config(app.config), caller_id=CALLER_ID, api_retry_delay=0.5, **overrides
        )
        return Dialer(
            session_factory(app),
            make_client(config, fake),
            settings,
            "http://localhost",
            CALLER_ID,
            name="test-worker",
            clock=lambda: app.config["CLOCK"](),
            sleep=sleeps.append,
        )

    return make


@pytest.fixture
def requested(runner: FlaskCliRunner) -> dict[str, Any]:
    """One agent, and one customer who asked for a callback as soon as possible (Tuesday 10:00)."""
    cli(runner, "agents", "add", "anna", AGENT)
    assert "created" in cli(runner, "callbacks", "request", CUSTOMER, "--reason", "delivery_issue")
    return one(runner)


def webhook(twilio_post: Post, url: str, call: PlacedCall, **params: str) -> Any:
    """Twilio calls one of the call's webhooks."""
    parsed = urlparse(url)
    return twiml(
        twilio_post(
            f"{parsed.path}?{parsed.query}",
            CallSid=call.sid,
            AccountSid=ACCOUNT_SID,
            From=CALLER_ID,
            To=call.to,
            Direction="outbound-api",
            **params,
        )
    )


def agent_answers(twilio_post: Post, call: PlacedCall) -> Any:
    """The agent picks up: Twilio fetches the call's TwiML."""
    return webhook(twilio_post, call.url, call, CallStatus="in-progress")


def customer_leg(twilio_post: Post, call: PlacedCall, result: str) -> Any:
    """The <Dial> to the customer ends with ``result``; the agent hangs up; Twilio reports both."""
    root = agent_answers(twilio_post, call)
    dial = root.find("Dial")
    assert dial is not None
    number = dial.find("Number")
    assert number is not None
    if result == "completed":
        webhook(twilio_post, number.get("statusCallback", ""), call, CallStatus="in-progress")
    answer = webhook(twilio_post, dial.get("action", ""), call, DialCallStatus=result)
    webhook(twilio_post, call.status_callback, call, CallStatus="completed", CallDuration="42")
    return answer


# --- a good callback


def test_agent_is_rung_first_briefed_and_then_bridged_to_the_customer(
    requested, dialer, fake, twilio_post, runner
) -> None:
    assert dialer().run(drain=True) == 1
    [call] = fake.calls
    assert (call.to, call.from_) == (AGENT, CALLER_ID)
    assert fake.hosts == ["api.twilio-compatible.example"]  # TWILIO_API_BASE_URL is honoured
    assert one(runner)["status"] == "dialing"
    assert cli(runner, "agents", "list", "--json")[0]["busy_with"] == requested["id"]

    root = agent_answers(twilio_post, call)
    brief = " ".join(el.text or "" for el in root.iter("Say"))
    assert brief.startswith(
        "Rückruf für null eins fünf eins eins — zwei drei — vier fünf — sechs sieben acht. "
        "Anliegen: delivery issue."
    )
    dial = root.find("Dial")
    assert dial is not None and dial.get("callerId") == CALLER_ID
    assert (dial.findtext("Number") or "").strip() == CUSTOMER

    customer_leg(twilio_post, call, "completed")
    done = one(runner)
    assert (done["status"], done["attempts"]) == ("completed", 1)
    assert cli(runner, "agents", "list", "--json")[0]["busy_with"] is None
    assert dialer().run(drain=True) == 0  # nothing is dialled again
    assert len(fake.calls) == 1


def test_every_attempt_is_in_the_customer_history(
    requested, dialer, fake, twilio_post, clock, runner
) -> None:
    dialer().run(drain=True)
    customer_leg(twilio_post, fake.calls[0], "no-answer")
    clock(OPEN_HOURS + timedelta(minutes=15))
    dialer().run(drain=True)
    customer_leg(twilio_post, fake.calls[1], "completed")

    attempts = [e for e in cli(runner, "history", CUSTOMER, "--json") if e["direction"] == "outbound"]
    assert len(attempts) == 2
    by_attempt = {
        next(ev["data"]["attempt"] for ev in e["events"] if ev["kind"] == "callback_dial"): e
        for e in attempts
    }
    assert set(by_attempt) == {1, 2}
    first, second = by_attempt[1], by_attempt[2]
    assert first["call_sid"] == fake.calls[0].sid and second["call_sid"] == fake.calls[1].sid
    assert first["outcome"] == "callback_missed" and second["outcome"] == "callback"
    kinds = [ev["kind"] for ev in second["events"]]
    assert kinds == [
        "callback_dial",
        "callback_agent_answered",
        "callback_connected",
        "callback_customer",
        "status",
    ]
    assert {"kind": "callback_customer", "result": "no-answer"} in [
        {"kind": ev["kind"], "result": ev["data"].get("result")} for ev in first["events"]
    ]


# --- retries within opening hours


def test_three_attempts_with_backoff_then_the_request_is_closed(
    requested, dialer, fake, twilio_post, clock, runner
) -> None:
    dialer().run(drain=True)
    answer = customer_leg(twilio_post, fake.calls[0], "no-answer")
    assert "Der Kunde war nicht erreichbar" in " ".join(el.text or "" for el in answer.iter("Say"))
    after_first = one(runner)
    assert (after_first["status"], after_first["attempts"]) == ("queued", 1)
    assert datetime.fromisoformat(after_first["next_attempt_at"]) == OPEN_HOURS + timedelta(minutes=15)

    clock(OPEN_HOURS + timedelta(minutes=14))
    assert dialer().run(drain=True) == 0  # not before the backoff is over
    clock(OPEN_HOURS + timedelta(minutes=15))
    assert dialer().run(drain=True) == 1
    customer_leg(twilio_post, fake.calls[1], "busy")
    after_second = one(runner)
    assert datetime.fromisoformat(after_second["next_attempt_at"]) == OPEN_HOURS + timedelta(minutes=75)

    clock(OPEN_HOURS + timedelta(minutes=75))
    assert dialer().run(drain=True) == 1
    customer_leg(twilio_post, fake.calls[2], "no-answer")
    final = one(runner)
    assert (final["status"], final["attempts"], final["outcome"]) == ("no_answer", 3, "no_answer")
    clock(OPEN_HOURS + timedelta(days=1))
    assert dialer().run(drain=True) == 0
    assert len(fake.calls) == 3


def test_a_retry_that_would_fall_after_closing_waits_for_the_next_working_day(
    app, runner, dialer, fake, twilio_post, clock, phone
) -> None:
    # Thursday 24 December 2026, 19:50 in Berlin: the 25th and 26th are public holidays, the 27th a Sunday.
    clock(datetime(2026, 12, 24, 19, 50, tzinfo=BERLIN))
    cli(runner, "agents", "add", "anna", AGENT)
    caller = phone(CUSTOMER)
    caller.dial()
    caller.press("3")  # the hotline's callback node promises the service hours
    caller.press("1")
    caller.press("1")
    dialer().run(drain=True)
    customer_leg(twilio_post, fake.calls[0], "no-answer")
    retry = datetime.fromisoformat(one(runner)["next_attempt_at"]).astimezone(BERLIN)
    assert retry == datetime(2026, 12, 28, 8, 0, tzinfo=BERLIN)


def test_an_agent_who_does_not_pick_up_costs_the_customer_no_attempt(
    requested, dialer, fake, twilio_post, clock, runner
) -> None:
    dialer().run(drain=True)
    call = fake.calls[0]
    webhook(twilio_post, call.status_callback, call, CallStatus="no-answer")
    request = one(runner)
    assert (request["status"], request["attempts"], request["outcome"]) == ("queued", 0, "agent_no-answer")
    assert cli(runner, "agents", "list", "--json")[0]["busy_with"] is None
    clock(OPEN_HOURS + timedelta(minutes=1))
    assert dialer().run(drain=True) == 1


# --- Twilio's REST API misbehaving


def test_rate_limit_and_server_errors_are_retried_with_backoff(
    requested, dialer, fake, sleeps, runner
) -> None:
    fake.failures = [429, 503]
    assert dialer().run(drain=True) == 1
    assert len(fake.calls) == 1
    assert sleeps == [0.5, 1.0]  # each pause twice the one before
    assert one(runner)["status"] == "dialing"


@pytest.mark.parametrize("failure", [500, 429, 0])
def test_when_twilio_keeps_failing_the_request_waits_and_is_not_lost(
    requested, dialer, fake, sleeps, clock, runner, failure: int
) -> None:
    fake.failures = [failure] * 4  # 0: the request times out
    assert dialer(api_retries=3).run(drain=True) == 0
    assert sleeps == [0.5, 1.0, 2.0, 4.0]
    request = one(runner)
    assert (request["status"], request["attempts"]) == ("queued", 0)
    assert datetime.fromisoformat(request["next_attempt_at"]) == OPEN_HOURS + timedelta(minutes=2)
    assert cli(runner, "agents", "list", "--json")[0]["busy_with"] is None
    [attempt] = [e for e in cli(runner, "history", CUSTOMER, "--json") if e["direction"] == "outbound"]
    assert "callback_dial_error" in [ev["kind"] for ev in attempt["events"]]

    clock(OPEN_HOURS + timedelta(minutes=2))
    assert dialer().run(drain=True) == 1
    assert len(fake.calls) == 1


def test_rejected_credentials_stop_the_worker_and_give_the_request_back(
    requested, dialer, fake, runner
) -> None:
    with pytest.raises(CredentialsRejected):
        dialer(token="wrong-token").run(drain=True)
    assert fake.calls == []
    request = one(runner)
    assert (request["status"], request["attempts"], request["claimed_by"]) == ("queued", 0, None)
    assert cli(runner, "agents", "list", "--json")[0]["busy_with"] is None


# --- status callbacks that are duplicated, stale or unknown


def test_duplicate_status_callbacks_change_nothing(requested, dialer, fake, twilio_post, runner) -> None:
    dialer().run(drain=True)
    call = fake.calls[0]
    customer_leg(twilio_post, call, "completed")
    before = one(runner)
    history = cli(runner, "history", CUSTOMER, "--json")
    # Twilio retries callbacks it thinks failed: the same ones arrive again.
    webhook(twilio_post, call.status_callback, call, CallStatus="completed", CallDuration="42")
    webhook(
        twilio_post,
        call.url.replace("/callbacks/agent?", "/callbacks/customer/status?"),
        call,
        CallStatus="in-progress",
    )
    assert one(runner) == before
    assert cli(runner, "history", CUSTOMER, "--json") == history
    assert dialer().run(drain=True) == 0
    assert len(fake.calls) == 1


def test_a_late_agent_status_after_a_retry_does_not_touch_the_new_attempt(
    requested, dialer, fake, twilio_post, clock, runner
) -> None:
    dialer().run(drain=True)
    first = fake.calls[0]
    customer_leg(twilio_post, first, "no-answer")
    clock(OPEN_HOURS + timedelta(minutes=15))
    dialer().run(drain=True)
    assert one(runner)["status"] == "dialing"
    webhook(twilio_post, first.status_callback, first, CallStatus="completed", CallDuration="42")
    webhook(twilio_post, first.status_callback, first, CallStatus="no-answer")
    request = one(runner)
    assert (request["status"], request["attempts"]) == ("dialing", 2)
    assert cli(runner, "agents", "list", "--json")[0]["busy_with"] == request["id"]
    root = agent_answers(twilio_post, first)  # the first attempt's TwiML asked for again
    assert "Dieser Rückruf ist nicht mehr offen." in " ".join(el.text or "" for el in root.iter("Say"))
    assert root.find("Dial") is None


@pytest.mark.parametrize("query", ["?r=999999&a=1", "", "?r=abc&a=", "?r=1&a=999"])
@pytest.mark.parametrize(
    "path",
    ["/callbacks/agent/status", "/callbacks/customer/status", "/callbacks/agent/dialed", "/callbacks/agent"],
)
def test_unknown_callbacks_get_a_clear_empty_answer(
    requested, twilio_post, runner, path: str, query: str
) -> None:
    resp = twilio_post(
        f"{path}{query}",
        CallSid="CA" + "f" * 32,
        AccountSid=ACCOUNT_SID,
        CallStatus="completed",
        DialCallStatus="completed",
    )
    root = twiml(resp)
    assert root.tag == "Response"
    assert root.find("Dial") is None
    assert one(runner) == requested


def test_unsigned_status_callbacks_are_refused(requested, twilio_post, runner) -> None:
    resp = twilio_post("/callbacks/agent/status?r=1&a=1", signature="forged", CallStatus="completed")
    assert resp.status_code == 403
    assert one(runner) == requested


def test_a_cancelled_request_is_not_dialled(requested, dialer, fake, runner) -> None:
    cli(runner, "callbacks", "cancel", str(requested["id"]))
    assert dialer().run(drain=True) == 0
    assert fake.calls == []
    assert one(runner)["status"] == "cancelled"


def test_a_request_from_the_queue_offer_is_retried_only_within_opening_hours(
    runner, dialer, fake, twilio_post, clock, phone
) -> None:
    # Tuesday 19:50 in Berlin: the hotline closes at 20:00.
    clock(datetime(2026, 11, 24, 19, 50, tzinfo=BERLIN))
    cli(runner, "agents", "add", "anna", AGENT)
    caller = phone(CUSTOMER)
    caller.dial()
    caller.press("0")
    assert caller.turn is not None and caller.turn.verb == "Enqueue"
    wait = twiml(
        twilio_post(
            caller.turn.attrs["waitUrl"],
            CallSid=caller.call_sid,
            From=CUSTOMER,
            To=caller.to_number,
            QueuePosition="4",
            QueueTime="300",
            AvgQueueTime="600",
        )
    )
    gather = wait.find("Gather")
    assert gather is not None
    offer = urlparse(gather.get("action", ""))
    twiml(twilio_post(f"{offer.path}?{offer.query}", CallSid=caller.call_sid, From=CUSTOMER, Digits="1"))
    dialer().run(drain=True)
    customer_leg(twilio_post, fake.calls[0], "no-answer")
    retry = datetime.fromisoformat(one(runner)["next_attempt_at"]).astimezone(BERLIN)
    assert retry == datetime(2026, 11, 25, 8, 0, tzinfo=BERLIN)  # not 20:05, after closing
