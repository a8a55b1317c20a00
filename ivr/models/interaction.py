"""Interactions (a call, an e-mail, a chat) and their ordered event log."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ivr.db import Base
from ivr.models._types import JSONType, UTCDateTime, utcnow

if TYPE_CHECKING:
    from ivr.models.customer import Customer


class Interaction(Base):
    """One contact with a customer on any channel; a call is one, keyed by its CallSid."""

    __tablename__ = "interactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20), default="voice")
    call_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    direction: Mapped[str] = mapped_column(String(20), default="inbound")
    from_number: Mapped[str | None] = mapped_column(String(32))
    to_number: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default="in-progress")
    duration: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(30))
    intent: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str | None] = mapped_column(String(5))

    customer: Mapped[Customer | None] = relationship(back_populates="interactions")
    events: Mapped[list[InteractionEvent]] = relationship(
        back_populates="interaction", order_by="InteractionEvent.seq"
    )


class InteractionEvent(Base):
    """One entry in an interaction's log: a node entered, an input, a routing decision."""

    __tablename__ = "interaction_events"
    __table_args__ = (UniqueConstraint("interaction_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    interaction: Mapped[Interaction] = relationship(back_populates="events")


Index("ix_interaction_events_kind", InteractionEvent.kind)
