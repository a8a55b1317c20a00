"""The services order nodes use: the configured order source and the guessing guard."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from ivr.db import DriverStatement, lock_names
from ivr.models import OrderVerificationFailure
from ivr.orders.http_source import HttpOrderSource
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


#: Failed verifications count for this long (a rolling window, not calendar days).
WINDOW = timedelta(hours=24)


def _failures_since(which: ColumnElement[bool]) -> DriverStatement:
    """Count failures matching ``which`` after ``:since``: built once, run on the driver (every
    order lookup asks; SQLAlchemy's execution layer cost more CPU than the query)."""
    return DriverStatement(
        select(func.count()).where(which, OrderVerificationFailure.at > bindparam("since"))
    )


_CALLER_FAILURES = _failures_since(OrderVerificationFailure.caller == bindparam("key"))
_ORDER_FAILURES = _failures_since(OrderVerificationFailure.order_number == bindparam("key"))


class GuessGuard:
    """Failed order verifications per caller and per order number, shared by all calls and workers."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def lock(self, caller: str, order_number: str) -> None:
        """Serialise verifications of this caller and order number until the transaction ends.

        Two simultaneous guesses must not both be checked against the same count; the caller is
        always locked first.
        """
        lock_names(self.session, f"order-caller:{caller}", f"order-number:{order_number}")

    def caller_failures(self, caller: str, now: datetime) -> int:
        """Failed verifications of ``caller`` (a number or ``withheld``) in the last 24 hours."""
        return self._count(_CALLER_FAILURES, caller, now)

    def order_failures(self, order_number: str, now: datetime) -> int:
        """Failed verifications of ``order_number``, by any caller, in the last 24 hours."""
        return self._count(_ORDER_FAILURES, order_number, now)

    def record_failure(self, caller: str, order_number: str, now: datetime) -> None:
        """Count one failed verification (and drop the caller's failures that no longer count)."""
        row = OrderVerificationFailure
        self.session.execute(delete(row).where(row.caller == caller, row.at <= now - WINDOW))
        self.session.execute(insert(row).values(caller=caller, order_number=order_number, at=now))

    def _count(self, query: DriverStatement, key: str, now: datetime) -> int:
        row = query.first(self.session, {"key": key, "since": now - WINDOW})
        return int(row[0]) if row else 0


def build_guard(services: Services) -> GuessGuard:
    """The guessing guard on the webhook's session."""
    return GuessGuard(services.session)
