"""The raw facts KPIs are computed from, read with SQL aggregation: one row per contact.

Everything comes from the event log (``interaction_events``), the agents' presence log
(``agent_activities``) and the callback requests, never from counters: a definition can change
and be applied to the whole history.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, select, union_all
from sqlalchemy.orm import Session

from callbacks.models import CallbackRequest
from ivr.desk.models import AgentActivity
from ivr.models import Interaction, InteractionEvent

#: ``left_queue`` reasons that mean the caller hung up while waiting (or while an agent's phone rang).
HANGUPS = ("hangup", "caller gone")
#: ``route`` reasons that mean the IVR gave up on a caller it could not understand.
GAVE_UP = ("retries exhausted", "not understood", "attempts used up")
KINDS = ("queued", "connected", "left_queue", "agent_call_ended", "wrapup", "voicemail", "route")


@dataclass(frozen=True)
class Contact:
    """One inbound call and what happened to it."""

    id: int
    customer_id: int | None
    started_at: datetime
    intent: str | None
    language: str | None
    outcome: str | None
    queued_at: datetime | None
    queue: str | None
    connected_at: datetime | None
    agent_id: int | None
    abandoned_at: datetime | None
    talk_seconds: int
    talk_ended_at: datetime | None
    wrapup_at: datetime | None
    voicemails: int
    gave_up: int


def load_contacts(session: Session, start: datetime, end: datetime) -> list[Contact]:
    """Inbound voice calls that started in ``[start, end)``, with their queue and agent facts."""
    ev = InteractionEvent
    reason = ev.data["reason"].as_string()
    queue = ev.data["queue"].as_string()
    in_period = _contacts_in(start, end)

    def first(kind: str, value: Any = ev.at, *more: Any) -> Any:
        return func.min(case((and_(ev.kind == kind, *more), value)))

    facts = (
        select(
            ev.interaction_id.label("iid"),
            first("queued").label("queued_at"),
            first("queued", queue).label("queued_queue"),
            first("connected").label("connected_at"),
            func.max(case((ev.kind == "connected", queue))).label("connected_queue"),
            func.max(case((ev.kind == "connected", ev.data["agent_id"].as_integer()))).label("agent_id"),
            first("left_queue", ev.at, reason.in_(HANGUPS)).label("abandoned_at"),
            func.coalesce(
                func.sum(case((ev.kind == "agent_call_ended", ev.data["talk"].as_integer()))), 0
            ).label("talk"),
            func.max(case((ev.kind == "agent_call_ended", ev.at))).label("talk_ended_at"),
            func.max(case((ev.kind == "wrapup", ev.at))).label("wrapup_at"),
            func.count(case((ev.kind == "voicemail", literal(1)))).label("voicemails"),
            func.count(case((and_(ev.kind == "route", reason.in_(GAVE_UP)), literal(1)))).label("gave_up"),
        )
        .where(ev.kind.in_(KINDS), ev.interaction_id.in_(select(in_period.c.id)))
        .group_by(ev.interaction_id)
        .subquery()
    )
    rows = session.execute(
        select(
            in_period.c.id,
            in_period.c.customer_id,
            in_period.c.started_at,
            in_period.c.intent,
            in_period.c.language,
            in_period.c.outcome,
            facts.c.queued_at,
            func.coalesce(facts.c.connected_queue, facts.c.queued_queue),
            facts.c.connected_at,
            facts.c.agent_id,
            facts.c.abandoned_at,
            facts.c.talk,
            facts.c.talk_ended_at,
            facts.c.wrapup_at,
            facts.c.voicemails,
            facts.c.gave_up,
        )
        .outerjoin(facts, facts.c.iid == in_period.c.id)
        .order_by(in_period.c.started_at, in_period.c.id)
    ).all()
    return [
        Contact(
            id=r[0],
            customer_id=r[1],
            started_at=r[2],
            intent=r[3],
            language=r[4],
            outcome=r[5],
            queued_at=r[6],
            queue=r[7],
            connected_at=r[8],
            agent_id=r[9],
            abandoned_at=r[10],
            talk_seconds=int(r[11] or 0),
            talk_ended_at=r[12],
            wrapup_at=r[13],
            voicemails=int(r[14] or 0),
            gave_up=int(r[15] or 0),
        )
        for r in rows
    ]


def _contacts_in(start: datetime, end: datetime):  # type: ignore[no-untyped-def]
    return (
        select(
            Interaction.id,
            Interaction.customer_id,
            Interaction.started_at,
            Interaction.intent,
            Interaction.language,
            Interaction.outcome,
        )
        .where(
            Interaction.channel == "voice",
            Interaction.direction == "inbound",
            Interaction.started_at >= start,
            Interaction.started_at < end,
        )
        .subquery()
    )


def load_entries(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    """Contacts by how the caller chose at the first menu: a key, speech, or neither."""
    ev = InteractionEvent
    in_period = _contacts_in(start, end)
    first_route = (
        select(
            ev.interaction_id,
            ev.data["key"].as_string().label("key"),
            ev.data["speech"].as_boolean().label("speech"),
            func.row_number().over(partition_by=ev.interaction_id, order_by=ev.seq).label("n"),
        )
        .where(ev.kind == "route", ev.interaction_id.in_(select(in_period.c.id)))
        .subquery()
    )
    rows = session.execute(
        select(first_route.c.key, first_route.c.speech, func.count())
        .where(first_route.c.n == 1)
        .group_by(first_route.c.key, first_route.c.speech)
    ).all()
    counts: dict[str, int] = defaultdict(int)
    for key, speech, n in rows:
        counts["speech" if speech else f"key {key}" if key is not None else "direct"] += n
    return dict(counts)


def load_later_contacts(
    session: Session, customers: set[int], start: datetime, end: datetime
) -> dict[int, list[datetime]]:
    """When each of ``customers`` called in ``[start, end)``, sorted: repeat contacts are found in it."""
    times: dict[int, list[datetime]] = defaultdict(list)
    if not customers:
        return times
    rows = session.execute(
        select(Interaction.customer_id, Interaction.started_at)
        .where(
            Interaction.channel == "voice",
            Interaction.direction == "inbound",
            Interaction.customer_id.is_not(None),
            Interaction.started_at >= start,
            Interaction.started_at < end,
        )
        .order_by(Interaction.started_at)
    )
    for customer_id, at in rows:
        if customer_id in customers:
            times[customer_id].append(at)
    return times


@dataclass(frozen=True)
class SurveyAnswer:
    """One answer of the in-call survey (events ``survey_answer``)."""

    interaction_id: int
    question: str
    value: int
    agent_id: int | None


def load_survey(session: Session, start: datetime, end: datetime) -> list[SurveyAnswer]:
    """Survey answers of the contacts that started in ``[start, end)``."""
    ev = InteractionEvent
    in_period = _contacts_in(start, end)
    rows = session.execute(
        select(
            ev.interaction_id,
            ev.data["question"].as_string(),
            ev.data["value"].as_integer(),
            ev.data["agent_id"].as_integer(),
        ).where(ev.kind == "survey_answer", ev.interaction_id.in_(select(in_period.c.id)))
    ).all()
    return [SurveyAnswer(r[0], r[1], r[2], r[3]) for r in rows if r[1] and r[2] is not None]


def load_presence(session: Session, start: datetime, end: datetime) -> dict[int, dict[str, float]]:
    """Seconds each agent spent in each state within ``[start, end)``, from the presence log."""
    a = AgentActivity
    before = select(a.user_id, func.max(a.at).label("at")).where(a.at < start).group_by(a.user_id).subquery()
    at_start = select(a.user_id, a.activity, a.at).join(
        before, and_(before.c.user_id == a.user_id, before.c.at == a.at)
    )
    inside = select(a.user_id, a.activity, a.at).where(a.at >= start, a.at < end)
    changes = union_all(at_start, inside).subquery()
    rows = session.execute(
        select(
            changes.c.user_id,
            changes.c.activity,
            changes.c.at,
            func.lead(changes.c.at)
            .over(partition_by=changes.c.user_id, order_by=changes.c.at)
            .label("until"),
        )
    ).all()
    seconds: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for user_id, activity, at, until in rows:
        at, until = _aware(at), _aware(until) if until is not None else end
        begin, finish = max(at, start), min(until, end)
        if finish > begin:
            seconds[user_id][activity] += (finish - begin).total_seconds()
    return {user: dict(states) for user, states in seconds.items()}


def _aware(value: datetime | str) -> datetime:
    """Union and window results lose the column type on SQLite: parse and mark UTC again."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class CallbackFacts:
    """Callback requests made in the period."""

    requested_at: datetime
    intent: str | None
    queue: str | None
    status: str
    dials: int
    due_at: datetime
    updated_at: datetime


def load_callbacks(session: Session, start: datetime, end: datetime) -> list[CallbackFacts]:
    """Callback requests made in ``[start, end)``."""
    c = CallbackRequest
    rows = session.execute(
        select(c.requested_at, c.intent, c.queue, c.status, c.dials, c.due_at, c.updated_at).where(
            c.requested_at >= start, c.requested_at < end
        )
    ).all()
    return [CallbackFacts(*r) for r in rows]
