"""Routing (ACD): callers wait as tasks; each is offered to one matching agent at a time.

The decision is made in SQL and exactly once: a task moves ``waiting → offered`` and an agent
``available → offered`` only by conditional updates, so two routers (threads, processes or
machines) can never offer one caller twice or give one agent two callers. What must happen at
Twilio (ring the agent, connect or release the caller) is returned as plain values and carried
out after the commit (``ivr.desk.telephony``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, func, or_, select, update
from sqlalchemy.orm import Session

from ivr.db import DriverStatement, insert_row
from ivr.desk.models import Task, User
from ivr.desk.presence import set_activity
from ivr.flows.steps import Event
from ivr.history import log_events
from ivr.models import Interaction
from ivr.privacy.audit import audit_call_screen

Row = TypeVar("Row")

#: Tasks still in a queue (waiting, or ringing an agent).
QUEUED = ("waiting", "offered")
MISSED_REASON = "missed call"


@dataclass(frozen=True)
class Offer:
    """Ring ``device`` for the caller of task ``task_id`` (carried out after commit)."""

    task_id: int
    caller_sid: str
    user_id: int
    device: str
    caller_id: str | None


@dataclass(frozen=True)
class Release:
    """Stop ringing an agent whose caller has gone (carried out after commit)."""

    agent_call_sid: str


def device_of(user: User) -> str:
    """Where the agent's calls ring: their phone, else the browser softphone."""
    return user.phone or f"client:{client_identity(user.id)}"


def client_identity(user_id: int) -> str:
    """The Twilio Client identity of an agent's softphone."""
    return f"agent-{user_id}"


def enqueue(
    session: Session,
    call_sid: str,
    queue: str,
    language: str,
    now: datetime,
    priority: int = 0,
    interaction_id: int | None = None,
    context: dict[str, Any] | None = None,
) -> Task:
    """Put the caller in ``queue``; a retried webhook or a second transfer reuses the task."""
    task = lock_caller_task(session, call_sid)
    if task is not None and task.status in QUEUED and task.queue == queue:
        return task
    if task is None or task.status not in QUEUED:  # a new call, or queued again after a conversation
        values = {"call_sid": call_sid, "interaction_id": interaction_id, "arrived_at": now, "offers": 0}
        values |= {"queue": queue, "language": language, "priority": priority, "status": "waiting"}
        task = insert_row(session, Task, {**values, "context": context or {}})
    else:  # moved to another queue before anyone answered
        task.arrived_at = now
        task.queue, task.language, task.priority = queue, language, priority
        task.status, task.offered_to, task.offered_at, task.agent_call_sid = "waiting", None, None, None
        task.ended_at = task.end_reason = None
        task.context = context or {}
        session.flush()
    _log(session, task, "queued", queue=queue, priority=priority)
    return task


def leave(session: Session, call_sid: str, reason: str, now: datetime) -> Release | None:
    """The caller left the queue (hung up, or the queue gave up): release a ringing agent."""
    task = lock_caller_task(session, call_sid)
    if task is None or task.status not in QUEUED:
        return None
    release = _release_agent(session, task, now)
    task.status, task.ended_at, task.end_reason = "canceled", now, reason
    _log(session, task, "left_queue", reason=reason, waited=_seconds(now - task.arrived_at))
    return release


def may_offer(session: Session, now: datetime) -> bool:
    """Whether a routing pass could offer a caller now: an agent is free or their wrap-up is over."""
    row = _MAY_OFFER.first(session, {"now": now})
    return bool(row and row[0])


# Built once and run on the driver: every caller who joins a queue asks.
_MAY_OFFER = DriverStatement(
    select(
        exists().where(
            or_(
                User.activity == "available",
                and_(User.activity == "wrapup", User.activity_until <= bindparam("now")),
            ),
            User.disabled.is_(False),
        )
    )
)


