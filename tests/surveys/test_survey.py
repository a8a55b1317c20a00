"""The in-call survey: invited before the agent, two questions after the agent hangs up.

Callers drive the real webhooks, signed as Twilio signs them; only Twilio's REST API is faked.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

import pytest
from flask import Flask

from ivr.flows.definition import parse_flow
from ivr.flows.store import SHIPPED_FLOWS, publish_flow
from ivr.flows.yamlsource import FlowError
from ivr.history import customer_history
from ivr.simulator import Phone, Turn
from tests.conftest import OPEN_HOURS
from tests.desk.conftest import CALLER, agent_leg, url_path

HOTLINE = (SHIPPED_FLOWS / "hotline.yaml").read_text(encoding="utf-8")
INVITE = "Nach dem Gespräch haben wir zwei kurze Fragen"
CSAT = "Wie zufrieden waren Sie mit unserem Service?"
RESOLVED = "Wurde Ihr Anliegen heute gelöst?"
THANKS = "Vielen Dank für Ihre Antworten. Auf Wiederhören."


def with_survey(**settings: Any) -> str:
    """The shipped flow with its survey switched on: everyone invited unless ``settings`` say."""
    settings = {"enabled": "true", "sample_every": 1, "daily_cap": 200, "cooldown_days": 30, **settings}
    start = HOTLINE.index("  survey:\n")
    end = HOTLINE.index("\n\n", start)
    options = "".join(f"    {key}: {value}\n" for key, value in settings.items())
    node = f"  survey:\n    type: survey\n    next: agent_route\n{options}"
    return HOTLINE[:start] + node.rstrip("\n") + HOTLINE[end:]


@pytest.fixture
def survey_flow(session):
    """Publish the hotline with a survey configured by the test."""

    def publish(**settings: Any) -> None:
        publish_flow(session, with_survey(**settings), "hotline.yaml")
        session.commit()

    return publish


def survey_events(session, number: str = CALLER) -> list[dict[str, Any]]:
    """The survey events of a caller's newest call."""
    session.rollback()
    newest = customer_history(session, number)[0]
    return [{"kind": e["kind"], **e["data"]} for e in newest["events"] if e["kind"].startswith("survey_")]


def talk_to_agent(caller: Phone, fake, twilio_post) -> Turn:
    """The waiting caller is connected to the ringing agent; then the agent hangs up."""
    [placed] = fake.calls[-1:]
    agent_leg(twilio_post, placed)
    [(moved, form)] = fake.updates[-1:]
    assert moved == caller.call_sid
    joined = twilio_post(url_path(form["Url"]), CallSid=caller.call_sid, From=caller.from_number)
    caller.turn = Turn.parse(joined.get_data(as_text=True))
    assert caller.turn.verb == "Dial"
    agent_leg(twilio_post, placed, "completed")
    return caller.dial_result("completed")  # the conference ended: the caller's leg goes on


def test_a_caller_who_agrees_answers_after_the_agent_hangs_up_and_the_agent_is_credited(
    survey_flow, phone, fake, available_agent, twilio_post, session
):
    survey_flow()
    agent = available_agent()
    caller = phone(CALLER)
    caller.dial()
    caller.press("0")
    assert caller.heard.startswith(INVITE)
    assert caller.turn.verb == "Gather"
    turn = caller.press("1")
    assert "Bleiben Sie nach dem Gespräch einfach am Apparat." in caller.heard
    assert turn.verb == "Enqueue"

    after = talk_to_agent(caller, fake, twilio_post)
    assert caller.heard.startswith(CSAT)
    assert after.verb == "Gather" and after.attrs["numDigits"] == "1"
    caller.press("4")
    assert caller.heard == RESOLVED + " Drücken Sie die 1 oder sagen Sie ja, sonst die 2."
    end = caller.say("ja, hat geklappt")
    assert caller.heard == THANKS and end.verb == "Hangup"

    me = agent["id"]
    assert survey_events(session) == [
        {"kind": "survey_invited", "node": "survey", "scale": "csat"},
        {"kind": "survey_consent", "node": "survey", "accepted": True},
        {"kind": "survey_answer", "node": "survey", "question": "csat", "value": 4, "agent_id": me},
        {"kind": "survey_answer", "node": "survey", "question": "resolved", "value": 1, "agent_id": me},
    ]


