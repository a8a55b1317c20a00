"""Orders as the shop reports them, and the failed verifications counted against guessing."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ivr.db import Base
from ivr.models._types import UTCDateTime, utcnow

#: Every status a shop may report; the IVR words each one.
ORDER_STATUSES = (
    "pending_payment",
    "processing",
    "shipped",
    "out_for_delivery",
    "delivered",
    "delayed",
    "cancelled",
    "returned",
    "refunded",
)
#: Orders a caller most likely calls about (offered directly when the caller ID matches).
OPEN_STATUSES = ("pending_payment", "processing", "shipped", "out_for_delivery", "delayed")


class Order(Base):
    """One shop order; upserted by order number from CSV imports or the REST API."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_number: Mapped[str] = mapped_column(String(20), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    customer_name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(320))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    carrier: Mapped[str | None] = mapped_column(String(50))
    tracking_number: Mapped[str | None] = mapped_column(String(50))
    ordered_at: Mapped[date | None] = mapped_column(Date)
    shipped_at: Mapped[date | None] = mapped_column(Date)
    expected_delivery: Mapped[date | None] = mapped_column(Date)
    delivered_at: Mapped[date | None] = mapped_column(Date)
    items: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


# Caller-ID lookups ask for a phone's newest orders.
Index("ix_orders_phone_ordered_at", Order.phone, Order.ordered_at)


class OrderVerificationFailure(Base):
    """One failed order verification: counted per caller and per order number over a rolling 24 h."""

    __tablename__ = "order_verification_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The caller's E.164 number, or ``withheld`` for every caller without a usable caller ID.
    caller: Mapped[str] = mapped_column(String(20))
    #: The order number the caller tried (also one that does not exist: failures count alike).
    order_number: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


_failure = OrderVerificationFailure
Index("ix_order_verification_failures_caller_at", _failure.caller, _failure.at)
Index("ix_order_verification_failures_order_at", _failure.order_number, _failure.at)
