"""The raw facts KPIs are computed from, read with SQL aggregation: one row per contact.

Everything comes from the event log (``interaction_events``), the agents' presence log
(``agent_activities``) and the callback requests, never from counters: a definition can change
and be applied to the whole history.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Float, String, and_, case, cast, func, literal, select, true, union_all
from sqlalchemy.orm import Session

from callbacks.models import CallbackRequest
from ivr.desk.models import AgentActivity
from ivr.models import Interaction, InteractionEvent
from ivr.models._types import UTCDateTime

#: ``left_queue`` reasons that mean the caller hung up while waiting (or while an agent's phone rang).
HANGUPS = ("hangup", "caller gone")
#: ``route`` reasons that mean the IVR gave up on a caller it could not understand.
GAVE_UP = ("retries exhausted", "not understood", "attempts used up")
KINDS = ("queued", "connected", "left_queue", "agent_call_ended", "wrapup", "voicemail", "route")


class Contact(NamedTuple):
    """One inbound call and what happened to it; times are seconds (computed in SQL)."""

    id: int
    customer_id: int | None
    #: Start as seconds since the epoch (UTC).
    started: float
    intent: str | None
    language: str | None
    outcome: str | None
    queued: bool
    queue: str | None
    #: From the first queue entry to the first agent answer (None: never answered).
    wait: float | None
    agent_id: int | None
    #: From the first queue entry to hanging up in the queue (None: did not hang up there).
    abandon_wait: float | None
    talk_seconds: int
    talk_ended: bool
    #: From the end of the talk to the agent's disposition (None: no disposition).
    wrapup_gap: float | None
    voicemails: int
    gave_up: int
    #: How the caller chose at the first menu: ``key N``, ``speech`` or ``direct``.
    entry: str
    #: Until the same customer's next call (looked for up to ``follow`` after the period).
    next_gap: float | None


def event_facts(dialect: str, which: Any) -> Any:
    """Per call (``iid``) matching ``which``: its queue, agent and survey-free facts from its events.

    Times are seconds computed in SQL; ``queued_at`` and ``talk_ended_at`` say whether it queued
    and whether an agent's leg ended; ``entry`` still carries its zero-padded sequence number.
    """
    ev = InteractionEvent
    reason = ev.data["reason"].as_string()
    queue = ev.data["queue"].as_string()

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
            func.min(case((ev.kind == "route", _ordered(dialect, ev.seq) + _entry(ev)))).label("entry"),
        )
        .where(ev.kind.in_(KINDS), which)
        .group_by(ev.interaction_id)
        .subquery()
    )
    epoch = epoch_function(dialect)
    queued_at = facts.c.queued_at
    return select(
        facts.c.iid,
        queued_at,
        func.coalesce(facts.c.connected_queue, facts.c.queued_queue).label("queue"),
        (epoch(facts.c.connected_at) - epoch(queued_at)).label("wait"),
        facts.c.agent_id,
        case((facts.c.connected_at.is_(None), epoch(facts.c.abandoned_at) - epoch(queued_at))).label(
            "abandon_wait"
        ),
        facts.c.talk,
        facts.c.talk_ended_at,
        (epoch(facts.c.wrapup_at) - epoch(facts.c.talk_ended_at)).label("wrapup_gap"),
        facts.c.voicemails,
        facts.c.gave_up,
        facts.c.entry,
    )


def load_contacts(
    session: Session, start: datetime, end: datetime, follow: timedelta = timedelta(0)
) -> list[Contact]:
    """Inbound voice calls that started in ``[start, end)``, with their queue and agent facts."""
    dialect = session.get_bind().dialect.name
    in_period = contacts_with_next(start, end, follow)
    facts = event_facts(
        dialect, InteractionEvent.interaction_id.in_(select(_contacts_in(start, end).c.id))
    ).subquery()
    epoch = epoch_function(dialect)
    rows = session.execute(
        select(
            in_period.c.id,
            in_period.c.customer_id,
            epoch(in_period.c.started_at),
            in_period.c.intent,
            in_period.c.language,
            in_period.c.outcome,
            facts.c.queued_at.is_not(None),
            facts.c.queue,
            facts.c.wait,
            facts.c.agent_id,
            facts.c.abandon_wait,
            func.coalesce(facts.c.talk, 0),
            facts.c.talk_ended_at.is_not(None),
            facts.c.wrapup_gap,
            func.coalesce(facts.c.voicemails, 0),
            func.coalesce(facts.c.gave_up, 0),
            facts.c.entry,
            case(
                (
                    in_period.c.customer_id.is_not(None),
                    epoch(in_period.c.next_at) - epoch(in_period.c.started_at),
                )
            ),
        )
        .outerjoin(facts, facts.c.iid == in_period.c.id)
        .order_by(in_period.c.started_at, in_period.c.id)
    )
    make = Contact._make
    return [
        make(
            (
                *r[:6],
                bool(r[6]),
                r[7],
                r[8],
                r[9],
                r[10],
                r[11],
                bool(r[12]),
                *r[13:16],
                r[16][SEQ_DIGITS:] if r[16] else "direct",
                r[17],
            )
        )
        for r in rows
    ]


def epoch_function(dialect: str) -> Any:
    """Seconds since the epoch of a timestamp column, in SQL (PostgreSQL or SQLite)."""
    if dialect == "postgresql":
        # date_part: the same double as extract's numeric would give, without numeric arithmetic.
        return lambda column: func.date_part("epoch", column, type_=Float())
    return lambda column: (func.julianday(column) - 2440587.5) * 86400.0


#: The first route event's entry is found as the smallest "<seq, zero-padded><entry>" string.
SEQ_DIGITS = 9


def _ordered(dialect: str, seq: Any) -> Any:
    """``seq`` as a zero-padded string, so that text order is number order."""
    if dialect == "postgresql":
        return func.lpad(cast(seq, String), SEQ_DIGITS, "0")
    return func.printf(f"%0{SEQ_DIGITS}d", seq)


def _entry(ev: type[InteractionEvent]) -> Any:
    """How a ``route`` event was chosen: ``speech``, ``key N``, or ``direct``."""
    key = ev.data["key"].as_string()
    return case(
        (ev.data["speech"].as_boolean() == true(), literal("speech")),
        (key.is_not(None), literal("key ") + key),
        else_=literal("direct"),
    )


def contacts_with_next(start: datetime, end: datetime, follow: timedelta):  # type: ignore[no-untyped-def]
    """The period's calls, each with its customer's next call (a window over the period + ``follow``)."""
    following = func.lead(Interaction.started_at, type_=UTCDateTime()).over(
        partition_by=Interaction.customer_id, order_by=(Interaction.started_at, Interaction.id)
    )
    calls = (
        select(
            Interaction.id,
            Interaction.customer_id,
            Interaction.started_at,
            Interaction.intent,
            Interaction.language,
            Interaction.outcome,
            following.label("next_at"),
        )
        .where(
            Interaction.channel == "voice",
            Interaction.direction == "inbound",
            Interaction.started_at >= start,
            Interaction.started_at < end + follow,
        )
        .subquery()
    )
    return select(calls).where(calls.c.started_at < end).subquery()


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
    """Seconds each agent spent in each state within ``[start, end)``, summed in SQL."""
    a = AgentActivity
    before = select(a.user_id, func.max(a.at).label("at")).where(a.at < start).group_by(a.user_id).subquery()
    at_start = select(a.user_id, a.activity, a.at).join(
        before, and_(before.c.user_id == a.user_id, before.c.at == a.at)
    )
    inside = select(a.user_id, a.activity, a.at).where(a.at >= start, a.at < end)
    changes = union_all(at_start, inside).subquery()
    spans = select(
        changes.c.user_id,
        changes.c.activity,
        changes.c.at,
        func.lead(changes.c.at).over(partition_by=changes.c.user_id, order_by=changes.c.at).label("next_at"),
    ).subquery()
    postgres = session.get_bind().dialect.name == "postgresql"
    lo, hi = literal(start, UTCDateTime()), literal(end, UTCDateTime())
    begin = (func.greatest if postgres else func.max)(spans.c.at, lo)
    finish = (func.least if postgres else func.min)(func.coalesce(spans.c.next_at, hi), hi)
    seconds: Any
    if postgres:
        seconds = func.extract("epoch", finish - begin)
    else:
        seconds = (func.julianday(finish) - func.julianday(begin)) * 86400.0
    rows = session.execute(
        select(spans.c.user_id, spans.c.activity, func.sum(seconds))
        .where(finish > begin)
        .group_by(spans.c.user_id, spans.c.activity)
    ).all()
    result: dict[int, dict[str, float]] = defaultdict(dict)
    for user_id, activity, total in rows:
        result[user_id][activity] = round(float(total), 3)
    return dict(result)


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
