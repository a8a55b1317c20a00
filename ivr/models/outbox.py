"""Outbound webhooks waiting to be delivered, and the answers stored for idempotency keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ivr.db import Base
from ivr.models._types import JSONType, UTCDateTime, utcnow


class WebhookDelivery(Base):
    """One event for one configured URL: written with the change, sent by a worker (outbox)."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The event's id, the same for every URL it goes to (receivers deduplicate by it).
    event_id: Mapped[str] = mapped_column(String(40))
    event: Mapped[str] = mapped_column(String(40))
    url: Mapped[str] = mapped_column(String(500))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: When to (re)try; a claimed delivery is pushed ahead by the lease.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Set when the retries are used up.
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(200))


# The worker's question: what is due and neither delivered nor given up?
Index(
    "ix_webhook_deliveries_due",
    WebhookDelivery.delivered_at,
    WebhookDelivery.failed_at,
    WebhookDelivery.due_at,
)


class IdempotencyKey(Base):
    """The answer given to one ``Idempotency-Key`` of one API key, replayed for a repeated request."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("api_key_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    key: Mapped[str] = mapped_column(String(100))
    #: Whose data the stored answer holds (erasure and merges follow it).
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    #: SHA-256 of the request body: the same key with another body is a conflict.
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    response: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
