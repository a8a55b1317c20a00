"""Two ``ivr serve`` nodes on one PostgreSQL, a load balancer alternating between them.

Each call's webhooks go to either node in turn; every step webhook is also delivered twice at
once (to both nodes, as a retrying balancer or Twilio would), with status callbacks racing them.
Nothing may be lost, duplicated or advanced twice, and the order-status guard counts guesses
across both nodes.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from ivr.models import Call, Interaction, InteractionEvent
from ivr.orders.importer import parse_order, upsert_orders
from ivr.orders.services import GuessGuard
from ivr.simulator import Phone
from tests.conftest import AUTH_TOKEN
from tests.ivr.test_serve import start_serving  # noqa: F401  (the server fixture)

pytestmark = pytest.mark.skipif(
    not os.environ.get("IVR_TEST_DATABASE_URL"),
    reason="several nodes share PostgreSQL; SQLite is one machine's database",
)

LOCKED = "Weitere Auskünfte zu Bestellungen kann ich Ihnen am Telefon leider nicht geben"
WRONG_POSTAL = "Die Postleitzahl passt leider nicht zur Bestellung"
ORDER_OWNER = "+4915112345678"


class Balancer:
    """Sends each webhook to the next node in turn; ``twice`` also sends it to the other node at once."""

    def __init__(self, nodes: list[str], twice: bool = False, first: int = 0) -> None:
        self.nodes, self.twice = nodes, twice
        self.turn = itertools.count(first)
        self.http = requests.Session()

    def post(self, url: str, params: dict[str, str]) -> tuple[int, str]:
        """Post to the next node (and, if ``twice``, to the other one concurrently)."""
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        index = next(self.turn) % len(self.nodes)
        targets = [self.nodes[index]]
        if self.twice and path.startswith("/twilio/step"):
            targets.append(self.nodes[(index + 1) % len(self.nodes)])
        with ThreadPoolExecutor(len(targets)) as pool:
            answers = list(pool.map(lambda node: send(node + path, params), targets))
        assert all(a == answers[0] for a in answers), answers  # a duplicate hears the same
        return answers[0]


def send(url: str, params: dict[str, str]) -> tuple[int, str]:
    """One webhook signed for the node's own URL (no public URL is configured)."""
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    resp = requests.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=30)
    return resp.status_code, resp.text


@pytest.fixture
def nodes(start_serving: Callable[..., str]) -> list[str]:  # noqa: F811
    """Two nodes, each one process of two threads, on the test's PostgreSQL database."""
    return [start_serving(), start_serving()]


def walk(phone: Phone, dial: bool = True) -> None:
    """Returns info, again, main menu, orders: caller ID offers the order, hear it, silence → goodbye."""
    if dial:
        phone.dial()
    for key in ("2", "1", "*", "1", "1"):
        phone.press(key)
    phone.silence()
    assert phone.turn is not None and phone.turn.verb == "Hangup", phone.transcript


def kinds(session: Session, call_sid: str) -> list[str]:
    """The kinds of a call's events in order, checking their numbers run 1, 2, 3, … without gaps."""
    events = session.scalars(
        select(InteractionEvent)
        .join(Interaction)
        .where(Interaction.call_sid == call_sid)
        .order_by(InteractionEvent.seq)
    ).all()
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    return [e.kind for e in events]


def test_calls_alternating_between_nodes_lose_and_double_nothing(
    app: Flask, session: Session, nodes: list[str]
) -> None:
    upsert_orders(session, [parse_order(order(ORDER_OWNER))])
    session.commit()
    reference = Phone(Balancer(nodes[:1]), from_number=ORDER_OWNER)  # the same walk on one node
    walk(reference)
    reference.hang_up()
    expected = kinds(session, reference.call_sid)

    phones = [Phone(Balancer(nodes, twice=True, first=i), from_number=ORDER_OWNER) for i in range(8)]
    racing = Balancer(nodes)

    def call(phone: Phone) -> None:
        done = threading.Event()

        def status_callbacks() -> None:  # Twilio's progress callbacks race the webhooks
            while not done.wait(0.05):
                racing.post("/twilio/status", phone.params(CallStatus="in-progress"))

        phone.dial()  # progress callbacks follow the answer (before it, they would open the log)
        with ThreadPoolExecutor(1) as pool:
            pool.submit(status_callbacks)
            try:
                walk(phone, dial=False)
            finally:
                done.set()
        final = phone.params(CallStatus="completed", CallDuration="42")
        with ThreadPoolExecutor(2) as pool:  # the final callback delivered to both nodes at once
            list(pool.map(lambda node: send(node + "/twilio/status", final), nodes))

    with ThreadPoolExecutor(len(phones)) as pool:
        list(pool.map(call, phones))

    session.expire_all()
    for phone in phones:
        assert kinds(session, phone.call_sid) == expected  # nothing lost, nothing twice
        row = session.scalar(select(Call).where(Call.call_sid == phone.call_sid))
        assert row is not None and row.step == 7 and row.finished  # advanced once per answer
        interaction = session.scalar(select(Interaction).where(Interaction.call_sid == phone.call_sid))
        assert interaction is not None and interaction.status == "completed"
        assert interaction.outcome == "self_service" and interaction.duration == 42


def test_the_order_guard_counts_guesses_from_both_nodes(
    app: Flask, session: Session, nodes: list[str]
) -> None:
    upsert_orders(session, [parse_order(order(ORDER_OWNER))])
    session.commit()
    now = datetime.now(UTC)  # the nodes run on the real clock
    guard = GuessGuard(session)
    for i in range(3):  # three failed guesses already
        guard.record_failure(f"+491769999{i:04d}", "4711", now)
    session.commit()
    callers = []
    for i in range(6):  # strangers at the postal-code question, each call alternating nodes
        caller = Phone(Balancer(nodes, first=i), from_number=f"+491760000{i:04d}")
        caller.dial()
        caller.press("1")
        caller.press("4711#")
        assert "Postleitzahl der Lieferadresse" in caller.heard
        callers.append(caller)
    start = threading.Barrier(len(callers))

    def guess(caller: Phone) -> str:
        start.wait()
        caller.press("99999#")
        return caller.heard

    with ThreadPoolExecutor(len(callers)) as pool:
        heard = list(pool.map(guess, callers))
    assert sum(WRONG_POSTAL in h for h in heard) == 1  # the fourth failure: "try again"
    assert sum(LOCKED in h for h in heard) == 5  # the fifth reaches the limit; no more are checked
    assert GuessGuard(session).order_failures("4711", datetime.now(UTC)) == 5


def order(phone: str) -> dict[str, str]:
    """Order 4711, shipped, belonging to ``phone``."""
    return {
        "order_number": "4711",
        "customer_name": "Erika Mustermann",
        "phone": phone,
        "email": "erika@example.de",
        "postal_code": "10115",
        "status": "shipped",
        "carrier": "DHL",
        "tracking_number": "JJD000123456789",
        "ordered_at": "2026-11-12",
        "shipped_at": "2026-11-23",
        "expected_delivery": "2026-11-26",
        "delivered_at": "",
        "items": "1 × Wanderschuhe",
    }
