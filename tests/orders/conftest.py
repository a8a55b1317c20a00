"""Fixtures for order tests: orders in the database and a small flow around the order node."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.flows.store import publish_flow
from ivr.models import Interaction, InteractionEvent
from ivr.orders.importer import parse_order, upsert_orders

CALLER = "+4915112345678"
STRANGER = "+4917699887766"

ORDERS_FLOW = """
name: orders_test
languages: [de, en]
start: menu
nodes:
  menu:
    type: menu
    prompt: {de: "Zu einer Bestellung drücken Sie die 1.", en: "For an order press 1."}
    options: {"1": orders, "9": english}
    no_input: {de: "Nichts gehört.", en: "Nothing heard."}
    no_match: {de: "Nicht verstanden.", en: "Not understood."}
    on_failure: agent
  english: {type: language, language: en, next: menu}
  orders:
    type: order_status
    next: goodbye
    on_failure: agent
  agent:
    type: route
    queue: service
    announce: {de: "Ich verbinde Sie mit einem Mitarbeiter.", en: "Connecting you to an agent."}
  goodbye:
    type: hangup
    say: {de: "Vielen Dank für Ihren Anruf. Auf Wiederhören.", en: "Thank you for calling. Goodbye."}
"""


@pytest.fixture
def orders_app(app: Flask, session: Session) -> Flask:
    """The app answering calls with the small order flow (today is Tuesday, 24 November 2026)."""
    publish_flow(session, ORDERS_FLOW, "orders_test.yaml")
    session.commit()
    app.config["FLOW_NAME"] = "orders_test"
    return app


@pytest.fixture
def create_order(session: Session) -> Callable[..., dict[str, Any]]:
    """Store an order (defaults: shipped with DHL, due Thursday) and return its fields."""

    def create(order_number: str = "4711", **fields: Any) -> dict[str, Any]:
        record = {
            "order_number": order_number,
            "customer_name": "Erika Mustermann",
            "phone": CALLER,
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
        record.update({k: v.isoformat() if isinstance(v, date) else v for k, v in fields.items()})
        upsert_orders(session, [parse_order(record)])
        session.commit()
        return record

    return create


def history_events(session: Session, call_sid: str, kind: str) -> list[dict[str, Any]]:
    """The data of the call's history events of one kind, oldest first."""
    session.rollback()  # end any earlier read: a new snapshot sees what the webhooks committed
    interaction = session.scalar(select(Interaction).where(Interaction.call_sid == call_sid))
    assert interaction is not None
    query = (
        select(InteractionEvent.data)
        .where(InteractionEvent.interaction_id == interaction.id, InteractionEvent.kind == kind)
        .order_by(InteractionEvent.id)
    )
    return [dict(data) for data in session.scalars(query)]
