"""A customer: the person behind calls, e-mails and orders."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ivr.db import Base
from ivr.models._types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from ivr.models.interaction import Interaction


class Customer(Base):
    """A customer, identified by an E.164 phone number when known."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    interactions: Mapped[list[Interaction]] = relationship(
        back_populates="customer", order_by="Interaction.started_at.desc()"
    )
