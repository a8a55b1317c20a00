"""Verbs on the queue: request (deduplicated, rate-limited), list, complete, cancel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callbacks.models import (
    CANCELLED,
    CLAIMED,
    COMPLETED,
    CONNECTED,
    OPEN,
    QUEUED,
    CallbackRequest,
    CallbackSubmission,
)
from callbacks.policy import SLA, earliest_call_time, priority_for, schedule_of
from callbacks.settings import Settings
from ivr.db import DriverStatement, lock_names
from ivr.flows.steps import Event
from ivr.history import get_or_create_customer, log_events
from ivr.models import Interaction
from ivr.phone import WITHHELD

RECENT_CONTACTS = timedelta(days=7)
#: Submission outcomes that mean "we will call": the per-caller limits count only these.
ACCEPTED = ("created", "updated")


class CallbackError(Exception):
    """An operation the request's state does not allow (message is shown to the user)."""


class NotFound(CallbackError):
    """The request (or agent) asked for does not exist."""


@dataclass(frozen=True)
class NewRequest:
    """What a caller (or an agent, or the API) asks for."""

    phone: str
    source: str = "api"
    window: str = "asap"
    reason: str | None = None
    intent: str | None = None
    transcript: str | None = None
    language: str = "de"
    hours: dict[str, Any] | None = None
    queue: str | None = None
    call_sid: str | None = None
    position_at: datetime | None = None
    priority: int = 0
    #: Who asks, on a call: the caller's number or ``withheld`` (``ivr.phone.caller_key``).
    caller: str | None = None


@dataclass(frozen=True)
class Submitted:
    """The outcome: created, updated, rate_limited, caller_limited, busy (global limit), no_opening."""

    outcome: str
    request: CallbackRequest | None = None
    call_at: datetime | None = None

    @property
    def accepted(self) -> bool:
        """Whether the caller will be called back."""
        return self.outcome in ACCEPTED


def request_callback(session: Session, new: NewRequest, now: datetime, settings: Settings) -> Submitted:
    """Queue a callback, or update the caller's open request; refuse floods with a clear outcome.

    Three limits over the last hour: requests for one number (any outcome), accepted requests
    from one calling number (or from all withheld callers together), and accepted new requests
    overall, so that nobody can flood strangers or use up the capacity others need.
    """
    hour_ago = now - timedelta(hours=1)
    # Concurrent requests from one caller or for one number are checked one at a time.
    callers = [f"callback-caller:{new.caller}"] if new.caller else []
    lock_names(session, *callers, f"callback-number:{new.phone}")  # caller first, always
    existing = _open_request(session, new.phone)
    if _submissions(session, hour_ago, CallbackSubmission.phone == new.phone) >= settings.per_number_per_hour:
        return _refuse(session, new, now, "rate_limited", existing)
    if new.caller:
        limit = settings.withheld_per_hour if new.caller == WITHHELD else settings.per_caller_per_hour
        from_caller = CallbackSubmission.caller == new.caller
        if _submissions(session, hour_ago, from_caller, CallbackSubmission.outcome.in_(ACCEPTED)) >= limit:
            return _refuse(session, new, now, "caller_limited", existing)
    total = _submissions(session, hour_ago, CallbackSubmission.outcome == "created")
    if total >= settings.global_per_hour and existing is None:
        return _refuse(session, new, now, "busy", None)
    call_at = earliest_call_time(now, new.window, schedule_of(new.hours))
    if call_at is None:
        return _refuse(session, new, now, "no_opening", existing)
    position = min(new.position_at or now, now)
    due = max(call_at, position + SLA)
    if existing is None:
        request = _create(session, new, now, call_at, due, position)
        outcome = "created" if request is not None else "updated"
        existing = request or _open_request(session, new.phone)
    else:
        outcome = "updated"
    assert existing is not None  # the unique index guarantees one of the two
    if outcome == "updated":
        _update(existing, new, call_at, due, position)
    session.add(CallbackSubmission(phone=new.phone, caller=new.caller, at=now, outcome=outcome))
    _log_on_call(
        session,
        new.call_sid,
        "callback_requested",
        request_id=existing.id,
        outcome=outcome,
        window=new.window,
        call_at=call_at.isoformat(),
    )
    session.flush()
    return Submitted(outcome, existing, existing.next_attempt_at)


