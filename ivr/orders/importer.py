"""Validate order records and upsert them in bulk (CSV import and the REST API share this)."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

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
    """A record that cannot be stored; the message says why."""


@dataclass
class ImportReport:
    """What an import did: rows stored, and the bad ones with their line and reason."""

    imported: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the end of the import."""
        return f"{self.imported} rows imported, {len(self.errors)} rows rejected"


def parse_order(raw: Mapping[str, Any], region: str = "DE") -> dict[str, Any]:
    """A validated row for the ``orders`` table from text fields (InvalidOrder if bad)."""
    value = {k: (str(raw[k]).strip() if raw.get(k) is not None else "") for k in CSV_HEADER}
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
    return row


def _parse_date(name: str, text: str) -> date | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        raise InvalidOrder(f"{name} is not an ISO 8601 date: {text[:30]!r}") from None


def upsert_orders(session: Session, rows: Iterable[dict[str, Any]]) -> int:
    """Insert or update orders by order number, linking each to its customer; flushes only."""
    count = 0
    for batch in _batches(rows, BATCH_SIZE):
        # One statement per batch must not touch an order twice (PostgreSQL refuses that).
        unique = list({row["order_number"]: row for row in batch}.values())
        customers = _customer_ids(session, unique)
        now = utcnow()
        for row in unique:
            row["customer_id"] = customers.get(row["phone"])
            row["updated_at"] = now
        insert = dialect_insert(session)(Order.__table__)
        update = {c: insert.excluded[c] for c in unique[0] if c != "order_number"}
        session.execute(insert.on_conflict_do_update(index_elements=["order_number"], set_=update), unique)
        count += len(batch)
    session.flush()
    return count


def _customer_ids(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Customers by phone for these rows, created when new (the shared customer history)."""
    new = {
        r["phone"]: {
            "phone": r["phone"],
            "name": r["customer_name"],
            "email": r["email"],
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


def import_csv(session: Session, stream: IO[str], region: str = "DE") -> ImportReport:
    """Import orders from CSV with the documented header; bad rows are reported, not fatal."""
    report = ImportReport()
    reader = csv.reader(stream)
    header = next(reader, None)
    if header is None or tuple(h.strip().lstrip("\ufeff") for h in header) != CSV_HEADER:
        report.errors.append((1, "the header must be exactly: " + ",".join(CSV_HEADER)))
        return report

    def valid_rows() -> Iterator[dict[str, Any]]:
        for fields in reader:
            line = reader.line_num
            if not any(f.strip() for f in fields):
                continue
            if len(fields) != len(CSV_HEADER):
                report.errors.append((line, f"expected {len(CSV_HEADER)} fields, found {len(fields)}"))
                continue
            try:
                yield parse_order(dict(zip(CSV_HEADER, fields, strict=True)), region)
            except InvalidOrder as exc:
                report.errors.append((line, str(exc)))

    report.imported = upsert_orders(session, valid_rows())
    return report
