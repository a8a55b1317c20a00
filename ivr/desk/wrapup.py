"""Wrap-up: the agent's disposition and note go into the customer history (FCR is computed from it)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ivr.customers.outbox import add_disposition
from ivr.desk.models import Task, User
from ivr.desk.presence import set_activity
from ivr.flows.steps import Event
from ivr.history import log_events
from ivr.models import Interaction

DEFAULT_DISPOSITIONS = ("resolved", "follow_up", "transferred", "callback_arranged", "not_resolved")
MAX_NOTE = 2000


class WrapupError(Exception):
    """A wrap-up that cannot be recorded (message is for the agent)."""


def dispositions(config: Mapping[str, Any]) -> tuple[str, ...]:
    """The configured dispositions (``IVR_DESK_DISPOSITIONS``, comma-separated)."""
    raw = config.get("DESK_DISPOSITIONS") or os.environ.get("IVR_DESK_DISPOSITIONS")
    if not raw:
        return DEFAULT_DISPOSITIONS
    return tuple(d.strip() for d in str(raw).split(",") if d.strip())


def record_wrapup(
    session: Session,
    user: User,
    task: Task,
    disposition: str,
    note: str,
    allowed: tuple[str, ...],
    now: datetime,
) -> None:
    """Write the disposition and note into the call's history; a wrapping-up agent is free again."""
    if disposition not in allowed:
        raise WrapupError("Choose one of the listed outcomes.")
    if task.offered_to != user.id or task.status not in ("connected", "completed"):
        raise WrapupError("This call is not yours to wrap up.")
    if task.context.get("disposition"):
        raise WrapupError("This call has been wrapped up already.")
    task.context = {**task.context, "disposition": disposition}
    interaction = session.get(Interaction, task.interaction_id) if task.interaction_id else None
    if interaction is not None:
        data = {
            "agent": user.name,
            "agent_id": user.id,
            "disposition": disposition,
            "note": note.strip()[:MAX_NOTE],
        }
        log_events(session, interaction, [Event("wrapup", data)])
        add_disposition(session, interaction.id, disposition)
    if user.activity == "wrapup":
        set_activity(session, user, "available", now=now)
        user.activity_until = None