def _create(
    session: Session, new: NewRequest, now: datetime, call_at: datetime, due: datetime, position: datetime
) -> CallbackRequest | None:
    """Insert the request; None when the same number got an open request concurrently."""
    customer = get_or_create_customer(session, new.phone)
    recent = 0
    if customer is not None:
        recent = (
            session.scalar(
                select(func.count()).where(
                    Interaction.customer_id == customer.id, Interaction.started_at > now - RECENT_CONTACTS
                )
            )
            or 0
        )
    request = CallbackRequest(
        phone=new.phone,
        customer_id=customer.id if customer else None,
        status=QUEUED,
        priority=priority_for(new.priority, new.intent, recent),
        source=new.source,
        reason=new.reason,
        intent=new.intent,
        transcript=new.transcript,
        language=new.language,
        window=new.window,
        hours=new.hours,
        queue=new.queue,
        call_sid=new.call_sid,
        position_at=position,
        requested_at=now,
        due_at=due,
        next_attempt_at=call_at,
        attempts=0,
        dials=0,
        updates=0,
    )
    try:
        with session.begin_nested():
            session.add(request)
    except IntegrityError:
        return None
    return request


def _update(
    request: CallbackRequest, new: NewRequest, call_at: datetime, due: datetime, position: datetime
) -> None:
    """A second request from the same number: newest wishes, best place, highest priority."""
    request.updates += 1
    request.reason = new.reason or request.reason
    request.intent = new.intent or request.intent
    request.transcript = new.transcript or request.transcript
    request.language = new.language
    request.call_sid = new.call_sid or request.call_sid
    request.queue = new.queue or request.queue
    request.priority = max(request.priority, priority_for(new.priority, new.intent, 0))
    request.position_at = min(request.position_at, position)
    if request.status == QUEUED and request.attempts == 0:
        # Not yet tried: the caller may move it; a retry keeps its backoff.
        request.window, request.hours = new.window, new.hours
        request.next_attempt_at = call_at
        request.due_at = min(request.due_at, due) if new.window == "asap" else due


def _refuse(
    session: Session, new: NewRequest, now: datetime, outcome: str, existing: CallbackRequest | None
) -> Submitted:
    session.add(CallbackSubmission(phone=new.phone, caller=new.caller, at=now, outcome=outcome))
    _log_on_call(session, new.call_sid, "callback_refused", reason=outcome)
    session.flush()
    return Submitted(outcome, existing, existing.next_attempt_at if existing else None)


def _submissions(session: Session, since: datetime, *where: ColumnElement[bool]) -> int:
    """How many submissions matching ``where`` were made after ``since``."""
    return session.scalar(select(func.count()).where(CallbackSubmission.at > since, *where)) or 0


def _open_request(session: Session, phone: str) -> CallbackRequest | None:
    return session.scalar(
        select(CallbackRequest)
        .where(CallbackRequest.phone == phone, CallbackRequest.status.in_(OPEN))
        .with_for_update()
    )


def _log_on_call(session: Session, call_sid: str | None, kind: str, **data: Any) -> None:
    """Note the request in the history of the call that made it."""
    if not call_sid:
        return
    interaction = session.scalar(select(Interaction).where(Interaction.call_sid == call_sid))
    if interaction is not None:
        log_events(session, interaction, [Event(kind, data)])


def queue_position(session: Session, request: CallbackRequest) -> int:
    """How many open requests go before this one (1 = next)."""
    ahead = select(func.count()).where(
        CallbackRequest.status.in_(OPEN),
        CallbackRequest.id != request.id,
        (CallbackRequest.priority > request.priority)
        | ((CallbackRequest.priority == request.priority) & (CallbackRequest.due_at < request.due_at)),
    )
    return (session.scalar(ahead) or 0) + 1