def test_a_caller_who_declines_is_connected_hears_no_questions_and_is_not_asked_again(
    app: Flask, survey_flow, phone, fake, available_agent, twilio_post, session
):
    survey_flow(cooldown_days=30)
    available_agent()
    caller = phone(CALLER)
    caller.dial()
    caller.press("0")
    turn = caller.say("nein danke")
    assert caller.heard.startswith("In Ordnung. Einen Moment bitte")
    assert turn.verb == "Enqueue"
    end = talk_to_agent(caller, fake, twilio_post)
    assert end.verb == "Hangup" and caller.heard == ""
    assert survey_events(session) == [
        {"kind": "survey_invited", "node": "survey", "scale": "csat"},
        {"kind": "survey_consent", "node": "survey", "accepted": False},
    ]

    app.config["CLOCK"] = lambda: OPEN_HOURS + timedelta(days=7)
    again = phone(CALLER)
    again.dial()
    turn = again.press("0")
    assert INVITE not in again.heard and turn.verb == "Enqueue"
    assert survey_events(session) == [{"kind": "survey_skipped", "node": "survey", "reason": "recent"}]

    app.config["CLOCK"] = lambda: OPEN_HOURS + timedelta(days=35)  # the cool-down is over
    later = phone(CALLER)
    later.dial()
    later.press("0")
    assert later.heard.startswith(INVITE)


def test_one_in_n_callers_is_invited_up_to_the_daily_cap(app: Flask, survey_flow, phone, fake, session):
    survey_flow(sample_every=2, daily_cap=2)
    invited = []
    for i in range(6):
        caller = phone(f"+491510000000{i}")
        caller.dial()
        caller.press("0")
        invited.append(caller.heard.startswith(INVITE))
        if invited[-1]:
            caller.press("2")
    assert invited == [True, False, True, False, False, False]
    assert survey_events(session, "+4915100000004") == [
        {"kind": "survey_skipped", "node": "survey", "reason": "cap"}
    ]
    app.config["CLOCK"] = lambda: OPEN_HOURS + timedelta(days=1)  # a new day in Berlin
    caller = phone("+4915100000009")
    caller.dial()
    caller.press("0")
    assert caller.heard.startswith(INVITE)


def test_callers_without_caller_id_are_not_invited(survey_flow, phone, fake, session):
    survey_flow()
    caller = phone("anonymous")
    caller.dial()
    turn = caller.press("0")
    assert turn.verb == "Enqueue" and INVITE not in caller.heard


def test_nps_by_voice_and_by_keypad_with_hash(
    survey_flow, phone, fake, available_agent, twilio_post, session
):
    survey_flow(scale="nps")
    agent = available_agent()
    caller = phone(CALLER)
    caller.dial()
    caller.press("0")
    caller.press("1")
    turn = talk_to_agent(caller, fake, twilio_post)
    assert caller.heard.startswith("Wie wahrscheinlich ist es, dass Sie uns weiterempfehlen?")
    assert turn.attrs["numDigits"] == "2" and turn.attrs["finishOnKey"] == "#"
    caller.say("zehn")
    caller.press("2")
    assert caller.heard == THANKS
    answers = [(e["question"], e["value"], e["agent_id"]) for e in survey_events(session)[2:]]
    assert answers == [("nps", 10, agent["id"]), ("resolved", 0, agent["id"])]

    other = phone("+4915199990000")
    other.dial()
    other.press("0")
    other.press("1")
    available_agent("ben@shop.example", name="Ben", phone="+4930999999")
    talk_to_agent(other, fake, twilio_post)
    other.press("7#")
    assert other.heard.startswith(RESOLVED)
    assert survey_events(session, "+4915199990000")[2]["value"] == 7