def route(session: Session, now: datetime, batch: int = 20) -> list[Offer]:
    """Offer waiting callers to free agents: priority, then longest waiting; agent idle longest."""
    offers: list[Offer] = []
    # Nobody free (the usual case while callers wait): no pass, and above all no locks on the
    # waiting callers' tasks, which their own webhooks (hang-up, a key pressed) would wait for.
    if not session.scalar(select(exists().where(User.activity == "available", User.disabled.is_(False)))):
        return offers
    agents: list[User] | None = None
    seen: list[int] = []
    # Callers nobody free can serve (another queue or language) must not block those behind
    # them: read the line in batches until every free agent has a caller or the line ends.
    while agents is None or agents:
        tasks = session.scalars(
            select(Task)
            .where(Task.status == "waiting", Task.id.not_in(seen))
            .order_by(Task.priority.desc(), Task.arrived_at, Task.id)
            .limit(batch)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        ).all()
        if not tasks:
            break
        seen += [t.id for t in tasks]
        if agents is None:
            agents = list(
                session.scalars(
                    select(User)
                    .where(User.activity == "available", User.disabled.is_(False))
                    .order_by(User.activity_since, User.id)
                    .with_for_update(skip_locked=True)
                    .execution_options(populate_existing=True)
                )
            )
        for task in tasks:
            agent = next((a for a in agents if _serves(a, task)), None)
            if agent is None or not _interaction_free(session, task):
                continue
            agents.remove(agent)
            offer = _offer(session, task, agent, now)
            if offer is not None:
                offers.append(offer)
    return offers


def _interaction_free(session: Session, task: Task) -> bool:
    """Lock the task's interaction without waiting; a webhook of that call holds it otherwise.

    Routing locks the task first, so it must never *wait* for the interaction (webhooks take
    interaction, then task): such a task is simply left for the next pass.
    """
    if task.interaction_id is None:
        return True
    locked = session.scalar(
        select(Interaction.id).where(Interaction.id == task.interaction_id).with_for_update(skip_locked=True)
    )
    return locked is not None


def _serves(agent: User, task: Task) -> bool:
    return task.queue in agent.skills and task.language in agent.languages


