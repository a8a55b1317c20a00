"""Where personal free text and recordings live apart, consent, the audit trail and erasures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ivr.db import Base
from ivr.models._types import JSONType, UTCDateTime, utcnow


class Transcript(Base):
    """What a caller said (or a free text they gave), kept apart with its own retention."""

    __tablename__ = "transcripts"

    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"), index=True)
    call_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    node: Mapped[str | None] = mapped_column(String(100))
    #: What the text is: the caller's speech, or a free-text field of an event.
    source: Mapped[str] = mapped_column(String(30), default="speech")
    text: Mapped[str] = mapped_column(Text)
    confidence: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class Recording(Base):
    """A recording Twilio holds for us (voicemail, consented conversation); deleted there too."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"), index=True)
    call_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    #: ``voicemail`` or ``conversation`` (the retention kinds).
    kind: Mapped[str] = mapped_column(String(20))
    #: Twilio's RecordingSid (``RE…``), by which it is deleted through the REST API.
    recording_sid: Mapped[str | None] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(String(500))
    duration: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class Consent(Base):
    """A caller's answer to the recording question, with the flow version that asked."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"), index=True)
    call_sid: Mapped[str | None] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(20), default="recording")
    granted: Mapped[bool] = mapped_column()
    #: ``key``, ``speech``, ``internal_line`` (policy "always") or ``no_answer``.
    method: Mapped[str] = mapped_column(String(20))
    flow: Mapped[str] = mapped_column(String(100))
    flow_version: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AuditEntry(Base):
    """Who (a console user or an API key) read, exported or erased whose data."""

    __tablename__ = "privacy_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    #: ``user:<id>``, ``api_key:<name>`` or ``cli``.
    actor: Mapped[str] = mapped_column(String(150))
    #: ``read``, ``export`` or ``erase``.
    action: Mapped[str] = mapped_column(String(20))
    #: The customer's id (no FK: the entry outlives an erasure of the customer).
    customer_id: Mapped[int | None] = mapped_column(Integer, index=True)
    what: Mapped[str] = mapped_column(String(100), default="")


class Erasure(Base):
    """That a person was erased (Art. 17), without who: a keyed hash and the counts only."""

    __tablename__ = "erasures"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    requested_by: Mapped[str] = mapped_column(String(150))
    #: HMAC of the identifier asked for: repeated requests are recognised, the person is not named.
    subject_hash: Mapped[str] = mapped_column(String(64), index=True)
    #: Rows erased or anonymised, per table.
    counts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    #: Calls that were live at the time: finished by the next purge once they have ended.
    pending_call_sids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    #: Twilio recordings still to delete there (retried by the purge until Twilio confirms).
    pending_recording_sids: Mapped[list[str]] = mapped_column(JSONType, default=list)


Index("ix_recordings_sid", Recording.recording_sid)
