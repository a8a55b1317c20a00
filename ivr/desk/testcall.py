"""Test calls from the console: the simulator's phone through the real webhooks, in-process.

The call's state lives where a real call's does (the ``calls`` row, keyed by a random CallSid);
what the tester did and heard is logged on the test interaction, so any worker can show it.
Test calls are marked: caller ID ``client:flow-test``, channel ``test``, and ``test: true`` on
their ``call_started`` event; they create no customer and stay out of the KPIs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.db import session_factory, transaction
from ivr.flows.steps import Event
from ivr.history import log_events
from ivr.models import Call, Interaction, InteractionEvent
from ivr.simulator import InProcess, Phone, SimulatorError, Turn

TEST_CALLER = "client:flow-test"
TEST_NUMBER = "client:console"
#: What the tester can do, per verb the call waits on.
DIAL_RESULTS = ("completed", "no-answer", "busy")
QUEUE_RESULTS = ("bridged", "hangup", "queue-full")
MAX_SPEECH = 300


class TestCallError(Exception):
    """The test call cannot go on (unknown, ended, or the input does not fit)."""


@dataclass(frozen=True)
class TestTurn:
    """What the tester did and what they heard in answer."""

    did: str
    heard: list[str]


@dataclass(frozen=True)
class TestCall:
    """A test call as the console shows it."""

    call_sid: str
    flow: str
    turns: list[TestTurn]
    verb: str | None
    target: str | None
    finished: bool


def _phone(app: Flask, call_sid: str, flow: str | None = None) -> Phone:
    transport = InProcess(app, app.config.get("PUBLIC_URL") or "http://localhost")
    voice_url = "/twilio/voice" + (f"?test_flow={quote(flow, safe='')}" if flow else "")
    return Phone(transport, TEST_CALLER, TEST_NUMBER, call_sid, voice_url=voice_url)


def _record(app: Flask, call_sid: str, did: str, heard: list[str]) -> None:
    with session_factory(app)() as session, transaction(session):
        interaction = session.scalar(select(Interaction).where(Interaction.call_sid == call_sid))
        if interaction is not None:
            log_events(session, interaction, [Event("test_turn", {"did": did, "heard": heard})])


def _run(app: Flask, phone: Phone, action: Any) -> list[str]:
    # A fresh app context: the webhooks open and commit their own unit of work, apart from ours.
    with app.app_context():
        try:
            action()
        except SimulatorError as exc:
            raise TestCallError(str(exc)) from None
    return list(phone.transcript)


def start_test_call(app: Flask, flow: str, call_sid: str) -> None:
    """Dial the live version of ``flow`` as the test caller."""
    phone = _phone(app, call_sid, flow)
    heard = _run(app, phone, phone.dial)
    _record(app, call_sid, "dial", heard)


def act_in_test_call(app: Flask, call_sid: str, action: str, value: str = "") -> None:
    """Press keys, speak, stay silent, or end a dial/queue wait (``action`` says which)."""
    with session_factory(app)() as session:
        call = session.scalar(select(Call).where(Call.call_sid == call_sid))
        if call is None or not call.last_response:
            raise TestCallError("no such test call")
        turn = Turn.parse(call.last_response)
    phone = _phone(app, call_sid)
    phone.turn = turn
    actions: dict[str, tuple[str | None, Any, str]] = {
        "press": ("Gather", lambda: phone.press(value), value),
        "say": ("Gather", lambda: phone.say(value[:MAX_SPEECH]), f'"{value[:MAX_SPEECH]}"'),
        "silence": ("Gather", phone.silence, "…"),
        "dial": ("Dial", lambda: phone.dial_result(value), value),
        "queue": ("Enqueue", lambda: phone.queue_result(value), value),
    }
    if action not in actions:
        raise TestCallError("unknown action")
    verb, run, did = actions[action]
    valid = {"press": value.strip("0123456789*#") == "" and 0 < len(value) <= 20, "say": bool(value.strip())}
    if turn.verb != verb or not valid.get(action, True):
        raise TestCallError("the call does not wait for that")
    if action == "dial" and value not in DIAL_RESULTS or action == "queue" and value not in QUEUE_RESULTS:
        raise TestCallError("unknown result")
    heard = _run(app, phone, run)
    _record(app, call_sid, did, heard)


def hang_up_test_call(app: Flask, call_sid: str) -> None:
    """End the test call: Twilio's status callback, as when a caller hangs up."""
    phone = _phone(app, call_sid)
    with app.app_context():
        phone.hang_up()


def test_call(session: Session, call_sid: str) -> TestCall | None:
    """The test call with this CallSid (None unless it is one)."""
    interaction = session.scalar(
        select(Interaction).where(Interaction.call_sid == call_sid, Interaction.channel == "test")
    )
    call = session.scalar(select(Call).where(Call.call_sid == call_sid))
    if interaction is None or call is None:
        return None
    events = session.scalars(
        select(InteractionEvent)
        .where(InteractionEvent.interaction_id == interaction.id)
        .order_by(InteractionEvent.seq)
    ).all()
    flow = next((str(e.data.get("flow")) for e in events if e.kind == "call_started"), "")
    turns = [TestTurn(str(e.data["did"]), list(e.data["heard"])) for e in events if e.kind == "test_turn"]
    turn = Turn.parse(call.last_response)
    ended = call.finished or interaction.ended_at is not None or turn.verb in (None, "Hangup")
    return TestCall(call_sid, flow, turns, None if ended else turn.verb, turn.target, ended)
