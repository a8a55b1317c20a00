"""The callback request: one caller's wish to be called back, and its way through the queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ivr.db import Base
from ivr.models._types import JSONType, UTCDateTime, utcnow

QUEUED, CLAIMED, DIALING, CONNECTED = "queued", "claimed", "dialing", "connected"
COMPLETED, NO_ANSWER, FAILED, CANCELLED = "completed", "no_answer", "failed", "cancelled"
STATES = (QUEUED, CLAIMED, DIALING, CONNECTED, COMPLETED, NO_ANSWER, FAILED, CANCELLED)
#: States in which a request still waits to be dialled; one such request per phone number.
OPEN = (QUEUED, CLAIMED, DIALING)
WINDOWS = ("asap", "morning", "afternoon")


class CallbackRequest(Base):
    """A request to be called back, deduplicated per phone number while open."""

    __tablename__ = "callback_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(20), default=QUEUED)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(20), default="api")
    reason: Mapped[str | None] = mapped_column(String(200))
    intent: Mapped[str | None] = mapped_column(String(40))
    transcript: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(5), default="de")
    window: Mapped[str] = mapped_column(String(12), default="asap")
    #: The opening hours promised to the caller (a Schedule as JSON); None = any time.
    hours: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    queue: Mapped[str | None] = mapped_column(String(50))
    #: The inbound call that asked for it (its history gets the outcome too).
    call_sid: Mapped[str | None] = mapped_column(String(64))
    #: The caller's place: when they first joined (the queue time when offered in a queue).
    position_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Attempts that count against the limit (failures of our side are given back).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Attempt numbers handed out, never decreasing: status callbacks carry one to tell attempts apart.
    dials: Mapped[int] = mapped_column(Integer, default=0)
    #: How often the same caller asked again while this request was open.
    updates: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    #: The outbound interaction (customer history entry) of the current attempt.
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"))
    #: The CallSid of the current attempt's agent leg.
    dial_sid: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)


Index(
    "uq_callback_requests_open_phone",
    CallbackRequest.phone,
    unique=True,
    sqlite_where=CallbackRequest.status.in_(OPEN),
    postgresql_where=CallbackRequest.status.in_(OPEN),
)
Index("ix_callback_requests_due", CallbackRequest.status, CallbackRequest.next_attempt_at)
Index("ix_callback_requests_dial_sid", CallbackRequest.dial_sid)


class CallbackSubmission(Base):
    """Every request made (accepted or refused), for the per-number, per-caller and global limits."""

    __tablename__ = "callback_submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The number to call back.
    phone: Mapped[str] = mapped_column(String(20))
    #: Who asked, on a call: the caller's number or ``withheld``; None for the API, CLI and agents.
    caller: Mapped[str | None] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    outcome: Mapped[str] = mapped_column(String(20))


Index("ix_callback_submissions_phone_at", CallbackSubmission.phone, CallbackSubmission.at)
Index("ix_callback_submissions_at", CallbackSubmission.at)
Index("ix_callback_submissions_caller_at", CallbackSubmission.caller, CallbackSubmission.at)
