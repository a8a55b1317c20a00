"""A customer: the person behind calls, e-mails and orders."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ivr.db import Base
from ivr.models._types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from ivr.models.interaction import Interaction


class Customer(Base):
    """A customer, matched by E.164 phone number and by e-mail address (stored lower-case)."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    interactions: Mapped[list[Interaction]] = relationship(
        back_populates="customer", order_by="Interaction.started_at.desc()"
    )


class CustomerMerge(Base):
    """That one customer record was merged into another: ids only, no personal data."""

    __tablename__ = "customer_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The record that was merged away (deleted, so no foreign key).
    merged_id: Mapped[int] = mapped_column(Integer, index=True)
    into_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    #: Who merged: ``user:<id>``, ``api:<key name>`` or ``cli``.
    merged_by: Mapped[str] = mapped_column(String(120))
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
