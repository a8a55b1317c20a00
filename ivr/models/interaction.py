"""Interactions (a call, an e-mail, a chat) and their ordered event log."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ivr.db import Base
from ivr.models._types import JSONType, UTCDateTime, utcnow

if TYPE_CHECKING:
    from ivr.models.customer import Customer

#: Room for a SIP URI (``sip:+4915112345678@shop.sip.twilio.com;transport=tls``).
ADDRESS_LENGTH = 255


class Interaction(Base):
    """One contact with a customer on any channel; a call is one, keyed by its CallSid."""

    __tablename__ = "interactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20), default="voice")
    call_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    direction: Mapped[str] = mapped_column(String(20), default="inbound")
    # E.164 where there is one, else the address as Twilio sent it (SIP URIs, client names).
    from_number: Mapped[str | None] = mapped_column(String(ADDRESS_LENGTH))
    to_number: Mapped[str | None] = mapped_column(String(ADDRESS_LENGTH))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default="in-progress")
    duration: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(30))
    intent: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str | None] = mapped_column(String(5))
    # Other channels (POST /api/interactions): what it was about and the other system's reference.
    subject: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[str | None] = mapped_column(Text)
    external_ref: Mapped[str | None] = mapped_column(String(200))
    #: The highest ``seq`` in the event log; incrementing it locks the row (ivr.history.log_events).
    event_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

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
# A customer's history, newest first, page by page (keyset on started_at, id).
Index("ix_interactions_customer_started", Interaction.customer_id, Interaction.started_at, Interaction.id)
