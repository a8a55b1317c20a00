"""Abuse of the order-status self-service: withheld caller IDs, guessing, the existence oracle."""

from __future__ import annotations

import pytest

from ivr.models import Order
from tests.orders.conftest import STRANGER

pytestmark = pytest.mark.usefixtures("orders_app")

#: Withheld caller IDs as Twilio sends them (the words and their keypad spellings).
WITHHELD_IDS = ["anonymous", "+266696687", "restricted", "unavailable", "", "+8656696", "+86282452253"]


@pytest.mark.parametrize("withheld", WITHHELD_IDS)
def test_a_withheld_caller_id_never_verifies_an_order(phone, create_order, session, withheld):
    create_order("4711")
    # An order whose stored phone is the placeholder itself (an import of older data, say).
    session.add(Order(order_number="4712", phone=withheld or None, postal_code="10115", status="shipped"))
    session.commit()
    caller = phone(withheld)
    caller.dial()
    caller.press("1")
    assert "Bitte tippen Sie Ihre Bestellnummer ein" in caller.heard  # no caller-ID offer
    caller.press("4712#")
    assert "Postleitzahl der Lieferadresse" in caller.heard
    assert "unterwegs" not in " ".join(caller.transcript)


def test_a_real_number_is_still_matched(phone, create_order):
    create_order("4711", phone=STRANGER)
    caller = phone(STRANGER)
    caller.dial()
    caller.press("1")
    assert "Ihre Bestellung vom 12. November" in caller.heard
