"""Where orders come from: the ``OrderSource`` interface and the database source."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

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


# Built once: building a statement and its cache key costs more CPU than running it.
_BY_NUMBER = select(Order).where(Order.order_number == bindparam("order_number"))
_LATEST_OPEN = (
    select(Order)
    .where(Order.phone == bindparam("phone"), Order.status.in_(OPEN_STATUSES))
    .order_by(Order.ordered_at.desc(), Order.id.desc())
    .limit(1)
)
_LATEST_DELIVERED = (
    select(Order)
    .where(Order.phone == bindparam("phone"), Order.status == "delivered")
    .order_by(Order.delivered_at.desc(), Order.ordered_at.desc(), Order.id.desc())
    .limit(1)
)


class DatabaseOrderSource:
    """Orders from the ``orders`` table (filled by CSV import or the REST API)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def find(self, order_number: str) -> OrderInfo | None:
        """The order with this number, or None."""
        order = self.session.scalar(_BY_NUMBER, {"order_number": order_number})
        return info_of(order) if order is not None else None

    def latest_open(self, phone: str) -> OrderInfo | None:
        """The newest open order placed with this E.164 phone number, or None."""
        order = self.session.scalar(_LATEST_OPEN, {"phone": phone})
        return info_of(order) if order is not None else None

    def latest_delivered(self, phone: str) -> OrderInfo | None:
        """The most recently delivered order placed with this E.164 phone number, or None."""
        order = self.session.scalar(_LATEST_DELIVERED, {"phone": phone})
        return info_of(order) if order is not None else None


def info_of(order: Order) -> OrderInfo:
    """The IVR's view of a stored order."""
    return OrderInfo(
        order_number=order.order_number,
        status=order.status,
        phone=order.phone,
        postal_code=order.postal_code,
        carrier=order.carrier,
        tracking_number=order.tracking_number,
        ordered_at=order.ordered_at,
        shipped_at=order.shipped_at,
        expected_delivery=order.expected_delivery,
        delivered_at=order.delivered_at,
        items=order.items,
        email=order.email,
    )


def mask_order_number(number: str | None) -> str:
    """``1004711`` → ``****711``, for logs."""
    if not number:
        return "-"
    return "*" * max(len(number) - 3, 0) + number[-3:] if len(number) > 4 else "*" * len(number)
