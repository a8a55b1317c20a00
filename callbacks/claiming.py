"""Claiming due requests exactly once, and taking a claimed request to the dialling state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from callbacks.models import CLAIMED, DIALING, QUEUED, CallbackRequest
from callbacks.queue import NotFound
from ivr.desk.models import AgentActivity, User
from ivr.flows.steps import Event
from ivr.history import log_events
from ivr.models import Interaction, InteractionEvent
from ivr.models._types import utcnow
from ivr.models.agent import Agent

#: When no agent is free, look again after this long.
NO_AGENT_DELAY = timedelta(seconds=30)

CR = CallbackRequest


def _due(now: datetime):  # type: ignore[no-untyped-def]
    """Waiting and due, or claimed by a worker whose lease ran out (it died or hung)."""
    return or_(
        and_(CR.status == QUEUED, CR.next_attempt_at <= now), and_(CR.status == CLAIMED, CR.lease_until < now)
    )


def claim_due(session: Session, worker: str, now: datetime, limit: int, lease: timedelta) -> list[int]:
    """Claim up to ``limit`` due requests for ``worker``, most urgent first; each only once."""
    pick = select(CR.id).where(_due(now)).order_by(CR.priority.desc(), CR.due_at, CR.id).limit(limit)
    values = {"status": CLAIMED, "claimed_by": worker, "lease_until": now + lease}
    if session.get_bind().dialect.name == "postgresql":
        # Concurrent workers skip each other's locked rows instead of queueing behind them.
        picked = pick.with_for_update(skip_locked=True).cte("picked")
        stmt = update(CR).where(CR.id == picked.c.id).values(values)
    else:
        # SQLite serialises writers (BEGIN IMMEDIATE); re-checking the condition in the same
        # statement makes the claim atomic.
        stmt = update(CR).where(CR.id.in_(pick.scalar_subquery()), _due(now)).values(values)
    ids = list(session.scalars(stmt.returning(CR.id), execution_options={"synchronize_session": False}))
    return sorted(ids)


def claim_for_agent(
    session: Session, agent: str | int, now: datetime, lease: timedelta
) -> CallbackRequest | None:
    """Claim the most urgent due request for an agent (name or id) who calls by hand; None if none is due."""
    found = session.scalar(
        select(Agent).where(Agent.id == agent if isinstance(agent, int) else Agent.name == agent)
    )
    if found is None:
        raise NotFound(f"no agent {agent!r}")
    ids = claim_due(session, f"agent:{found.name}", now, 1, lease)
    if not ids:
        return None
    # claim_due updates without syncing the session: load the row as it is now.
    request = session.get(CR, ids[0], populate_existing=True)
    assert request is not None
    request.agent_id = found.id
    session.flush()
    return request


def release_claims(session: Session, worker: str, ids: list[int]) -> int:
    """Give requests back to the queue untouched (worker shutting down, no agent free)."""
    result = session.execute(
        update(CR)
        .where(CR.id.in_(ids), CR.status == CLAIMED, CR.claimed_by == worker)
        .values(status=QUEUED, claimed_by=None, lease_until=None),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class DialPlan:
    """Everything the worker needs to place one attempt's call, after the commit."""

    request_id: int
    #: The request's dial number, carried by the status callback URLs.
    attempt: int
    agent_phone: str
    agent_name: str


