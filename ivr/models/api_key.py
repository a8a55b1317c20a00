"""API keys of the systems that use the REST API (the shop, other channels)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ivr.db import Base
from ivr.models._types import UTCDateTime, utcnow


class ApiKey(Base):
    """One client's key; only its SHA-256 is stored, the key itself is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The APIs this key may use, space-separated names from ``ivr.apikeys.SCOPES``.
    scopes: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked: Mapped[bool] = mapped_column(default=False)

    @property
    def scope_names(self) -> tuple[str, ...]:
        """The scopes as a tuple."""
        return tuple(self.scopes.split())
