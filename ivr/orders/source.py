"""Where orders come from: the ``OrderSource`` interface and the database source."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from typing import Protocol, cast

from sqlalchemy import Table, bindparam, literal, select
from sqlalchemy.orm import Session

from ivr.db import DriverStatement
from ivr.models.order import OPEN_STATUSES, Order


class SourceUnavailable(Exception):
    """The order system did not answer in time (or its circuit breaker is open)."""


@dataclass(frozen=True)
class OrderInfo:
    """An order as the IVR needs it, whatever system it came from."""

    order_number: str
    status: str
    phone: str | None = None
    postal_code: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    ordered_at: date | None = None
    shipped_at: date | None = None
    expected_delivery: date | None = None
    delivered_at: date | None = None
    #: What was ordered, as the shop lists it (``1 × Wanderschuhe; 1 × Regenjacke``).
    items: str | None = None
    email: str | None = None


class OrderSource(Protocol):
    """Looks orders up; raises SourceUnavailable rather than stalling a caller."""

    def find(self, order_number: str) -> OrderInfo | None:
        """The order with this number, or None."""
        ...

    def latest_open(self, phone: str) -> OrderInfo | None:
        """The newest open order placed with this E.164 phone number, or None."""
        ...


_ORDERS = cast(Table, Order.__table__)
#: The columns an ``OrderInfo`` has, in its field order.
_INFO = tuple(_ORDERS.c[f.name] for f in fields(OrderInfo))
_OPEN = _ORDERS.c.status.in_([literal(s) for s in sorted(OPEN_STATUSES)])
# Built once and run on the driver (``DriverStatement``): a flow asks on most calls, and
# SQLAlchemy's ORM layer cost more CPU than the query.
_BY_NUMBER = DriverStatement(select(*_INFO).where(_ORDERS.c.order_number == bindparam("order_number")))
_LATEST_OPEN = DriverStatement(
    select(*_INFO)
    .where(_ORDERS.c.phone == bindparam("phone"), _OPEN)
    .order_by(_ORDERS.c.ordered_at.desc(), _ORDERS.c.id.desc())
    .limit(1)
)
_LATEST_DELIVERED = DriverStatement(
    select(*_INFO)
    .where(_ORDERS.c.phone == bindparam("phone"), _ORDERS.c.status == literal("delivered"))
    .order_by(_ORDERS.c.delivered_at.desc(), _ORDERS.c.ordered_at.desc(), _ORDERS.c.id.desc())
    .limit(1)
)


class DatabaseOrderSource:
    """Orders from the ``orders`` table (filled by CSV import or the REST API)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def find(self, order_number: str) -> OrderInfo | None:
        """The order with this number, or None."""
        return _info(_BY_NUMBER.first(self.session, {"order_number": order_number}))

    def latest_open(self, phone: str) -> OrderInfo | None:
        """The newest open order placed with this E.164 phone number, or None."""
        return _info(_LATEST_OPEN.first(self.session, {"phone": phone}))

    def latest_delivered(self, phone: str) -> OrderInfo | None:
        """The most recently delivered order placed with this E.164 phone number, or None."""
        return _info(_LATEST_DELIVERED.first(self.session, {"phone": phone}))


def _info(row: tuple[object, ...] | None) -> OrderInfo | None:
    return OrderInfo(*row) if row is not None else None  # type: ignore[arg-type]


def mask_order_number(number: str | None) -> str:
    """``1004711`` → ``****711``, for logs."""
    if not number:
        return "-"
    return "*" * max(len(number) - 3, 0) + number[-3:] if len(number) > 4 else "*" * len(number)