def start_attempt(
    session: Session,
    request_id: int,
    worker: str,
    now: datetime,
    dial_lease: timedelta,
    agent_id: int | None = None,
) -> DialPlan | str:
    """Move our claim to ``dialing`` with a reserved agent; else "lost" or "no_agent".

    ``agent_id``: this agent only (a console user who clicked "call now"), not the longest idle.

    Runs once per dial on every worker, so it works in plain statements with RETURNING rather
    than loading and flushing ORM objects: fewer round trips and far less CPU per dial.
    """
    moved = session.execute(
        update(CR)
        .where(CR.id == request_id, CR.status == CLAIMED, CR.claimed_by == worker)
        .values(status=DIALING, attempts=CR.attempts + 1, dials=CR.dials + 1, lease_until=now + dial_lease)
        .returning(CR.dials, CR.customer_id, CR.phone, CR.intent, CR.language, CR.reason),
        execution_options={"synchronize_session": False},
    ).one_or_none()
    if moved is None:  # our lease ran out and another worker has it (or it was cancelled)
        return "lost"
    attempt, customer_id, phone, intent, language, reason = moved
    agent = _reserve_agent(session, request_id, now, agent_id)
    if agent is None:
        session.execute(
            update(CR)
            .where(CR.id == request_id)
            .values(
                status=QUEUED,
                attempts=CR.attempts - 1,
                claimed_by=None,
                lease_until=None,
                next_attempt_at=now + NO_AGENT_DELAY,
            ),
            execution_options={"synchronize_session": False},
        )
        return "no_agent"
    agent_id, agent_phone, agent_name = agent
    interaction = Interaction(
        customer_id=customer_id,
        channel="voice",
        direction="outbound",
        from_number=agent_phone,
        to_number=phone,
        started_at=now,
        status="queued",
        intent=intent,
        language=language,
        event_seq=1,
    )
    session.add(interaction)
    session.flush()
    # A new interaction: its log starts at 1, written directly (saves log_events' counter UPDATE).
    data = {"request_id": request_id, "attempt": attempt, "agent": agent_name, "reason": reason}
    session.add(
        InteractionEvent(
            interaction_id=interaction.id,
            seq=1,
            kind="callback_dial",
            at=now,
            data={k: v for k, v in data.items() if v is not None},
        )
    )
    session.execute(
        update(CR)
        .where(CR.id == request_id)
        .values(agent_id=agent_id, interaction_id=interaction.id, dial_sid=None),
        execution_options={"synchronize_session": False},
    )
    session.flush()
    return DialPlan(request_id, int(attempt), agent_phone, agent_name)


def _reserve_agent(
    session: Session, request_id: int, now: datetime, only: int | None = None
) -> tuple[int, str, str] | None:
    """Atomically take the free agent who has waited longest for a call: (id, phone, name).

    A console user's profile is free only while they are available on the desk (or, for their
    own "call now", not on another call); they are then busy on the desk too, so routing
    offers them no inbound caller.
    """
    on_desk = select(User.id).where(User.activity == "available", User.disabled.is_(False))
    if only is not None:
        on_desk = select(User.id).where(
            User.activity.in_(("available", "break", "offline")), User.disabled.is_(False)
        )
    pick = (
        select(Agent.id)
        .where(
            Agent.active.is_(True),
            Agent.busy_request_id.is_(None),
            or_(Agent.user_id.is_(None), Agent.user_id.in_(on_desk)),
        )
        .order_by(Agent.last_call_at.is_not(None), Agent.last_call_at, Agent.id)
        .limit(1)
    )
    if only is not None:
        pick = pick.where(Agent.id == only)
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    row = session.execute(
        update(Agent)
        .where(Agent.id == pick.scalar_subquery(), Agent.busy_request_id.is_(None))
        .values(busy_request_id=request_id, busy_since=now, last_call_at=now)
        .returning(Agent.id, Agent.phone, Agent.name, Agent.user_id),
        execution_options={"synchronize_session": False},
    ).one_or_none()
    if row is None:
        return None
    if row[3] is not None and not _desk_busy(session, row[3], now, only is not None):
        # Routing offered them a caller meanwhile (its row lock came first): not free after all.
        session.execute(
            update(Agent).where(Agent.id == row[0]).values(busy_request_id=None, busy_since=None),
            execution_options={"synchronize_session": False},
        )
        return None
    return (row[0], row[1], row[2])


#: The desk state reason of a console user on a callback (so the dialer frees only those).
ON_CALLBACK = "callback"


