"""One row of KPI facts per call, derived from its events and kept current from a watermark.

``kpi_call_facts`` holds what ``load_contacts`` computes from a call's events (queue, answer,
agent, talk, wrap-up, voicemail, IVR give-up, first menu choice, survey answers), rounded the
same way. The interaction's own columns (customer, intent, language, outcome) are not copied
(the start only as the row's retention age): the KPI query joins them live, so anonymisation
and intent/outcome changes apply at once.

``refresh`` recomputes the calls that got KPI events since the watermark (the highest event id
processed) and is run before every KPI computation; ``refresh(full=True)`` recomputes every
call (``ivr kpis rebuild``; automatically when ``FACTS_VERSION`` changes). The table holds no personal data;
it is registered with the call's traces, so erasure and the traces' retention remove a call's
facts together with its events, as the raw-event computation would lose them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Mapped, mapped_column

from ivr.db import WRITE_OPTION, Base
from ivr.insights.facts import KINDS, SEQ_DIGITS, event_facts
from ivr.models import Interaction, InteractionEvent
from ivr.models._types import UTCDateTime, utcnow

#: Bump when what a fact means changes: the next KPI computation rebuilds the table.
FACTS_VERSION = 1
#: Calls recomputed per statement (IN lists stay short).
BATCH = 2000


class CallFacts(Base):
    """The KPI facts of one call (times in milliseconds, as the KPIs round them)."""

    __tablename__ = "kpi_call_facts"

    interaction_id: Mapped[int] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), primary_key=True
    )
    #: The call's start (the retention age of the row, like its events').
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    queued: Mapped[bool]
    queue: Mapped[str | None] = mapped_column(String())
    agent_id: Mapped[int | None] = mapped_column(Integer)
    wait_ms: Mapped[int | None] = mapped_column(Integer)
    abandon_ms: Mapped[int | None] = mapped_column(Integer)
    talk_seconds: Mapped[int] = mapped_column(Integer)
    talk_ended: Mapped[bool]
    wrapup_ms: Mapped[int | None] = mapped_column(Integer)
    voicemails: Mapped[int] = mapped_column(Integer)
    gave_up: Mapped[int] = mapped_column(Integer)
    entry: Mapped[str] = mapped_column(String())
    csat_answers: Mapped[int] = mapped_column(Integer)
    csat_good: Mapped[int] = mapped_column(Integer)
    csat_sum: Mapped[int] = mapped_column(Integer)
    nps_answers: Mapped[int] = mapped_column(Integer)
    nps_promoters: Mapped[int] = mapped_column(Integer)
    nps_detractors: Mapped[int] = mapped_column(Integer)
    resolved_answers: Mapped[int] = mapped_column(Integer)
    resolved_yes: Mapped[int] = mapped_column(Integer)
    #: The agent named in the call's survey answers (the survey names the call's last agent).
    survey_agent_id: Mapped[int | None] = mapped_column(Integer)


class FactsState(Base):
    """The single row saying how far ``kpi_call_facts`` is current."""

    __tablename__ = "kpi_facts_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    #: Every KPI event with an id up to this one is in the facts.
    event_id: Mapped[int] = mapped_column(Integer)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def milliseconds(seconds: float | None) -> int | None:
    """A time as the KPIs use it: rounded to the millisecond, never negative."""
    return None if seconds is None else round(max(0.0, round(seconds, 3)) * 1000)


def refresh(engine: Engine, full: bool = False, timeout: int = 30) -> int:
    """Bring the facts up to date (all of them if ``full``); returns the number of calls recomputed.

    ``timeout``: seconds the statements may take on PostgreSQL (a rebuild reads every event).
    """
    horizon = _horizon(engine, 60.0 if full else 0.5)
    with engine.connect().execution_options(**{WRITE_OPTION: True}) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"SET LOCAL statement_timeout = {int(timeout * 1000)}"))
        state = conn.execute(
            select(FactsState.version, FactsState.event_id).where(FactsState.id == 1).with_for_update()
        ).first()
        if state is None:
            conn.execute(insert(FactsState).values(id=1, version=0, event_id=0))
        version, done = (0, 0) if state is None else state
        full = full or version != FACTS_VERSION
        if full and horizon is None:
            raise RuntimeError("event writers held interaction_events for a minute: rebuild again")
        visible = conn.execute(select(func.max(InteractionEvent.id))).scalar() or 0
        if full:
            conn.execute(delete(CallFacts))
            count = _recompute_all(conn, visible)
        elif visible <= done:
            return 0
        else:
            changed = conn.execute(
                select(InteractionEvent.interaction_id)
                .where(InteractionEvent.id > done, InteractionEvent.id <= visible)
                .where(InteractionEvent.kind.in_((*KINDS, "survey_answer")))
                .distinct()
            ).scalars()
            ids = sorted(changed)
            for n in range(0, len(ids), BATCH):
                _recompute(conn, ids[n : n + BATCH])
            count = len(ids)
        # Without a horizon (a writer held the lock) the next refresh looks at these events again.
        watermark = done if horizon is None else max(done, min(horizon, visible))
        conn.execute(
            update(FactsState)
            .where(FactsState.id == 1)
            .values(version=FACTS_VERSION, event_id=watermark, refreshed_at=utcnow())
        )
    if full and engine.dialect.name == "postgresql":
        with engine.connect() as conn, conn.begin():
            conn.execute(text("ANALYZE kpi_call_facts"))  # the planner's row estimates for the join
    return count


def _horizon(engine: Engine, wait: float) -> int | None:
    """The highest event id below which every event is committed (None: not known right now).

    PostgreSQL hands out ids before commit, so a smaller id may still appear: a SHARE lock waits
    for the transactions writing events to end (at most ``wait`` seconds; new writers wait behind
    it for as long, so a refresh waits half a second, a rebuild a minute). SQLite
    has one writer at a time, so what is visible is complete.
    """
    if engine.dialect.name != "postgresql":
        return _max_event_id(engine)
    try:
        with engine.connect() as conn, conn.begin():
            conn.execute(text(f"SET LOCAL lock_timeout = {int(wait * 1000)}"))
            conn.execute(text("LOCK TABLE interaction_events IN SHARE MODE"))
            return int(conn.execute(select(func.max(InteractionEvent.id))).scalar() or 0)
    except OperationalError:
        return None


def _max_event_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.max(InteractionEvent.id))).scalar() or 0)


def _recompute_all(conn: Connection, upto: int) -> int:
    ids = list(
        conn.execute(
            select(InteractionEvent.interaction_id)
            .where(InteractionEvent.id <= upto, InteractionEvent.kind.in_((*KINDS, "survey_answer")))
            .distinct()
        ).scalars()
    )
    ids.sort()
    step = BATCH * 10
    for n in range(0, len(ids), step):
        _recompute(conn, ids[n : n + step], between=(ids[n], ids[min(n + step, len(ids)) - 1]))
    return len(ids)


def _recompute(conn: Connection, ids: list[int], between: tuple[int, int] | None = None) -> None:
    """Recompute the facts of these calls (``between``: all calls in that id range instead)."""
    ev = InteractionEvent
    if between is None:
        which = ev.interaction_id.in_(ids)
        calls = Interaction.id.in_(ids)
    else:
        which = ev.interaction_id.between(*between)
        calls = Interaction.id.between(*between)
    facts = event_facts(conn.dialect.name, which).subquery()
    rows = conn.execute(
        select(Interaction.id, Interaction.started_at, *[c for c in facts.c if c.key != "iid"])
        .join(facts, facts.c.iid == Interaction.id)
        .where(calls)
    ).all()
    survey: dict[int, dict[str, Any]] = defaultdict(_no_answers)
    answers = conn.execute(
        select(
            ev.interaction_id,
            ev.data["question"].as_string(),
            ev.data["value"].as_integer(),
            ev.data["agent_id"].as_integer(),
        ).where(ev.kind == "survey_answer", which)
    )
    for iid, question, value, agent in answers:
        if not question or value is None:
            continue
        tally = survey[iid]
        if question == "csat" and 1 <= value <= 5:
            tally["csat_answers"] += 1
            tally["csat_good"] += value >= 4
            tally["csat_sum"] += value
        elif question == "nps" and 0 <= value <= 10:
            tally["nps_answers"] += 1
            tally["nps_promoters"] += value >= 9
            tally["nps_detractors"] += value <= 6
        elif question == "resolved" and value in (0, 1):
            tally["resolved_answers"] += 1
            tally["resolved_yes"] += value
        if agent:
            tally["survey_agent_id"] = max(agent, tally["survey_agent_id"] or 0)
    values = [
        {
            "interaction_id": r.id,
            "started_at": r.started_at,
            "queued": r.queued_at is not None,
            "queue": r.queue,
            "agent_id": r.agent_id,
            "wait_ms": milliseconds(r.wait),
            "abandon_ms": milliseconds(r.abandon_wait),
            "talk_seconds": r.talk or 0,
            "talk_ended": r.talk_ended_at is not None,
            "wrapup_ms": milliseconds(r.wrapup_gap),
            "voicemails": r.voicemails or 0,
            "gave_up": r.gave_up or 0,
            "entry": r.entry[SEQ_DIGITS:] if r.entry else "direct",
            **survey[r.id],
        }
        for r in rows
    ]
    if between is None:
        conn.execute(delete(CallFacts).where(CallFacts.interaction_id.in_(ids)))
    if values:
        conn.execute(insert(CallFacts), values)


def _no_answers() -> dict[str, Any]:
    return {
        "csat_answers": 0,
        "csat_good": 0,
        "csat_sum": 0,
        "nps_answers": 0,
        "nps_promoters": 0,
        "nps_detractors": 0,
        "resolved_answers": 0,
        "resolved_yes": 0,
        "survey_agent_id": None,
    }
