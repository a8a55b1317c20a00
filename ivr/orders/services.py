"""The services order nodes use: the configured order source and the guessing guard."""

from __future__ import annotations

import json
import os
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.models import OrderVerificationFailure
from ivr.orders.http_source import HttpOrderSource
from ivr.orders.importer import dialect_insert
from ivr.orders.source import DatabaseOrderSource, OrderSource
from ivr.services import Services


def setting(config: dict[str, Any], name: str, default: Any = None) -> Any:
    """An orders setting from the app config, else from the ``IVR_<NAME>`` environment variable."""
    value = config.get(name)
    if value is None:
        value = os.environ.get(f"IVR_{name}")
    return default if value in (None, "") else value


def _mapping(value: Any) -> dict[str, str]:
    """A mapping given as a dict (app config) or as JSON text (environment)."""
    return dict(json.loads(value) if isinstance(value, str) else value or {})


def build_source(services: Services) -> OrderSource:
    """The order source the configuration asks for: ``database`` (default) or ``http``."""
    config = services.config
    if setting(config, "ORDERS_SOURCE", "database") == "http":
        return HttpOrderSource(
            url=setting(config, "ORDERS_HTTP_URL"),
            phone_url=setting(config, "ORDERS_HTTP_PHONE_URL"),
            headers=_mapping(setting(config, "ORDERS_HTTP_HEADERS")),
            fields=_mapping(setting(config, "ORDERS_HTTP_FIELDS")),
            timeout=float(setting(config, "ORDERS_HTTP_TIMEOUT", 2.0)),
        )
    return DatabaseOrderSource(services.session)


class GuessGuard:
    """Counts failed order verifications per phone and day, shared by all calls and workers."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def failures(self, phone: str, day: date) -> int:
        """Failed verifications of ``phone`` on ``day``."""
        return (
            self.session.scalar(
                select(OrderVerificationFailure.failures).where(
                    OrderVerificationFailure.phone == phone, OrderVerificationFailure.day == day
                )
            )
            or 0
        )

    def record_failure(self, phone: str, day: date) -> int:
        """Count one more failure (atomically, workers may race) and return the day's total."""
        row = OrderVerificationFailure
        insert = dialect_insert(self.session)(row).values(phone=phone, day=day, failures=1)
        stmt = insert.on_conflict_do_update(
            index_elements=["phone", "day"], set_={"failures": row.failures + 1}
        ).returning(row.failures)
        return int(self.session.execute(stmt).scalar_one())


def build_guard(services: Services) -> GuessGuard:
    """The guessing guard on the webhook's session."""
    return GuessGuard(services.session)
