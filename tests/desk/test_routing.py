"""Routed calls reach an agent: a caller presses 0, the free agent's device rings, they talk.

Only Twilio's REST API is faked (behind twilio's ``HttpClient`` seam); every webhook Twilio
would send is sent signed, as Twilio sends it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlparse

import pytest
from sqlalchemy import select

from ivr.desk import routing
from ivr.desk.models import AgentActivity, Task, User
from ivr.history import customer_history
from tests.conftest import OPEN_HOURS, twiml
from tests.desk.conftest import CALLER, activity, agent_leg, url_path


def test_caller_pressing_0_rings_the_free_agent_and_they_talk(
    phone, fake, available_agent, twilio_post, session
):
    agent = available_agent()
    caller = phone(CALLER)
    caller.dial()
    turn = caller.press("0")
    assert turn.verb == "Enqueue"
    [placed] = fake.calls
    assert placed.to == "+4930123456"
    assert urlparse(placed.url).path == "/desk/twilio/agent"
    assert activity(session, agent["email"]) == "offered"

    answered = twiml(agent_leg(twilio_post, placed))
    assert answered.find("Say").text == "Anruf aus der Warteschlange service."
    room = answered.find("Dial/Conference")
    assert room.text.startswith("task-") and room.get("endConferenceOnExit") == "true"
    [(moved, form)] = fake.updates
    assert moved == caller.call_sid
    assert urlparse(form["Url"]).path == "/desk/twilio/caller"
    assert activity(session, agent["email"]) == "busy"

    joined = twiml(twilio_post(url_path(form["Url"]), CallSid=caller.call_sid, From=CALLER))
    conference = joined.find("Dial/Conference")
    assert conference is not None and conference.text == room.text
    # The agent hangs up: the conference ends, the caller's flow hears the result and ends.
    end = twilio_post(
        url_path(joined.find("Dial").get("action")), CallSid=caller.call_sid, DialCallStatus="completed"
    )
    assert twiml(end).find("Hangup") is not None
    agent_leg(twilio_post, placed, "completed")
    assert activity(session, agent["email"]) == "wrapup"

    [entry] = customer_history(session, CALLER)
    kinds = [e["kind"] for e in entry["events"]]
    assert (
        kinds.index("queued")
        < kinds.index("offered")
        < kinds.index("connected")
        < kinds.index("agent_call_ended")
    )
    offered = next(e for e in entry["events"] if e["kind"] == "offered")
    assert offered["data"]["agent"] == "Anna"


def test_an_agent_who_lets_it_ring_goes_on_break_and_the_next_one_is_offered(
    phone, fake, available_agent, twilio_post, session
):
    first = available_agent("anna@shop.example")
    second = available_agent("ben@shop.example", name="Ben", phone="+4930999999")
    caller = phone(CALLER)
    caller.dial()
    caller.press("0")
    [ringing] = fake.calls
    assert ringing.to == "+4930123456"  # Anna has been idle longest
    agent_leg(twilio_post, ringing, "no-answer")
    assert activity(session, first["email"]) == "break"
    assert [c.to for c in fake.calls] == ["+4930123456", "+4930999999"]
    assert activity(session, second["email"]) == "offered"
    task = session.scalar(select(Task))
    assert task.status == "offered" and task.offers == 2


def test_a_caller_who_hangs_up_while_the_agent_rings_frees_the_agent(phone, fake, available_agent, session):
    agent = available_agent()
    caller = phone(CALLER)
    caller.dial()
    caller.press("0")
    [ringing] = fake.calls
    caller.queue_result("hangup")
    assert activity(session, agent["email"]) == "available"
    assert fake.updates == [(ringing.sid, {"Status": "canceled"})]
    assert session.scalar(select(Task.status)) == "canceled"


def test_a_caller_waits_until_an_agent_with_the_skill_and_language_is_free(
    phone, fake, available_agent, session
):
    available_agent("returns@shop.example", skills=("returns",))
    available_agent("english@shop.example", languages=("en",), phone="+4930555555")
    caller = phone(CALLER)
    caller.dial()
    caller.press("0")  # German caller for the service queue
    assert fake.calls == []
    helper = available_agent("carla@shop.example", name="Carla", phone="+4930777777")
    assert [c.to for c in fake.calls] == ["+4930777777"]
    assert activity(session, helper["email"]) == "offered"


def test_agent_without_phone_rings_in_the_browser(phone, fake, available_agent, session):
    agent = available_agent(phone=None)
    phone(CALLER).dial()
    phone_call = fake.calls
    assert phone_call == []
    caller = phone("+4915199999999")
    caller.dial()
    caller.press("0")
    assert [c.to for c in fake.calls] == [f"client:agent-{agent['id']}"]


def test_presence_changes_are_logged_for_utilisation(phone, fake, available_agent, twilio_post, session):
    agent = available_agent()
    caller = phone(CALLER)
    caller.dial()
    caller.press("0")
    [placed] = fake.calls
    agent_leg(twilio_post, placed)
    agent_leg(twilio_post, placed, "completed")
    logged = session.scalars(
        select(AgentActivity.activity).where(AgentActivity.user_id == agent["id"]).order_by(AgentActivity.id)
    ).all()
    assert logged == ["available", "offered", "busy", "wrapup"]


def test_waiting_callers_hear_their_place_in_our_order_and_the_expected_wait(
    phone, fake, create_user, twilio_post, session
):
    create_user("off@shop.example", skills=("service",))  # on duty later, not now
    first, second = phone(CALLER), phone("+4915199999999")
    for caller in (first, second):
        caller.dial()
        caller.press("0")
    wait = twiml(
        twilio_post(
            "/callbacks/queue/wait",
            CallSid=second.call_sid,
            From=second.from_number,
            QueuePosition="1",
            QueueTime="30",
        )
    )
    said = " ".join(s.text or "" for s in wait.iter("Say"))
    assert "Sie sind an Position 2." in said  # our routing order, not Twilio's FIFO number
    assert "etwa 10 Minuten" in said  # two callers ahead of nobody on duty: 2 × 5 minutes


def test_callers_nobody_free_can_serve_do_not_block_the_caller_behind_them(
    app, phone, fake, available_agent, session
):
    # 25 English callers for returns wait ahead, more urgent and longer; no one free speaks English.
    for n in range(25):
        routing.enqueue(session, f"CAEN{n:04d}", "returns", "en", OPEN_HOURS, priority=5)
    session.commit()
    caller = phone(CALLER)
    caller.dial()
    caller.press("0")  # German caller for the service queue, at the end of the line

    agent = available_agent()  # German, service

    [placed] = fake.calls
    assert placed.to == "+4930123456"
    assert activity(session, agent["email"]) == "offered"
    offered = session.scalar(select(Task).where(Task.status == "offered"))
    assert offered is not None and offered.call_sid == caller.call_sid


@pytest.mark.parametrize(
    ("wrapup_until", "offered"),
    [(datetime(2000, 1, 1, tzinfo=UTC), True), (datetime(2100, 1, 1, tzinfo=UTC), False)],
)
def test_an_agent_gets_the_next_caller_as_soon_as_their_wrap_up_is_over(
    phone, fake, available_agent, session, wrapup_until, offered
):
    agent = available_agent()
    user = session.scalar(select(User).where(User.email == agent["email"]))
    user.activity, user.activity_until = "wrapup", wrapup_until
    session.commit()
    caller = phone(CALLER)
    caller.dial()
    assert caller.press("0").verb == "Enqueue"
    assert [c.to for c in fake.calls] == (["+4930123456"] if offered else [])
    assert activity(session, agent["email"]) == ("offered" if offered else "wrapup")
