"""Agent presence: the states an agent chooses and the log utilisation is computed from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ivr.desk.models import ACTIVITIES, AgentActivity, User
from ivr.models._types import utcnow

#: What an agent may choose on the console; offered and busy are set by routing.
CHOOSABLE = ("available", "break", "offline")
MAX_REASON = 100


class PresenceError(Exception):
    """A presence change that is not allowed (message is for the agent)."""


def set_activity(
    session: Session, user: User, activity: str, reason: str | None = None, now: datetime | None = None
) -> None:
    """Move an agent to ``activity`` and log the change (nothing is logged if it is unchanged)."""
    if activity not in ACTIVITIES:
        raise PresenceError(f"unknown state '{activity}'")
    if user.disabled and activity != "offline":
        raise PresenceError("A disabled user cannot go on duty.")
    reason = (reason or "").strip()[:MAX_REASON] or None
    if activity != "break":
        reason = None
    if user.activity == activity and user.activity_reason == reason:
        return
    when = now or utcnow()
    user.activity, user.activity_reason, user.activity_since = activity, reason, when
    session.add(AgentActivity(user_id=user.id, activity=activity, reason=reason, at=when))


def choose_activity(session: Session, user: User, activity: str, reason: str | None = None) -> None:
    """An agent's own choice on the console: available, break (with a reason) or offline."""
    if activity not in CHOOSABLE:
        raise PresenceError(f"'{activity}' cannot be chosen; routing sets it")
    if user.activity in ("offered", "busy") and activity != "offline":
        raise PresenceError("Finish the current call first.")
    set_activity(session, user, activity, reason)
