"""Returns, opt-ins and delay notices are covered by a person's export and erasure."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from ivr.returns.models import ContactConsent, ReturnDelivery, ReturnRequest
from ivr.returns.privacy import erase_person, export_person
from ivr.returns.proactive import give_consent
from tests.returns.conftest import CALLER, STRANGER, delivered, register_by_phone


def test_export_then_erase_a_person(phone, create_order, session, fake_twilio):
    create_order("4711", **delivered())
    create_order("4800", **delivered(phone=STRANGER))
    register_by_phone(phone)
    register_by_phone(phone, STRANGER)
    give_consent(session, CALLER, "checkout", datetime(2026, 11, 1, tzinfo=UTC))
    session.commit()
    exported = export_person(session, CALLER)
    assert [r["order_number"] for r in exported["returns"]] == ["4711"]
    assert exported["consents"][0]["source"] == "checkout"
    assert erase_person(session, CALLER) == 3  # the return, its SMS delivery, the opt-in
    session.commit()
    assert export_person(session, CALLER) == {"returns": [], "consents": [], "delay_notices": []}
    others = session.scalars(select(ReturnRequest.order_number)).all()
    assert others == ["4800"]  # another person's return stays
    assert session.scalar(select(func.count()).select_from(ReturnDelivery)) == 1
    assert session.scalar(select(func.count()).select_from(ContactConsent)) == 0