def list_queue(
    session: Session, statuses: tuple[str, ...] = OPEN, phone: str | None = None, limit: int = 100
) -> list[CallbackRequest]:
    """Requests in the given states, most urgent first (priority, then due time)."""
    query = select(CallbackRequest).where(CallbackRequest.status.in_(statuses))
    if phone:
        query = query.where(CallbackRequest.phone == phone)
    return list(
        session.scalars(
            query.order_by(CallbackRequest.priority.desc(), CallbackRequest.due_at, CallbackRequest.id).limit(
                limit
            )
        )
    )


def complete_request(session: Session, request_id: int, note: str | None, now: datetime) -> CallbackRequest:
    """An agent finished the callback they took, with an outcome note.

    Only a request an agent has (claimed by hand, or connected by the dialer) can be completed:
    a waiting one has been completed by nobody, and a completed one keeps its first outcome.
    """
    request = _get(session, request_id)
    if request.status == CANCELLED:
        raise CallbackError(f"callback {request_id} was cancelled")
    if request.status == COMPLETED:
        raise CallbackError(f"callback {request_id} was completed already")
    if request.status not in (CLAIMED, CONNECTED) or request.agent_id is None:
        raise CallbackError(f"callback {request_id} is {request.status}; an agent must take it first")
    request.status, request.outcome = COMPLETED, request.outcome or "talked"
    request.note = note or request.note
    request.claimed_by = request.lease_until = None
    session.flush()
    return request


def cancel_request(session: Session, request_id: int, reason: str) -> CallbackRequest:
    """Withdraw a request that is not being dialled right now."""
    request = _get(session, request_id)
    if request.status not in (QUEUED, CLAIMED):
        raise CallbackError(
            f"callback {request_id} is {request.status}; only waiting requests can be cancelled"
        )
    request.status, request.outcome = CANCELLED, reason[:30]
    request.claimed_by = request.lease_until = None
    session.flush()
    return request


# Built once and run on the driver: every caller who reaches an agent asks; most have none.
_OPEN_FOR_PHONE = DriverStatement(
    select(CallbackRequest.id)
    .where(
        CallbackRequest.phone == bindparam("phone"),
        CallbackRequest.status.in_([literal(QUEUED), literal(CLAIMED)]),
    )
    .limit(1)
)


def cancel_open_for_phone(session: Session, phone: str, reason: str) -> list[int]:
    """Cancel the waiting request of a number (the customer reached an agent meanwhile)."""
    if _OPEN_FOR_PHONE.first(session, {"phone": phone}) is None:
        return []
    requests = session.scalars(
        select(CallbackRequest).where(
            CallbackRequest.phone == phone, CallbackRequest.status.in_((QUEUED, CLAIMED))
        )
    ).all()
    for request in requests:
        request.status, request.outcome = CANCELLED, reason[:30]
        request.claimed_by = request.lease_until = None
    return [r.id for r in requests]


def _get(session: Session, request_id: int) -> CallbackRequest:
    request = session.get(CallbackRequest, request_id, with_for_update=True)
    if request is None:
        raise NotFound(f"no callback {request_id}")
    return request


def request_as_dict(request: CallbackRequest) -> dict[str, Any]:
    """A request as JSON-ready data (for the CLI and the agent API)."""

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": request.id,
        "phone": request.phone,
        "status": request.status,
        "priority": request.priority,
        "source": request.source,
        "reason": request.reason,
        "intent": request.intent,
        "transcript": request.transcript,
        "language": request.language,
        "window": request.window,
        "queue": request.queue,
        "position_at": iso(request.position_at),
        "due_at": iso(request.due_at),
        "next_attempt_at": iso(request.next_attempt_at),
        "attempts": request.attempts,
        "updates": request.updates,
        "claimed_by": request.claimed_by,
        "agent_id": request.agent_id,
        "outcome": request.outcome,
        "note": request.note,
    }
