"""Returns as the shop reports them (REST API and CSV): parsing, validation and updates."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.models import Customer, Order
from ivr.returns.models import REASONS, STATES, ReturnRequest
from ivr.returns.service import NewReturn, register_return

RETURN_NUMBER = re.compile(r"^[0-9]{4,20}$")
ORDER_NUMBER = re.compile(r"^[0-9]{3,20}$")
FIELDS = ("return_number", "order_number", "items", "reason", "state", "received_on", "refunded_on")
MAX_ITEMS, MAX_ITEM_LENGTH = 50, 200


class InvalidReturn(ValueError):
    """A return record that cannot be stored; the message says which field and why."""


def parse_update(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The changes a shop sends for a return: state and the dates it reached."""
    unknown = [str(k)[:40] for k in raw if k not in FIELDS]
    if unknown:
        raise InvalidReturn(f"unknown field {', '.join(unknown)}; fields are {', '.join(FIELDS)}")
    changes: dict[str, Any] = {}
    if "state" in raw:
        if raw["state"] not in STATES:
            raise InvalidReturn(f"state must be one of {', '.join(STATES)}")
        changes["state"] = raw["state"]
    for name in ("received_on", "refunded_on"):
        if name in raw:
            changes[name] = _date(name, raw[name])
    if "reason" in raw:
        if raw["reason"] not in REASONS:
            raise InvalidReturn(f"reason must be one of {', '.join(REASONS)}")
        changes["reason"] = raw["reason"]
    if "items" in raw:
        changes["items"] = _items(raw["items"])
    return changes


def parse_new(raw: Mapping[str, Any]) -> tuple[str | None, str, dict[str, Any]]:
    """A new return from the shop: (its return number or None, order number, further fields)."""
    number = raw.get("return_number")
    if number is not None and (not isinstance(number, str) or not RETURN_NUMBER.match(number)):
        raise InvalidReturn("return_number must be 4 to 20 digits")
    order = raw.get("order_number")
    if not isinstance(order, str) or not ORDER_NUMBER.match(order):
        raise InvalidReturn("order_number must be 3 to 20 digits")
    return (
        number,
        order,
        parse_update({k: v for k, v in raw.items() if k not in ("return_number", "order_number")}),
    )


def create_from_shop(
    session: Session, config: dict[str, Any], raw: Mapping[str, Any], now: datetime
) -> ReturnRequest:
    """Store a return the shop registered (its own number kept), or update it if known."""
    number, order_number, changes = parse_new(raw)
    if number is not None:
        existing = find_return(session, number)
        if existing is not None:
            if existing.order_number != order_number:
                raise InvalidReturn("return_number belongs to another order")
            return apply_update(existing, changes, now)
    order = session.scalar(select(Order).where(Order.order_number == order_number))
    new = NewReturn(order_number, changes.pop("items", []), changes.pop("reason", "other"))
    row = register_return(session, config, new, now, source="api")
    if order is not None and order.customer_id is not None:
        row.customer_id = order.customer_id
    elif order is not None and order.phone:
        row.customer_id = session.scalar(select(Customer.id).where(Customer.phone == order.phone))
    if number is not None:
        row.return_number = number
    return apply_update(row, changes, now)


def apply_update(row: ReturnRequest, changes: dict[str, Any], now: datetime) -> ReturnRequest:
    """Apply a shop's changes; a refund or receipt without a date is dated today."""
    for name, value in changes.items():
        setattr(row, name, value)
    if row.state in ("received", "refunded") and row.received_on is None and "received_on" not in changes:
        row.received_on = now.date() if row.state == "received" else None
    if row.state == "refunded" and row.refunded_on is None:
        row.refunded_on = now.date()
    row.updated_at = now
    return row


def find_return(session: Session, number: str) -> ReturnRequest | None:
    """The return with this number, or None (also for a malformed number)."""
    if not RETURN_NUMBER.match(number):
        return None
    return session.scalar(select(ReturnRequest).where(ReturnRequest.return_number == number))


def return_as_dict(row: ReturnRequest) -> dict[str, Any]:
    """A return as JSON-ready data (dates ISO 8601)."""
    return {
        "return_number": row.return_number,
        "order_number": row.order_number,
        "items": list(row.items or []),
        "reason": row.reason,
        "state": row.state,
        "source": row.source,
        "label_via": row.label_via,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        "label_sent_at": row.label_sent_at.isoformat() if row.label_sent_at else None,
        "received_on": row.received_on.isoformat() if row.received_on else None,
        "refunded_on": row.refunded_on.isoformat() if row.refunded_on else None,
    }


def _date(name: str, value: Any) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidReturn(f"{name} must be a date like 2026-11-24") from None


def _items(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        raise InvalidReturn(f"items must be a list of at most {MAX_ITEMS} names")
    if not all(isinstance(v, str) and 0 < len(v.strip()) <= MAX_ITEM_LENGTH for v in value):
        raise InvalidReturn(f"each item must be a name of 1 to {MAX_ITEM_LENGTH} characters")
    return [v.strip() for v in value]
