"""Abuse of the order-status self-service: withheld caller IDs, guessing, the existence oracle."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from flask import Flask

from ivr.models import Order, OrderVerificationFailure
from ivr.orders.services import GuessGuard
from ivr.simulator import InProcess, Phone
from tests.conftest import OPEN_HOURS
from tests.orders.conftest import CALLER, STRANGER, history_events

pytestmark = pytest.mark.usefixtures("orders_app")

#: Withheld caller IDs as Twilio sends them (the words and their keypad spellings).
WITHHELD_IDS = ["anonymous", "+266696687", "restricted", "unavailable", "", "+8656696", "+86282452253"]
LOCKED = "Weitere Auskünfte zu Bestellungen kann ich Ihnen am Telefon leider nicht geben"
NOT_VERIFIED = "keine Auskunft geben. Ein Mitarbeiter hilft Ihnen gern weiter: Drücken Sie die 0"
WRONG_POSTAL = "Die Postleitzahl passt leider nicht zur Bestellung"


def spoofed(i: int) -> str:
    """A different (spoofed) mobile number per call."""
    return f"+491760000{i:04d}"


def try_order(phone, from_number: str, number: str, *postal_codes: str) -> Phone:
    """Call, choose orders, key in ``number`` and then each postal code."""
    caller = phone(from_number)
    caller.dial()
    caller.press("1")
    caller.press(f"{number}#")
    for code in postal_codes:
        caller.press(f"{code}#")
    return caller


@dataclass
class Recorded(InProcess):
    """Webhooks in-process, keeping every TwiML document the caller was sent."""

    bodies: list[str] = field(default_factory=list)

    def post(self, url: str, params: dict[str, str]) -> tuple[int, str]:
        """Post and keep the answer."""
        status, body = super().post(url, params)
        self.bodies.append(body)
        return status, body


def past_failures(session, n: int, hours_ago: float, caller: str = STRANGER, order_number: str = "1111"):
    """``n`` failed verifications ``hours_ago`` before the test's now."""
    at = OPEN_HOURS - timedelta(hours=hours_ago)
    row = OrderVerificationFailure
    session.add_all(row(caller=caller, order_number=order_number, at=at) for _ in range(n))
    session.commit()


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


def test_unknown_and_known_order_numbers_sound_exactly_the_same(app: Flask, create_order, session):
    create_order("4711")
    paths = {}
    for number, from_number in (("4711", STRANGER), ("5555", spoofed(1))):
        transport = Recorded(app)
        caller = Phone(transport, from_number=from_number, call_sid=f"CA{number:0>32}")
        caller.dial()
        caller.press("1")
        caller.press(f"{number}#")
        assert "Postleitzahl der Lieferadresse" in caller.heard
        caller.press("99999#")
        assert WRONG_POSTAL in caller.heard
        caller.press("12345#")
        assert NOT_VERIFIED in caller.heard
        assert caller.press("0").verb == "Enqueue"
        paths[number] = transport.bodies
    assert paths["4711"] == paths["5555"]  # every TwiML document, byte for byte
    guard = GuessGuard(session)
    assert guard.order_failures("4711", OPEN_HOURS) == guard.order_failures("5555", OPEN_HOURS) == 2
    assert guard.caller_failures(STRANGER, OPEN_HOURS) == guard.caller_failures(spoofed(1), OPEN_HOURS) == 2


