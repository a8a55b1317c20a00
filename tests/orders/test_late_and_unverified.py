"""Late parcels and callers we cannot verify, through the shipped hotline (today: Tue 24 Nov 2026)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ivr.models import Call
from tests.orders.conftest import CALLER, STRANGER

LATE = {"status": "shipped", "expected_delivery": "2026-11-20"}


def _variables(session, caller):
    session.expire_all()
    return session.scalar(select(Call).where(Call.call_sid == caller.call_sid)).variables


def test_overdue_parcel_says_when_it_was_due_that_it_is_late_and_what_next(phone, create_order):
    create_order("4711", **LATE)
    caller = phone(CALLER)
    caller.dial()
    caller.press("1")
    caller.press("1")
    assert (
        "Ihre Bestellung vier sieben — eins eins ist unterwegs mit DHL. Sie sollte am Freitag, "
        "dem 20. November ankommen und ist damit leider überfällig. Das tut uns leid." in caller.heard
    )
    assert "Um die Verspätung zu melden, drücken Sie die 4." in caller.heard
    assert "Wenn wir Sie zurückrufen sollen, sobald wir mehr wissen, drücken Sie die 5." in caller.heard
    assert "voraussichtlich" not in caller.heard


def test_overdue_parcel_reported_goes_to_an_agent_who_sees_it_is_late(phone, create_order, session):
    create_order("4711", **LATE)
    caller = phone(CALLER)
    caller.dial()
    caller.press("1")
    caller.press("1")
    turn = caller.press("4")
    assert turn.verb == "Enqueue"
    assert "verbinde Sie mit einem Mitarbeiter" in caller.heard
    variables = _variables(session, caller)
    assert variables["order_problem"] == "overdue"
    assert variables["order_number"] == "4711"


def test_overdue_parcel_callback_is_offered_on_key_5(phone, create_order):
    create_order("4711", **LATE)
    caller = phone(CALLER)
    caller.dial()
    caller.press("1")
    caller.press("1")
    caller.press("5")
    assert "Sollen wir Sie unter der Nummer" in caller.heard


def test_overdue_parcel_in_english(phone, create_order):
    create_order("4711", **LATE)
    caller = phone(STRANGER)
    caller.dial()
    caller.press("9")
    caller.press("1")
    caller.press("4711#")
    caller.press("10115#")
    assert (
        "Your order four seven — one one is on its way with DHL. It was expected on Friday, "
        "November 20, so it is running late. We are sorry." in caller.heard
    )
    assert "To report the delay press 4." in caller.heard
    assert "To be called back as soon as we know more, press 5." in caller.heard


def test_parcel_due_today_is_not_late(phone, create_order):
    create_order("4711", status="shipped", expected_delivery="2026-11-24")
    caller = phone(CALLER)
    caller.dial()
    caller.press("1")
    caller.press("1")
    assert "Sie kommt voraussichtlich heute, am Dienstag, dem 24. November." in caller.heard
    assert "überfällig" not in caller.heard


def test_delayed_order_with_a_past_date_promises_no_date(phone, create_order):
    create_order("4711", status="delayed", expected_delivery="2026-11-20")
    caller = phone(CALLER)
    caller.dial()  # the delay is said first (ivr/returns/notice.py), without the past date
    assert "verspätet sich leider. Wenn Sie deshalb anrufen" in caller.heard
    caller.press("1")
    assert "Einen neuen Liefertermin haben wir leider noch nicht." in caller.heard
    assert "20. November" not in caller.heard


def _not_verified(phone, create_order):
    create_order("4711", postal_code="10115")
    caller = phone(STRANGER)
    caller.dial()
    caller.press("1")
    caller.press("4711#")
    caller.press("99999#")  # two wrong postal codes: nothing is revealed
    caller.press("88888#")
    assert "keine Auskunft geben" in caller.heard
    return caller


def test_not_verified_other_key_asks_again_instead_of_hanging_up(phone, create_order):
    caller = _not_verified(phone, create_order)
    turn = caller.press("5")
    assert turn.verb == "Gather"
    assert caller.heard.startswith("Das habe ich leider nicht verstanden.")
    assert "Drücken Sie die 0 oder sagen Sie ja." in caller.heard


@pytest.mark.parametrize("said", ["ja", "ja bitte", "gerne"])
def test_not_verified_spoken_yes_reaches_a_person(phone, create_order, said):
    caller = _not_verified(phone, create_order)
    turn = caller.say(said)
    assert turn.verb == "Enqueue"


def test_not_verified_silence_ends_with_a_person_not_a_goodbye(phone, create_order):
    caller = _not_verified(phone, create_order)
    caller.silence()
    assert caller.heard.startswith("Ich habe leider nichts gehört.")
    caller.silence()
    turn = caller.silence()
    assert turn.verb == "Enqueue"


def test_not_verified_no_thanks_is_a_polite_goodbye(phone, create_order):
    caller = _not_verified(phone, create_order)
    turn = caller.say("nein danke")
    assert turn.verb == "Hangup"
    assert "Vielen Dank für Ihren Anruf" in caller.heard
