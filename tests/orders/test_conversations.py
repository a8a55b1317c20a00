"""Order-status calls through the real webhooks, as the caller hears them."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from ivr.models import Interaction
from tests.orders.conftest import CALLER, STRANGER, history_events

pytestmark = pytest.mark.usefixtures("orders_app")


def test_matching_caller_id_is_offered_the_newest_order_and_hears_status_and_date(phone, create_order):
    create_order("4711")
    caller = phone(CALLER)
    caller.dial()
    caller.press("1")
    assert "Ihre Bestellung vom 12. November: drücken Sie die 1" in caller.heard
    caller.press("1")
    assert "Ihre Bestellung vier sieben — eins eins ist unterwegs mit DHL" in caller.heard
    assert "am Donnerstag, dem 26. November" in caller.heard
    assert "Zum Wiederholen drücken Sie die 1" in caller.heard


def test_matching_caller_id_typing_the_number_needs_no_postal_code(phone, create_order):
    create_order("4711", status="delivered", delivered_at="2026-11-20")
    caller = phone(CALLER)
    caller.dial()
    caller.press("1")
    assert "Bitte tippen Sie Ihre Bestellnummer ein" in caller.heard  # delivered is not offered
    caller.press("4711#")
    assert "wurde am Freitag, dem 20. November zugestellt" in caller.heard
    assert "Postleitzahl" not in caller.heard


def test_another_phone_must_give_the_postal_code(phone, create_order, session):
    create_order("4711")
    caller = phone(STRANGER)
    caller.dial()
    caller.press("1")
    caller.press("4711#")
    assert "Postleitzahl der Lieferadresse" in caller.heard
    assert "unterwegs" not in " ".join(caller.transcript)
    caller.press("10115#")
    assert "ist unterwegs mit DHL" in caller.heard
    caller.silence()
    assert "Auf Wiederhören" in caller.heard
    caller.hang_up()
    session.expire_all()
    interaction = session.scalar(select(Interaction).where(Interaction.call_sid == caller.call_sid))
    assert interaction.outcome == "self_service"
    lookup = history_events(session, caller.call_sid, "order_lookup")[-1]
    assert lookup == {
        "node": "orders",
        "order_number": "4711",
        "found": True,
        "verified": True,
        "verified_by": "postal_code",
        "answered": "shipped",
    }


def test_two_wrong_postal_codes_reveal_nothing_and_offer_an_agent(phone, create_order, session):
    create_order("4711")
    caller = phone(STRANGER)
    caller.dial()
    caller.press("1")
    caller.press("4711#")
    caller.press("99999#")
    assert "Die Postleitzahl passt leider nicht" in caller.heard
    caller.press("12345#")
    assert "keine Auskunft geben. Ein Mitarbeiter hilft Ihnen gern weiter: Drücken Sie die 0" in caller.heard
    everything = " ".join(caller.transcript)
    for secret in ("unterwegs", "DHL", "November", "Donnerstag"):
        assert secret not in everything
    turn = caller.press("0")
    assert turn.verb == "Enqueue"
    assert "verbinde Sie mit einem Mitarbeiter" in caller.heard
    assert history_events(session, caller.call_sid, "order_lookup")[-1]["verified"] is False


def test_spoken_order_number_in_german(phone, create_order):
    create_order("4711")
    caller = phone(STRANGER)
    caller.dial()
    caller.press("1")
    caller.say("siebenundvierzig elf")
    assert "Postleitzahl" in caller.heard
    caller.say("eins null eins eins fünf")
    assert "Ihre Bestellung vier sieben — eins eins ist unterwegs" in caller.heard


def test_english_caller_hears_english(phone, create_order):
    create_order("4711")
    caller = phone(STRANGER)
    caller.dial()
    caller.press("9")
    caller.press("1")
    caller.say("four seven one one")
    caller.press("10115#")
    assert "Your order four seven — one one is on its way with DHL" in caller.heard
    assert "on Thursday, November 26" in caller.heard


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"status": "delayed", "expected_delivery": "2026-11-30"},
            "Es tut uns leid: Ihre Bestellung vier sieben — eins eins verzögert sich. "
            "Der neue voraussichtliche Liefertermin ist am Montag, dem 30. November.",
        ),
        (
            {"status": "delivered", "delivered_at": "2026-11-23"},
            "wurde am Montag, dem 23. November zugestellt. Falls damit etwas nicht stimmt",
        ),
        ({"status": "cancelled"}, "Ihre Bestellung vier sieben — eins eins wurde storniert."),
    ],
)
def test_statuses_are_worded_for_the_caller(phone, create_order, fields, expected):
    create_order("4711", **fields)
    caller = phone(STRANGER)
    caller.dial()
    caller.press("1")
    caller.press("4711#")
    caller.press("10115#")
    assert expected in caller.heard


def test_delivered_order_offers_to_report_a_problem_to_an_agent(phone, create_order, session):
    create_order("4711", status="delivered", delivered_at="2026-11-23")
    caller = phone(CALLER)
    caller.dial()
    caller.press("1")
    caller.press("4711#")
    assert "um ein Problem mit der Lieferung zu melden die 4" in caller.heard
    turn = caller.press("4")
    assert turn.verb == "Enqueue"
    caller.hang_up()
    session.expire_all()
    interaction = session.scalar(select(Interaction).where(Interaction.call_sid == caller.call_sid))
    assert interaction.outcome != "self_service"


def test_tracking_number_last_digits_on_request(phone, create_order):
    create_order("4711")
    caller = phone(CALLER)
    caller.dial()
    caller.press("1")
    caller.press("1")
    caller.press("2")
    assert "Die Sendungsnummer endet auf vier fünf — sechs sieben — acht neun." in caller.heard


@pytest.mark.parametrize("bad", ["1" * 30 + "#", "12ab#", "1' OR '1'='1#", "4711; DROP TABLE orders#"])
def test_bad_keypad_input_gets_a_clear_prompt(phone, create_order, bad):
    create_order("4711")
    caller = phone(STRANGER)
    caller.dial()
    caller.press("1")
    turn = caller.press(bad)
    assert "Das habe ich leider nicht als Bestellnummer erkannt. Sie besteht nur aus Ziffern." in caller.heard
    assert turn.verb == "Gather"


def test_a_sentence_without_digits_gets_a_clear_prompt(phone, create_order):
    create_order("4711")
    caller = phone(STRANGER)
    caller.dial()
    caller.press("1")
    caller.say("ich weiß meine Nummer gerade nicht")
    assert "nicht als Bestellnummer erkannt" in caller.heard


def test_zero_reaches_a_person_while_typing_the_order_number(phone, create_order):
    caller = phone(STRANGER)
    caller.dial()
    caller.press("1")
    turn = caller.press("0#")
    assert turn.verb == "Enqueue"


def test_order_data_never_appears_in_logs(phone, create_order, caplog):
    create_order("987654321")
    caplog.set_level(logging.DEBUG)
    for postal_codes in (("11111#", "22222#"), ("33333#", "44444#"), ("55555#",)):  # 5 failures
        caller = phone(STRANGER)
        caller.dial()
        caller.press("1")
        caller.press("987654321#")
        for code in postal_codes:
            caller.press(code)
    assert "order lookups stopped" in caplog.text
    for secret in ("987654321", "10115", "11111", "55555", "Mustermann", STRANGER):
        assert secret not in caplog.text