@pytest.mark.parametrize("number", ["4711", "5555"])  # a real order and a guess behave alike
def test_five_failures_lock_an_order_number_whatever_the_caller_id(phone, create_order, session, number):
    create_order("4711")
    try_order(phone, spoofed(1), number, "99999", "12345")
    try_order(phone, spoofed(2), number, "11111", "22222")
    fifth = try_order(phone, spoofed(3), number, "33333")
    assert LOCKED in fifth.heard
    assert fifth.turn.verb == "Enqueue"  # a person, not a dead end
    [event] = history_events(session, fifth.call_sid, "security")
    assert event == {
        "node": "orders",
        "threat": "order_guessing",
        "detail": "limit reached",
        "limit": "order",
        "failures_in_call": 1,
        "order_number": "*" * len(number),
    }
    # Even the right postal code no longer verifies it by phone: a person helps instead.
    owner_elsewhere = try_order(phone, spoofed(4), number)
    assert LOCKED in owner_elsewhere.heard
    assert owner_elsewhere.turn.verb == "Enqueue"
    [event] = history_events(session, owner_elsewhere.call_sid, "security")
    assert (event["detail"], event["limit"]) == ("blocked", "order")
    if number == "4711":  # the caller ID of the order still verifies it
        owner = phone(CALLER)
        owner.dial()
        owner.press("1")
        owner.press("2")  # not the offered order: another one, keyed in
        owner.press("4711#")
        assert "Ihre Bestellung vier sieben — eins eins ist unterwegs mit DHL" in owner.heard


def test_withheld_callers_share_one_strict_limit(phone, create_order, session):
    create_order("4711")
    try_order(phone, "anonymous", "1111", "99999", "12345")
    try_order(phone, "+266696687", "2222", "99999", "12345")
    fifth = try_order(phone, "", "3333", "99999")
    assert LOCKED in fifth.heard
    assert history_events(session, fifth.call_sid, "security")[0]["limit"] == "withheld"
    later = phone("restricted")
    later.dial()
    turn = later.press("1")
    assert LOCKED in later.heard
    assert turn.verb == "Enqueue"
    assert history_events(session, later.call_sid, "security")[0]["detail"] == "blocked"
    # A caller with a real number is not affected.
    other = try_order(phone, STRANGER, "4711", "10115")
    assert "ist unterwegs mit DHL" in other.heard


@pytest.mark.parametrize(("hours_ago", "blocked"), [(23, True), (25, False)])
def test_the_caller_limit_is_a_rolling_24_hours(phone, create_order, session, hours_ago, blocked):
    create_order("4711")
    past_failures(session, 10, hours_ago)  # 23 h ago is yesterday (UTC and Berlin) and still counts
    caller = phone(STRANGER)
    caller.dial()
    caller.press("1")
    assert (LOCKED in caller.heard) is blocked
    assert ("Bitte tippen Sie Ihre Bestellnummer ein" in caller.heard) is not blocked


@pytest.mark.parametrize(("hours_ago", "blocked"), [(23, True), (25, False)])
def test_the_order_limit_is_a_rolling_24_hours(phone, create_order, session, hours_ago, blocked):
    create_order("4711")
    past_failures(session, 5, hours_ago, caller=spoofed(9), order_number="4711")
    caller = try_order(phone, STRANGER, "4711")
    assert (LOCKED in caller.heard) is blocked
    assert ("Postleitzahl der Lieferadresse" in caller.heard) is not blocked


def test_simultaneous_wrong_guesses_are_checked_one_at_a_time(phone, create_order, session):
    """Three failures so far, limit five: of six guesses at once, one more is checked, then locked."""
    create_order("4711")
    past_failures(session, 3, 1, caller=spoofed(99), order_number="4711")
    callers = [try_order(phone, spoofed(i), "4711") for i in range(6)]
    assert all("Postleitzahl der Lieferadresse" in c.heard for c in callers)
    start = threading.Barrier(len(callers))

    def guess(caller: Phone) -> str:
        start.wait()
        caller.press("99999#")
        return caller.heard

    with ThreadPoolExecutor(len(callers)) as pool:
        heard = list(pool.map(guess, callers))
    assert sum(WRONG_POSTAL in h for h in heard) == 1  # the fourth failure: "try again"
    assert sum(LOCKED in h for h in heard) == 5  # the fifth hits the limit; the rest are not checked
    assert GuessGuard(session).order_failures("4711", OPEN_HOURS) == 5
