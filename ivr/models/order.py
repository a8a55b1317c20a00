"""Orders as the shop reports them, and the per-phone count of failed verifications."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
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
    """Failed order verifications of one phone number on one (UTC) day, against guessing."""

    __tablename__ = "order_verification_failures"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
