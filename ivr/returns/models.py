"""Returns registered by phone or reported by the shop, and their deliveries (label, shop webhook)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ivr.db import Base
from ivr.models._types import JSONType, UTCDateTime, utcnow

REGISTERED, LABEL_SENT, RECEIVED, REFUNDED = "registered", "label_sent", "received", "refunded"
STATES = (REGISTERED, LABEL_SENT, RECEIVED, REFUNDED)
#: Returns still on their way to a refund: said first in a caller's call (ivr/returns/notice.py).
IN_PROGRESS = (REGISTERED, LABEL_SENT, RECEIVED)
REASONS = ("wrong_size", "dislike", "damaged", "defective", "other")

#: Delivery kinds: the shop's webhook, the label by SMS, the label by e-mail.
SHOP, SMS, EMAIL = "shop", "sms", "email"
PENDING, SENT, FAILED = "pending", "sent", "failed"


class ReturnRequest(Base):
    """One return: which order, which items, why, and how far it got."""

    __tablename__ = "returns"

    id: Mapped[int] = mapped_column(primary_key=True)
    return_number: Mapped[str] = mapped_column(String(20), unique=True)
    order_number: Mapped[str] = mapped_column(String(20), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    #: The call that registered it (its history gets every delivery attempt); None from the API.
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"))
    items: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    reason: Mapped[str] = mapped_column(String(20), default="other")
    state: Mapped[str] = mapped_column(String(20), default=REGISTERED)
    #: ``phone`` or ``api``.
    source: Mapped[str] = mapped_column(String(10), default="phone")
    #: How the label goes out: ``sms``, ``email``, or None (an agent or the shop sends it).
    label_via: Mapped[str | None] = mapped_column(String(10))
    #: The unguessable part of the label link (no personal data in URLs).
    label_token: Mapped[str | None] = mapped_column(String(40), unique=True)
    language: Mapped[str] = mapped_column(String(5), default="de")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    label_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_on: Mapped[date | None] = mapped_column(Date)
    refunded_on: Mapped[date | None] = mapped_column(Date)


class ReturnDelivery(Base):
    """One message about a return still to send (an outbox row), retried with backoff by the worker."""

    __tablename__ = "return_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Due time; while a worker sends, a lease in the future (a crashed worker's claim expires).
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


Index("ix_return_deliveries_due", ReturnDelivery.state, ReturnDelivery.next_attempt_at)


class ContactConsent(Base):
    """A customer's opt-in to a kind of outbound message, with where and when it was given."""

    __tablename__ = "contact_consents"
    __table_args__ = (UniqueConstraint("phone", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    #: ``delay_notices``: SMS when an order is late.
    purpose: Mapped[str] = mapped_column(String(30))
    #: Where the customer opted in (``checkout``, ``customer_account``, ``hotline``, ...).
    source: Mapped[str] = mapped_column(String(40))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DelayNotice(Base):
    """An SMS telling a customer their order is late: at most one per order and (Berlin) day."""

    __tablename__ = "delay_notices"
    __table_args__ = (UniqueConstraint("order_number", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_number: Mapped[str] = mapped_column(String(20))
    day: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


Index("ix_delay_notices_due", DelayNotice.state, DelayNotice.next_attempt_at)
