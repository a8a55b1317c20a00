"""What a media stream heard, kept until the call's next step webhook picks it up."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ivr.db import Base
from ivr.models._types import UTCDateTime, utcnow


class HeardSpeech(Base):
    """One utterance recognised from a media stream, keyed by CallSid and listen token."""

    __tablename__ = "heard_speech"
    __table_args__ = (UniqueConstraint("call_sid", "token"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64))
    token: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text, default="")
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    ended_by: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
