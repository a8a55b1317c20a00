"""Following an attempt through Twilio's callbacks: agent answered, customer answered, call over."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from callbacks.claiming import free_agent
from callbacks.models import COMPLETED, CONNECTED, DIALING, FAILED, NO_ANSWER, QUEUED, CallbackRequest
from callbacks.policy import next_attempt_after_failure, schedule_of
from ivr.flows.steps import Event
from ivr.history import log_events
from ivr.models import Interaction

FINAL_CALL_STATUSES = {"completed", "busy", "no-answer", "failed", "canceled"}
#: An agent who did not pick up gets the request again after this long (not the caller's fault).
AGENT_MISSED_DELAY = timedelta(minutes=1)


def current_attempt(session: Session, request_id: int | None, attempt: int | None) -> CallbackRequest | None:
    """The request if ``attempt`` is its current dial; None for unknown or stale callbacks."""
    if request_id is None or attempt is None:
        return None
    request = session.get(CallbackRequest, request_id, with_for_update=True)
    if request is None or request.dials != attempt:
        return None
    return request


def agent_answered(
    session: Session, request_id: int | None, attempt: int | None, now: datetime, lease: timedelta
) -> CallbackRequest | None:
    """The agent picked up: the request to brief them on, or None if it is no longer theirs."""
    request = current_attempt(session, request_id, attempt)
    if request is None or request.status != DIALING:
        return None
    request.lease_until = now + lease  # ringing the customer may take a while
    _log(session, request, "callback_agent_answered")
    return request


def customer_answered(session: Session, request_id: int | None, attempt: int | None) -> bool:
    """The customer picked up: the callback is connected (and no longer dialable)."""
    request = current_attempt(session, request_id, attempt)
    if request is None or request.status != DIALING:
        return False
    request.status, request.outcome = CONNECTED, "connected"
    request.claimed_by = request.lease_until = None
    _log(session, request, "callback_connected")
    session.flush()
    return True


def customer_dial_result(
    session: Session, request_id: int | None, attempt: int | None, dial_status: str, now: datetime
) -> CallbackRequest | None:
    """How the <Dial> to the customer ended; a miss is retried within opening hours."""
    request = current_attempt(session, request_id, attempt)
    if request is None or request.status not in (DIALING, CONNECTED):
        return None
    _log(session, request, "callback_customer", result=dial_status)
    if dial_status in ("completed", "answered"):
        request.status, request.outcome = CONNECTED, "connected"
        request.claimed_by = request.lease_until = None
    elif request.status == DIALING:
        _attempt_failed(request, NO_ANSWER if dial_status in ("no-answer", "busy") else FAILED, now)
    session.flush()
    return request


def _attempt_failed(request: CallbackRequest, final: str, now: datetime) -> None:
    """Back to the queue after a backoff inside opening hours, or give up after the last try."""
    retry_at = next_attempt_after_failure(now, request.attempts, request.window, schedule_of(request.hours))
    request.claimed_by = request.lease_until = None
    if retry_at is None:
        request.status, request.outcome = final, final
    else:
        request.status, request.next_attempt_at = QUEUED, retry_at
        request.outcome = f"retry_{final}"


def agent_call_ended(
    session: Session,
    request_id: int | None,
    attempt: int | None,
    call_sid: str | None,
    status: str,
    duration: int | None,
    now: datetime,
) -> str:
    """The agent leg's final status; returns what it meant (for logs): done, requeued, stale, ..."""
    if status not in FINAL_CALL_STATUSES:
        return "progress"
    request = current_attempt(session, request_id, attempt)
    if request is None:
        return "unknown"
    interaction = session.get(Interaction, request.interaction_id) if request.interaction_id else None
    if interaction is not None and interaction.ended_at is not None:
        return "duplicate"
    free_agent(session, request, now)
    if interaction is not None:
        interaction.call_sid = interaction.call_sid or call_sid
        interaction.status, interaction.duration, interaction.ended_at = status, duration, now
        interaction.outcome = "callback" if request.status in (CONNECTED, COMPLETED) else "callback_missed"
        log_events(session, interaction, [Event("status", {"status": status, "duration": duration})])
    meaning = "done"
    if request.status == CONNECTED:
        request.status = COMPLETED
    elif request.status == DIALING:
        # The customer was never dialled (the agent did not answer or hung up first): the caller
        # keeps the attempt, another agent tries shortly.
        request.status, request.attempts = QUEUED, request.attempts - 1
        request.claimed_by = request.lease_until = None
        request.next_attempt_at, request.outcome = now + AGENT_MISSED_DELAY, f"agent_{status}"
        meaning = "requeued"
    session.flush()
    return meaning


def _log(session: Session, request: CallbackRequest, kind: str, **data: Any) -> None:
    interaction = session.get(Interaction, request.interaction_id) if request.interaction_id else None
    if interaction is not None:
        log_events(session, interaction, [Event(kind, {"request_id": request.id, **data})])
