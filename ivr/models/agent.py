"""An agent who takes callbacks on their own phone."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ivr.db import Base
from ivr.models._types import UTCDateTime, utcnow


class Agent(Base):
    """A person the dialer calls first, before bridging the customer."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    #: Phone number, SIP address, or ``client:agent-<id>`` (a desk user's browser softphone).
    phone: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    #: The console user this profile belongs to: their account is the one source of truth
    #: (name, device, disabled) and their presence decides whether the dialer rings them.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    #: The callback request the agent is on; set and cleared atomically by the dialer.
    busy_request_id: Mapped[int | None] = mapped_column(Integer)
    busy_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_call_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
