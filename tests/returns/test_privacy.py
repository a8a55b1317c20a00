"""Returns, opt-ins and delay notices are covered by a person's export and erasure (the registry)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select

from ivr.privacy.operations import erase_subject, export_subject
from ivr.privacy.subjects import find_subject
from ivr.returns.models import ContactConsent, DelayNotice, ReturnDelivery, ReturnRequest
from ivr.returns.proactive import give_consent
from tests.returns.conftest import CALLER, STRANGER, delivered, register_by_phone


def _export(session):  # type: ignore[no-untyped-def]
    return export_subject(session, find_subject(session, "phone", CALLER))["tables"]


def test_export_then_erase_a_person(phone, create_order, session, fake_twilio):
    create_order("4711", **delivered())
    create_order("4800", **delivered(phone=STRANGER, email="max@example.de", customer_name="Max Muster"))
    register_by_phone(phone)
    register_by_phone(phone, STRANGER)
    give_consent(session, CALLER, "checkout", datetime(2026, 11, 1, tzinfo=UTC))
    session.add_all(
        [
            DelayNotice(order_number="4711", day=date(2026, 11, 21), state="sent"),
            DelayNotice(order_number="4800", day=date(2026, 11, 21), state="sent"),
        ]
    )
    session.commit()
    exported = _export(session)
    assert [r["order_number"] for r in exported["returns"]] == ["4711"]
    assert exported["contact_consents"][0]["source"] == "checkout"
    assert [n["order_number"] for n in exported["delay_notices"]] == ["4711"]
    assert len(exported["return_deliveries"]) == 1  # the label by SMS

    report = erase_subject(session, find_subject(session, "phone", CALLER), "test", "hash")
    session.commit()

    assert {t: report.counts[t] for t in ("returns", "return_deliveries", "contact_consents")} == {
        "returns": 1,
        "return_deliveries": 1,
        "contact_consents": 1,
    }
    assert not {"returns", "return_deliveries", "contact_consents", "delay_notices"} & set(_export(session))
    others = session.scalars(select(ReturnRequest.order_number)).all()
    assert others == ["4800"]  # another person's return stays
    assert session.scalar(select(func.count()).select_from(ReturnDelivery)) == 1
    assert session.scalar(select(func.count()).select_from(ContactConsent)) == 0
    assert session.scalars(select(DelayNotice.order_number)).all() == ["4800"]
