"""Validate order records and upsert them in bulk (CSV import and the REST API share this)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ivr.models import Customer, Order
from ivr.models._types import utcnow
from ivr.models.order import ORDER_STATUSES
from ivr.phone import normalize_phone

CSV_HEADER = (
    "order_number",
    "customer_name",
    "phone",
    "email",
    "postal_code",
    "status",
    "carrier",
    "tracking_number",
    "ordered_at",
    "shipped_at",
    "expected_delivery",
    "delivered_at",
    "items",
)
DATE_FIELDS = ("ordered_at", "shipped_at", "expected_delivery", "delivered_at")
# Callers key order numbers on the phone, so they are digits only.
ORDER_NUMBER = re.compile(r"^[0-9]{3,20}$")
POSTAL_CODE = re.compile(r"^[0-9A-Za-z -]{3,10}$")
MAX_LENGTHS = {"customer_name": 200, "email": 320, "carrier": 50, "tracking_number": 50, "items": 2000}
#: Rows per INSERT … ON CONFLICT; 13 columns × 1000 stays far below SQLite's parameter limit.
BATCH_SIZE = 1000


class InvalidOrder(ValueError):
    """A record that cannot be stored; the message says why, naming the field but never its value."""


def parse_order(raw: Mapping[str, Any], region: str = "DE", *, partial: bool = False) -> dict[str, Any]:
    """A validated row for the ``orders`` table from text fields (InvalidOrder if bad).

    ``partial``: only the fields ``raw`` mentions are returned (besides the order number and status),
    so an update keeps what it does not mention; unknown fields are refused.
    """
    if partial:
        unknown = [str(k)[:40] for k in raw if k not in CSV_HEADER]
        if unknown:
            raise InvalidOrder(f"unknown field {', '.join(unknown)}; fields are {', '.join(CSV_HEADER)}")
    value = {k: _text(k, raw.get(k)) for k in CSV_HEADER}
    number = value["order_number"]
    if not ORDER_NUMBER.match(number):
        raise InvalidOrder("order_number must be 3 to 20 digits")
    if value["status"] not in ORDER_STATUSES:
        raise InvalidOrder(f"status must be one of {', '.join(ORDER_STATUSES)}")
    phone = None
    if value["phone"]:
        phone = normalize_phone(value["phone"], region)
        if phone is None:
            raise InvalidOrder("phone is not a valid phone number")
    postal = value["postal_code"].upper()
    if postal and not POSTAL_CODE.match(postal):
        raise InvalidOrder("postal_code must be 3 to 10 letters or digits")
    if value["email"] and "@" not in value["email"]:
        raise InvalidOrder("email is not an e-mail address")
    for name, limit in MAX_LENGTHS.items():
        if len(value[name]) > limit:
            raise InvalidOrder(f"{name} is longer than {limit} characters")
    row: dict[str, Any] = {k: value[k] or None for k in CSV_HEADER if k not in DATE_FIELDS}
    row.update(phone=phone, postal_code=postal or None, **{k: _parse_date(k, value[k]) for k in DATE_FIELDS})
    if partial:
        row = {k: v for k, v in row.items() if k in raw or k in ("order_number", "status")}
    return row


def _text(name: str, raw: Any) -> str:
    """A field as stripped text; numbers are accepted (JSON), nested values and NUL bytes are not."""
    if raw is None:
        return ""
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise InvalidOrder(f"{name} must be a text")
    text = str(raw).strip()
    if "\x00" in text:
        raise InvalidOrder(f"{name} contains a NUL byte")
    return text


def _parse_date(name: str, text: str) -> date | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        raise InvalidOrder(f"{name} is not an ISO 8601 date (YYYY-MM-DD)") from None


def upsert_orders(session: Session, rows: Iterable[dict[str, Any]]) -> int:
    """Insert or update orders by order number, linking each to its customer; flushes only.

    A row updates only the columns it has, so partial rows (the API's) keep the rest.
    """
    count = 0
    for batch in _batches(rows, BATCH_SIZE):
        # One statement must not touch an order twice (PostgreSQL refuses that): merge repeats,
        # the later row's fields winning.
        merged: dict[str, dict[str, Any]] = {}
        for row in batch:
            merged[row["order_number"]] = {**merged.get(row["order_number"], {}), **row}
        store_rows(session, list(merged.values()))
        count += len(batch)
    session.flush()
    return count


def store_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Upsert rows of distinct order numbers in one statement per set of columns."""
    customers = _customer_ids(session, [r for r in rows if r.get("phone")])
    now = utcnow()
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        stored = dict(row, updated_at=now)
        if "phone" in row:
            stored["customer_id"] = customers.get(row["phone"])
        groups.setdefault(tuple(sorted(stored)), []).append(stored)
    for columns, group in groups.items():
        insert = dialect_insert(session)(Order.__table__)
        update = {c: insert.excluded[c] for c in columns if c != "order_number"}
        session.execute(insert.on_conflict_do_update(index_elements=["order_number"], set_=update), group)


def _customer_ids(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Customers by phone for these rows, created when new (the shared customer history)."""
    new = {
        r["phone"]: {
            "phone": r["phone"],
            "name": r.get("customer_name"),
            "email": r.get("email"),
            "created_at": utcnow(),
        }
        for r in rows
        if r["phone"]
    }
    if not new:
        return {}
    insert = dialect_insert(session)(Customer.__table__)
    session.execute(insert.on_conflict_do_nothing(index_elements=["phone"]), list(new.values()))
    found = session.execute(select(Customer.phone, Customer.id).where(Customer.phone.in_(list(new))))
    return {phone: id_ for phone, id_ in found if phone is not None}


def dialect_insert(session: Session) -> Any:
    """The ``insert`` of the session's dialect, which has ``on_conflict_do_update``."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise RuntimeError(f"bulk upsert is not implemented for {name}")


def _batches(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
