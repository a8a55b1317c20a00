"""The live state of a call: where it is in its flow and what it collected."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ivr.db import Base
from ivr.models._types import JSONType, UTCDateTime, utcnow

if TYPE_CHECKING:
    from ivr.models.flow import FlowVersion
    from ivr.models.interaction import Interaction


class Call(Base):
    """Per-call flow state, so any worker on any machine can answer the next webhook."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id"))
    flow_version_id: Mapped[int] = mapped_column(ForeignKey("flow_versions.id"))
    node: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(5))
    variables: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    counters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    step: Mapped[int] = mapped_column(Integer, default=0)
    last_response: Mapped[str] = mapped_column(Text, default="")
    finished: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    interaction: Mapped[Interaction] = relationship()
    flow_version: Mapped[FlowVersion] = relationship()
