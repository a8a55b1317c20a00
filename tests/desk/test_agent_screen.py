"""The agent's screen: the offered call with the caller's context, pushed live; wrap-up into the history."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select

from ivr.desk.models import User
from ivr.history import customer_history
from ivr.models import Order
from tests.desk.conftest import CALLER, activity, agent_leg, hidden_value, post_form


def first_event(browser) -> dict:
    """The first ``desk`` event of the console's live stream."""
    resp = browser.get("/console/events", buffered=False)
    assert resp.status_code == 200 and resp.mimetype == "text/event-stream"
    chunks = resp.response
    try:
        for chunk in chunks:
            text = chunk.decode() if isinstance(chunk, bytes) else chunk
            if text.startswith("event: desk"):
                payload = "".join(line[6:] for line in text.splitlines() if line.startswith("data: "))
                return json.loads(payload)
    finally:
        resp.close()
    raise AssertionError("no desk event")


def test_offered_call_shows_who_calls_why_and_their_order(phone, fake, available_agent, session):
    session.add(
        Order(
            order_number="4711",
            phone=CALLER,
            postal_code="10115",
            customer_name="Erika Muster",
            status="delayed",
            expected_delivery=date(2026, 11, 20),
        )
    )
    session.commit()
    agent = available_agent()
    earlier = phone(CALLER)
    earlier.dial()
    earlier.hang_up()
    caller = phone(CALLER)
    caller.dial()
    caller.press("1")  # order status: offered the caller-ID match
    caller.press("0")  # but wants a person
    assert fake.calls, caller.heard

    event = first_event(agent["browser"])
    assert 'data-testid="activity">Klingelt' in event["state"]
    call = event["call"]
    assert "Eingehender Anruf" in call and "Erika Muster" in call
    assert "+49 1511 2345678" in call
    page = agent["browser"].get("/console/").get_data(as_text=True)
    assert 'data-testid="call"' in page and "Frühere Kontakte" in page


def test_the_stream_carries_no_call_when_there_is_none(available_agent):
    agent = available_agent()
    event = first_event(agent["browser"])
    assert event["call"].strip() == ""
    assert "Verfügbar" in event["state"]


def test_wrapup_lands_in_the_history_and_frees_the_agent(
    phone,
    fake,
    available_agent,
    twilio_post,
    session,
):
    agent = available_agent()
    caller = phone(CALLER)
    caller.dial()
    caller.press("0")
    [placed] = fake.calls
    agent_leg(twilio_post, placed)
    agent_leg(twilio_post, placed, "completed")
    assert activity(session, agent["email"]) == "wrapup"
    page = agent["browser"].get("/console/").get_data(as_text=True)
    assert "Ergebnis speichern" in page
    task_id = hidden_value(page, "task")
    resp = post_form(
        agent["browser"],
        "/console/wrapup",
        {"task": task_id, "disposition": "resolved", "note": "Adresse geändert"},
        page="/console/",
    )
    assert resp.status_code == 302
    assert activity(session, agent["email"]) == "available"
    [entry] = customer_history(session, CALLER)
    [wrapup] = [e for e in entry["events"] if e["kind"] == "wrapup"]
    assert wrapup["data"] == {
        "agent": "Anna",
        "agent_id": agent["id"],
        "disposition": "resolved",
        "note": "Adresse geändert",
    }
    again = post_form(
        agent["browser"], "/console/wrapup", {"task": task_id, "disposition": "resolved"}, page="/console/"
    )
    assert again.status_code == 302
    assert len([e for e in customer_history(session, CALLER)[0]["events"] if e["kind"] == "wrapup"]) == 1


def test_another_agent_cannot_wrap_up_my_call(phone, fake, available_agent, twilio_post, session):
    mine = available_agent()
    other = available_agent("ben@shop.example", name="Ben", phone="+4930999999")
    caller = phone(CALLER)
    caller.dial()
    caller.press("0")
    [placed] = fake.calls
    agent_leg(twilio_post, placed)
    agent_leg(twilio_post, placed, "completed")
    page = mine["browser"].get("/console/").get_data(as_text=True)
    task_id = hidden_value(page, "task")
    post_form(
        other["browser"], "/console/wrapup", {"task": task_id, "disposition": "resolved"}, page="/console/"
    )
    assert not [e for e in customer_history(session, CALLER)[0]["events"] if e["kind"] == "wrapup"]
    assert session.scalar(select(User.activity).where(User.email == mine["email"])) == "wrapup"