def _offer(session: Session, task: Task, agent: User, now: datetime) -> Offer | None:
    # Both rows are locked (FOR UPDATE on PostgreSQL, the writer lock on SQLite); the task's
    # conditional update is a second guard that a caller is never offered twice.
    taken = session.execute(
        update(Task)
        .where(Task.id == task.id, Task.status == "waiting")
        .values(status="offered", offered_to=agent.id, offered_at=now, offers=Task.offers + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None
    session.refresh(task)
    set_activity(session, agent, "offered", now=now)
    _log(session, task, "offered", agent=agent.name, agent_id=agent.id)
    # The agent's screen now shows the caller's data: who saw whose data goes in the audit.
    audit_call_screen(session, agent.id, task.interaction_id)
    return Offer(task.id, task.call_sid, agent.id, device_of(agent), _hotline_number(session, task))


def offer_placed(session: Session, task_id: int, agent_call_sid: str) -> None:
    """Twilio accepted the call that rings the agent."""
    session.execute(
        update(Task)
        .where(Task.id == task_id, Task.status == "offered")
        .values(agent_call_sid=agent_call_sid)
        .execution_options(synchronize_session=False)
    )


def offer_failed(
    session: Session, task_id: int, reason: str, now: datetime, agent_missed: bool = True
) -> Release | None:
    """The offer did not lead to a conversation: the caller goes back to the head of the line.

    An agent who let it ring out is set to break (TaskRouter does the same), so the next
    caller is not offered to an empty desk; after a failure at Twilio's end they stay available.
    """
    task = lock_task(session, Task.id == task_id)
    if task is None or task.status != "offered":
        return None
    release = _release_agent(session, task, now, missed=agent_missed)
    task.status, task.offered_to, task.offered_at, task.agent_call_sid = "waiting", None, None, None
    _log(session, task, "offer_failed", reason=reason)  # arrived_at is kept: the caller keeps their place
    return release


def agent_answered(session: Session, agent_call_sid: str, now: datetime) -> Task | None:
    """The agent picked up: connect the caller (None when the caller has gone meanwhile)."""
    task = lock_task(session, Task.agent_call_sid == agent_call_sid)
    if task is None or task.status != "offered":
        return None
    task.status, task.connected_at = "connected", now
    agent = _locked_user(session, task.offered_to)
    if agent is not None:
        set_activity(session, agent, "busy", now=now)
    _log(
        session,
        task,
        "connected",
        agent=agent.name if agent else None,
        agent_id=agent.id if agent else None,
        waited=_seconds(now - task.arrived_at),
    )
    return task


def agent_call_ended(
    session: Session, agent_call_sid: str, status: str, now: datetime, wrapup: timedelta
) -> Release | None:
    """The agent's call ended: after a conversation the agent wraps up; unanswered, the caller waits on."""
    task = lock_task(session, Task.agent_call_sid == agent_call_sid)
    if task is None:
        return None
    if task.status == "offered":
        return offer_failed(session, task.id, status, now)
    if task.status == "connected":
        task.status, task.ended_at, task.end_reason = "completed", now, "completed"
        _end_hold(session, task, now)
        agent = _locked_user(session, task.offered_to)
        if agent is not None and agent.activity == "busy":
            set_activity(session, agent, "wrapup", now=now)
            agent.activity_until = now + wrapup
        _log(session, task, "agent_call_ended", talk=_seconds(now - (task.connected_at or now)))
    return None


class TransferError(Exception):
    """A transfer or hold that cannot be done (message is for the agent)."""


@dataclass(frozen=True)
class Transfer:
    """Move the caller out of the conference into the new task's queue; ring ``offer`` if any."""

    caller_sid: str
    task_id: int
    offer: Offer | None


def transfer(
    session: Session,
    user_id: int,
    task_id: int,
    now: datetime,
    wrapup: timedelta,
    queue: str | None = None,
    to_agent: int | None = None,
) -> Transfer:
    """Hand the agent's caller on to a queue or a free colleague (a blind transfer, as Flex does).

    The conversation's task ends as ``transferred`` and a new task carries the caller on with
    their context, priority and original arrival time (so they keep their place in line). A
    colleague must be free: they are offered the call at once, and if they do not answer the
    caller waits in the queue like any other. The transferring agent goes to wrap-up.
    """
    task = lock_task(session, Task.id == task_id)
    if task is None or task.offered_to != user_id or task.status != "connected":
        raise TransferError("This call is not yours to transfer.")
    # Two agents' rows, locked in id order so crossing transfers cannot deadlock.
    agents = {
        u.id: u
        for u in session.scalars(
            _locked(select(User).where(User.id.in_({user_id, to_agent or user_id})).order_by(User.id))
        )
    }
    target = agents.get(to_agent) if to_agent is not None else None
    if to_agent is not None and (
        target is None or to_agent == user_id or target.disabled or target.activity != "available"
    ):
        raise TransferError("That colleague is not free right now.")
    destination = queue or task.queue
    _end_hold(session, task, now)
    task.status, task.ended_at, task.end_reason = "completed", now, "transferred"
    carried = {k: v for k, v in task.context.items() if k not in LEG_KEYS}
    new = Task(
        call_sid=task.call_sid,
        interaction_id=task.interaction_id,
        queue=destination,
        language=task.language,
        priority=task.priority,
        status="waiting",
        arrived_at=task.arrived_at,
        offers=0,
        context={
            **carried,
            "transferred_from": task.id,
            "transferred_by": agents[user_id].name if user_id in agents else None,
        },
    )
    session.add(new)
    session.flush()
    _log(
        session,
        task,
        "transferred",
        agent=agents[user_id].name if user_id in agents else None,
        agent_id=user_id,
        to_queue=destination,
        to_agent=target.name if target else None,
        to_task=new.id,
        talk=_seconds(now - (task.connected_at or now)),
        held=int(task.context.get("held_seconds", 0)),
    )
    agent = agents.get(user_id)
    if agent is not None and agent.activity == "busy":
        set_activity(session, agent, "wrapup", now=now)
        agent.activity_until = now + wrapup
    offer = _offer(session, new, target, now) if target is not None else None
    return Transfer(task.call_sid, new.id, offer)


#: Context of one leg (its hold and outcome), not carried to the next task of a transfer.
LEG_KEYS = (
    "disposition",
    "on_hold_since",
    "held_seconds",
    "conference_sid",
    "transferred_from",
    "transferred_by",
)


def connected_task(session: Session, user_id: int, task_id: int) -> Task:
    """The agent's conversation, locked; a TransferError when it is not theirs or not going on."""
    task = lock_task(session, Task.id == task_id)
    if task is None or task.offered_to != user_id or task.status != "connected":
        raise TransferError("This call is not yours to put on hold.")
    return task


def set_hold(session: Session, task: Task, on_hold: bool, now: datetime) -> bool:
    """Record that the caller is on hold or back (False when nothing changed).

    Hold time is kept apart from talk time (``held_seconds``) and each change is an event
    with its time, so AHT = talk + hold + wrap-up can be computed from the history.
    """
    held = task.context.get("on_hold_since") is not None
    if held == on_hold:
        return False
    if on_hold:
        task.context = {**task.context, "on_hold_since": now.isoformat()}
        _log(session, task, "hold", agent_id=task.offered_to)
    else:
        _end_hold(session, task, now)
    return True


def _end_hold(session: Session, task: Task, now: datetime) -> None:
    since = task.context.get("on_hold_since")
    if since is None:
        return
    seconds = _seconds(now - datetime.fromisoformat(since))
    context = {k: v for k, v in task.context.items() if k != "on_hold_since"}
    context["held_seconds"] = int(context.get("held_seconds", 0)) + seconds
    task.context = context
    _log(session, task, "unhold", agent_id=task.offered_to, held=seconds)


def end_wrapups(session: Session, now: datetime) -> int:
    """Agents whose wrap-up time is over become available again; returns how many."""
    due = session.scalars(
        select(User)
        .where(User.activity == "wrapup", User.activity_until <= now)
        .with_for_update(skip_locked=True)
    ).all()
    for agent in due:
        set_activity(session, agent, "available", now=now)
        agent.activity_until = None
    return len(due)


def expire_offers(session: Session, now: datetime, ring: timedelta) -> list[Release]:
    """Offers ringing far longer than the ring time (a lost status callback) go back to the queue."""
    stale = session.scalars(
        select(Task.id).where(Task.status == "offered", Task.offered_at < now - ring - timedelta(seconds=30))
    ).all()
    releases = [offer_failed(session, task_id, "offer expired", now) for task_id in stale]
    return [r for r in releases if r is not None]


def _release_agent(session: Session, task: Task, now: datetime, missed: bool = False) -> Release | None:
    """Free the agent a task was offered to; one who missed the call is set to break."""
    if task.status != "offered" or task.offered_to is None:
        return None
    agent = _locked_user(session, task.offered_to)
    if agent is not None and agent.activity == "offered":
        if missed:
            set_activity(session, agent, "break", MISSED_REASON, now=now)
        else:
            set_activity(session, agent, "available", now=now)
    return Release(task.agent_call_sid) if task.agent_call_sid else None


def _locked(statement: Select[Row]) -> Select[Row]:
    """Lock the rows read and refresh them: a stale copy in the session must never be written back."""
    return statement.with_for_update().execution_options(populate_existing=True)


def lock_task(session: Session, where: ColumnElement[bool]) -> Task | None:
    """Lock a task after its call's interaction: the lock order of every writer of a call.

    Call webhooks hold the call and its interaction before a node reaches the task; taking
    them in the same order here means the agent's webhooks and routing never deadlock with them.
    """
    # A transferred call has a task per leg: the newest is the one that is still going on.
    found = session.execute(
        select(Task.id, Task.interaction_id).where(where).order_by(Task.id.desc()).limit(1)
    ).first()
    return _lock_found(session, found and (found.id, found.interaction_id), where)


def lock_caller_task(session: Session, call_sid: str) -> Task | None:
    """``lock_task`` for the caller's call: its newest task found on the driver (every caller
    who joins or leaves a queue asks, and most have no task yet)."""
    found = _NEWEST_TASK_OF_CALL.first(session, {"call_sid": call_sid})
    return _lock_found(session, found, Task.call_sid == call_sid)


_NEWEST_TASK_OF_CALL = DriverStatement(
    select(Task.id, Task.interaction_id)
    .where(Task.call_sid == bindparam("call_sid"))
    .order_by(Task.id.desc())
    .limit(1)
)


def _lock_found(session: Session, found: tuple[Any, ...] | None, where: ColumnElement[bool]) -> Task | None:
    """Lock the interaction of the task ``found`` (id, interaction id), then the task."""
    if found is None:
        return None
    task_id, interaction_id = found
    if interaction_id is not None:
        session.execute(select(Interaction.id).where(Interaction.id == interaction_id).with_for_update())
    # Matched again once locked: a task re-offered meanwhile (its agent call is another now) is
    # not the one a late webhook of the first agent call may change.
    return session.scalar(_locked(select(Task).where(Task.id == task_id, where)))


def _locked_user(session: Session, user_id: int | None) -> User | None:
    """The agent's row, read afresh and locked: presence changes never overwrite each other."""
    if user_id is None:
        return None
    return session.scalar(_locked(select(User).where(User.id == user_id)))


def _hotline_number(session: Session, task: Task) -> str | None:
    if task.interaction_id is None:
        return None
    interaction = session.get(Interaction, task.interaction_id)
    return interaction.to_number if interaction else None


def _log(session: Session, task: Task, kind: str, **data: Any) -> None:
    if task.interaction_id is None:
        return
    interaction = session.get(Interaction, task.interaction_id)
    if interaction is not None:
        log_events(session, interaction, [Event(kind, {"queue": task.queue, **data})])


def _seconds(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds()))


@dataclass(frozen=True)
class Standing:
    """Where a waiting caller stands: what they hear (§115 TKG asks for the expected wait)."""

    position: int
    agents: int
    estimate_seconds: int


def standing(session: Session, call_sid: str, now: datetime, default_handle: int) -> Standing | None:
    """The caller's place in our routing order, the agents who could take them, the expected wait."""
    task = session.scalar(select(Task).where(Task.call_sid == call_sid).order_by(Task.id.desc()).limit(1))
    if task is None or task.status not in QUEUED:
        return None
    ahead = session.scalar(
        select(func.count())
        .select_from(Task)
        .where(
            Task.status.in_(QUEUED),
            Task.queue == task.queue,
            Task.language == task.language,
            Task.id != task.id,
            (Task.priority > task.priority)
            | ((Task.priority == task.priority) & (Task.arrived_at < task.arrived_at))
            | ((Task.priority == task.priority) & (Task.arrived_at == task.arrived_at) & (Task.id < task.id)),
        )
    )
    on_duty = [
        u
        for u in session.scalars(
            select(User).where(
                User.disabled.is_(False), User.activity.in_(("available", "offered", "busy", "wrapup"))
            )
        )
        if _serves(u, task)
    ]
    handle = recent_handle_seconds(session, task.queue, now) or default_handle
    position = (ahead or 0) + 1
    estimate = position * handle // max(1, len(on_duty)) if on_duty else position * handle
    return Standing(position, len(on_duty), max(60, estimate))


def recent_handle_seconds(session: Session, queue: str, now: datetime) -> int | None:
    """Mean talk time of the queue's calls in the last 24 hours (None without enough of them)."""
    rows = session.execute(
        select(Task.connected_at, Task.ended_at).where(
            Task.queue == queue, Task.status == "completed", Task.ended_at >= now - timedelta(hours=24)
        )
    ).all()
    talks = [(end - start).total_seconds() for start, end in rows if start and end]
    if len(talks) < 5:
        return None
    return int(sum(talks) / len(talks))