def test_a_wrong_score_is_asked_again_then_the_caller_is_thanked(
    survey_flow, phone, fake, available_agent, twilio_post, session
):
    survey_flow(retries=1)
    available_agent()
    caller = phone(CALLER)
    caller.dial()
    caller.press("0")
    caller.press("1")
    talk_to_agent(caller, fake, twilio_post)
    caller.press("9")
    assert caller.heard.startswith("Das habe ich leider nicht verstanden. " + CSAT)
    end = caller.silence()
    assert caller.heard == THANKS and end.verb == "Hangup"
    assert [e["kind"] for e in survey_events(session)] == ["survey_invited", "survey_consent"]


def test_english_callers_hear_the_survey_in_english(survey_flow, phone, fake, session):
    survey_flow()
    caller = phone(CALLER)
    caller.dial()
    caller.press("9")
    caller.press("0")
    assert "After your conversation we have two short questions" in caller.heard_in("en-US")


def test_a_repeated_end_of_conversation_webhook_changes_nothing(
    survey_flow, phone, fake, available_agent, twilio_post, session
):
    survey_flow()
    available_agent()
    caller = phone(CALLER)
    caller.dial()
    caller.press("0")
    caller.press("1")
    done_action = None
    [placed] = fake.calls
    agent_leg(twilio_post, placed)
    [(_sid, form)] = fake.updates
    joined = twilio_post(url_path(form["Url"]), CallSid=caller.call_sid, From=CALLER)
    done_action = Turn.parse(joined.get_data(as_text=True)).action
    assert done_action is not None and urlparse(done_action).path == "/desk/twilio/caller/done"
    # Twilio reports the move out of <Enqueue> after the caller joined: the flow keeps waiting.
    caller.queue_result("redirected")
    first = twilio_post(url_path(done_action), CallSid=caller.call_sid, DialCallStatus="completed")
    second = twilio_post(url_path(done_action), CallSid=caller.call_sid, DialCallStatus="completed")
    assert CSAT in first.get_data(as_text=True)
    assert first.get_data(as_text=True) == second.get_data(as_text=True)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"scale": "stars"}, "'csat' or 'nps'"),
        ({"sample_every": 0}, "greater than or equal to 1"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
    ],
)
def test_a_bad_survey_definition_names_the_line(settings: dict[str, Any], message: str):
    text = with_survey(**settings)
    with pytest.raises(FlowError) as exc:
        parse_flow(text, "hotline.yaml")
    rows = text.splitlines()
    start = rows.index("  survey:")
    field = next(iter(settings))
    line = next(n + 1 for n in range(start, len(rows)) if rows[n].startswith(f"    {field}:"))
    [report] = exc.value.lines()
    assert report.startswith(f"hotline.yaml:{line}:")
    assert message in report


def test_the_shipped_survey_is_off_and_asks_nobody(phone, fake, session):
    caller = phone(CALLER)
    caller.dial()
    turn = caller.press("0")
    assert turn.verb == "Enqueue" and INVITE not in caller.heard
    assert survey_events(session) == []


def test_a_survey_without_a_route_after_it_is_rejected():
    text = with_survey().replace("    next: agent_route\n", "    next: goodbye\n", 1)
    with pytest.raises(FlowError, match="no route node follows this survey"):
        parse_flow(text, "hotline.yaml")


def test_the_answer_is_credited_to_the_agent_who_talked_not_the_one_who_let_it_ring(
    survey_flow, phone, fake, available_agent, twilio_post, session
):
    survey_flow()
    available_agent("anna@shop.example")
    ben = available_agent("ben@shop.example", name="Ben", phone="+4930999999")
    caller = phone(CALLER)
    caller.dial()
    caller.press("0")
    caller.press("1")
    [ringing] = fake.calls
    agent_leg(twilio_post, ringing, "no-answer")  # Anna lets it ring: Ben is offered the caller
    talk_to_agent(caller, fake, twilio_post)
    caller.press("5")
    caller.press("1")
    answers = [(e["question"], e["value"], e["agent_id"]) for e in survey_events(session)[2:]]
    assert answers == [("csat", 5, ben["id"]), ("resolved", 1, ben["id"])]