def _desk_busy(session: Session, user_id: int, now: datetime, own_choice: bool) -> bool:
    """Set the console user busy if they are still free; a conditional update, exactly once."""
    free = ("available", "break", "offline") if own_choice else ("available",)
    moved = session.execute(
        update(User)
        .where(User.id == user_id, User.activity.in_(free), User.disabled.is_(False))
        .values(activity="busy", activity_reason=ON_CALLBACK, activity_since=now, activity_until=None),
        execution_options={"synchronize_session": False},
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        return False
    session.add(AgentActivity(user_id=user_id, activity="busy", reason=ON_CALLBACK, at=now))
    return True


def record_dialed(session: Session, request_id: int, attempt: int, call_sid: str) -> None:
    """Remember the agent leg's CallSid (its status callback may already have arrived).

    Two conditional UPDATEs instead of loading both rows, as this runs once per dial. The
    request's row is written (locked) first, in the order the status callbacks lock, so the two
    never deadlock.
    """
    session.execute(
        update(CR)
        .where(CR.id == request_id, CR.dials == attempt, CR.status == DIALING)
        .values(dial_sid=call_sid),
        execution_options={"synchronize_session": False},
    )
    of_attempt = select(CR.interaction_id).where(CR.id == request_id, CR.dials == attempt).scalar_subquery()
    session.execute(
        update(Interaction)
        .where(Interaction.id == of_attempt, Interaction.call_sid.is_(None))
        .values(call_sid=call_sid),
        execution_options={"synchronize_session": False},
    )


def dial_failed(session: Session, request_id: int, attempt: int, error: str, retry_at: datetime) -> None:
    """Twilio did not take the call: undo the attempt and queue the request again."""
    request = session.get(CR, request_id, with_for_update=True)
    if request is None or request.dials != attempt or request.status != DIALING:
        return
    free_agent(session, request)
    request.status, request.attempts = QUEUED, request.attempts - 1
    request.claimed_by = request.lease_until = None
    request.next_attempt_at = retry_at
    interaction = session.get(Interaction, request.interaction_id) if request.interaction_id else None
    if interaction is not None:
        interaction.status, interaction.outcome, interaction.ended_at = "failed", "api_error", retry_at
        log_events(session, interaction, [Event("callback_dial_error", {"error": error[:200]})])
    session.flush()


def free_agent(session: Session, request: CallbackRequest, now: datetime | None = None) -> None:
    """The agent of this request's attempt is free again (on the desk too, if they are a user)."""
    if request.agent_id is None:
        return
    freed = session.execute(
        update(Agent)
        .where(Agent.id == request.agent_id, Agent.busy_request_id == request.id)
        .values(busy_request_id=None, busy_since=None)
        .returning(Agent.user_id),
        execution_options={"synchronize_session": False},
    ).one_or_none()
    if freed is None or freed[0] is None:
        return
    when = now or utcnow()
    back = session.execute(
        update(User)
        .where(User.id == freed[0], User.activity == "busy", User.activity_reason == ON_CALLBACK)
        .values(activity="available", activity_reason=None, activity_since=when),
        execution_options={"synchronize_session": False},
    )
    if back.rowcount == 1:  # type: ignore[attr-defined]
        session.add(AgentActivity(user_id=freed[0], activity="available", at=when))


def stale_dials(session: Session, now: datetime, limit: int = 50) -> list[tuple[int, int, str | None]]:
    """Attempts whose lease ran out without a final status: (request id, attempt, agent CallSid)."""
    rows = session.execute(
        select(CR.id, CR.dials, CR.dial_sid)
        .where(CR.status == DIALING, CR.lease_until < now)
        .order_by(CR.lease_until)
        .limit(limit)
    ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def requeue_lost_dial(session: Session, request_id: int, attempt: int, now: datetime) -> bool:
    """A worker died between marking the attempt and Twilio accepting it: try again."""
    request = session.get(CR, request_id, with_for_update=True)
    if (
        request is None
        or request.status != DIALING
        or request.dials != attempt
        or request.dial_sid is not None
        or request.lease_until is None
        or request.lease_until >= now
    ):
        return False
    free_agent(session, request, now)
    request.status, request.attempts = QUEUED, request.attempts - 1
    request.claimed_by = request.lease_until = None
    request.next_attempt_at = now
    session.flush()
    return True


def extend_lease(session: Session, request_id: int, attempt: int, until: datetime) -> None:
    """Twilio says the attempt's call is still going: keep it from being recovered."""
    session.execute(
        update(CR)
        .where(CR.id == request_id, CR.dials == attempt, CR.status == DIALING)
        .values(lease_until=until),
        execution_options={"synchronize_session": False},
    )
