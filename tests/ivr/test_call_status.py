"""Status callbacks move a call forward only; SIP callers are served like any other."""

from __future__ import annotations

from sqlalchemy import select

from ivr.models import Call, Customer, Interaction, InteractionEvent
from tests.conftest import twiml

CALL = {
    "CallSid": "CA" + "3" * 32,
    "From": "+4915112345678",
    "To": "+4930123456789",
    "AccountSid": "AC" + "0" * 32,
}


def statuses(session) -> list[str]:
    session.rollback()  # see what the webhooks wrote
    events = session.scalars(select(InteractionEvent).where(InteractionEvent.kind == "status"))
    return [e.data["status"] for e in events]


def test_late_ringing_does_not_reopen_a_completed_call(twilio_post, session):
    twilio_post("/twilio/voice", **CALL)
    twilio_post("/twilio/status", CallStatus="completed", CallDuration="30", **CALL)
    twilio_post("/twilio/status", CallStatus="ringing", **CALL)
    twilio_post("/twilio/status", CallStatus="failed", **CALL)
    assert statuses(session) == ["completed"]
    interaction = session.scalars(select(Interaction)).one()
    assert interaction.status == "completed" and interaction.duration == 30


def test_ringing_before_the_call_is_answered_then_completed(twilio_post, session):
    twilio_post("/twilio/status", CallStatus="ringing", **CALL)
    doc = twiml(twilio_post("/twilio/voice", **CALL))
    assert doc.find("Gather") is not None
    twilio_post("/twilio/status", CallStatus="completed", CallDuration="12", **CALL)
    assert statuses(session) == ["ringing", "completed"]
    assert session.scalars(select(Interaction)).one().status == "completed"


def test_step_after_the_call_ended_hangs_up_without_revealing_anything(twilio_post, session):
    doc = twiml(twilio_post("/twilio/voice", **CALL))
    action = doc.find("Gather").get("action").removeprefix("http://localhost")
    twilio_post("/twilio/status", CallStatus="completed", CallDuration="3", **CALL)
    doc = twiml(twilio_post(action, Digits="1", **CALL))
    assert doc.find("Hangup") is not None and doc.find("Say") is None
    session.rollback()
    call = session.scalars(select(Call)).one()
    assert call.step == 1 and call.node == "main_menu"
    assert not session.scalars(select(InteractionEvent).where(InteractionEvent.kind == "input")).all()


def test_incoming_call_after_its_final_status_hangs_up(twilio_post, session):
    twilio_post("/twilio/status", CallStatus="canceled", **CALL)
    doc = twiml(twilio_post("/twilio/voice", **CALL))
    assert doc.find("Hangup") is not None and doc.find("Say") is None
    assert session.scalars(select(Call)).all() == []


def test_sip_caller_is_greeted_and_matched_by_number(twilio_post, session):
    sip = {
        **CALL,
        "From": "sip:+4915112345678@shop-hotline.sip.twilio.com;transport=tls",
        "To": "sip:hotline-deutschland-kundenservice@shop-hotline.sip.twilio.com",
    }
    doc = twiml(twilio_post("/twilio/voice", **sip))
    assert "willkommen beim Kundenservice" in " ".join(s.text for s in doc.iter("Say"))
    session.rollback()
    interaction = session.scalars(select(Interaction)).one()
    assert interaction.from_number == "+4915112345678"
    assert interaction.to_number == sip["To"]
    assert interaction.customer.phone == "+4915112345678"


def test_sip_caller_without_a_number_keeps_the_address(twilio_post, session):
    sip = {**CALL, "From": "sip:anna.musterfrau-support-team@shop-hotline.sip.twilio.com"}
    twiml(twilio_post("/twilio/voice", **sip))
    twilio_post("/twilio/status", CallStatus="completed", CallDuration="4", **sip)
    session.rollback()
    interaction = session.scalars(select(Interaction)).one()
    assert interaction.from_number == sip["From"] and interaction.status == "completed"
    assert session.scalars(select(Customer)).all() == []
