"""The ``routing`` service flow nodes use: put the caller in a queue, take them out again."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import bindparam, func, select

from ivr.db import DriverStatement, after_commit, session_factory
from ivr.desk import routing, telephony
from ivr.desk.settings import DeskSettings
from ivr.models import Interaction
from ivr.services import Services

#: Call variables an agent sees with an offered call (nothing the caller was not asked for).
CONTEXT_KEYS = ("intent", "intent_text", "intent_confidence", "order_number", "callback_request_id")
# Built once and run on the driver: every caller who joins a queue asks.
_EARLIER_CONTACTS = DriverStatement(
    select(func.count())
    .select_from(Interaction)
    .where(
        Interaction.customer_id == bindparam("customer_id"),
        Interaction.id != bindparam("interaction_id"),
        Interaction.started_at >= bindparam("since"),
    )
)


class RoutingService:
    """Queue operations for one webhook; routing runs once the webhook's work is committed."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = DeskSettings.from_config(services.config)

    def enqueue(self, queue: str, language: str, priority: int, variables: dict[str, Any]) -> None:
        """The caller waits in ``queue``; urgent intents and repeat callers go first."""
        if self.services.test:  # a console test call rings no agent; the tester picks the result
            return
        session, now = self.services.session, self.services.config["CLOCK"]()
        interaction = self.services.call_interaction()
        if variables.get("intent") in self.settings.urgent_intents:
            priority += 1
        if interaction is not None and self._called_before(interaction, now - self.settings.repeat_window):
            priority += 1
        context = {k: variables[k] for k in CONTEXT_KEYS if variables.get(k) is not None}
        routing.enqueue(
            session,
            self.services.call_sid,
            queue,
            language,
            now,
            priority=priority,
            interaction_id=interaction.id if interaction else None,
            context=context,
        )
        # Nobody to offer the caller to: no routing pass (a transaction of its own); the routing
        # worker's next pass handles what else a pass does (lost offers).
        if routing.may_offer(session, now):
            self._dispatch_after_commit()

    def leave(self, reason: str) -> None:
        """The caller left the queue (hung up, or the queue gave up)."""
        session = self.services.session
        release = routing.leave(session, self.services.call_sid, reason, self.services.config["CLOCK"]())
        if release is not None:
            config = self.services.config
            after_commit(session, lambda: telephony.release_agent(telephony.rest_client(config), release))
            self._dispatch_after_commit()

    def _called_before(self, interaction: Interaction, since: Any) -> bool:
        if interaction.customer_id is None:
            return False
        params = {"customer_id": interaction.customer_id, "interaction_id": interaction.id, "since": since}
        row = _EARLIER_CONTACTS.first(self.services.session, params)
        return bool(row and row[0])

    def _dispatch_after_commit(self) -> None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        config = self.services.config
        after_commit(self.services.session, lambda: run_dispatch(app, config))


def run_dispatch(app: Any, config: Any) -> None:
    """Route after a commit; a failure is logged, never sent to the caller."""
    try:
        telephony.dispatch(session_factory(app), config, config["CLOCK"]())
    except Exception:  # noqa: BLE001 - the routing worker retries on its next pass
        app.logger.exception("routing pass failed")


def build_routing(services: Services) -> RoutingService:
    """Factory for ``ctx.services.get("routing")``."""
    return RoutingService(services)
