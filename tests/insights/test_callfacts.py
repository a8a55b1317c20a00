"""The per-call KPI facts follow new events, and ``ivr kpis rebuild`` recomputes them from the raw ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from ivr.cli import main
from ivr.insights.callfacts import CallFacts, FactsState
from ivr.insights.kpis import compute_kpis, parse_period
from ivr.insights.settings import KpiSettings
from ivr.models import InteractionEvent
from tests.insights.conftest import answered, left_queue_events

SETTINGS = KpiSettings()
T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


def day(session, by: str | None = None):
    session.rollback()
    return compute_kpis(session, parse_period("2026-05-04", "2026-05-04", SETTINGS), by, SETTINGS)


def test_events_logged_after_a_report_count_in_the_next_one(stream):
    s = stream()
    anna = s.agent()
    first = s.call(T0, "+4915100000001", events=answered(10, 100, anna))
    s.session.commit()
    before = day(s.session)["total"]

    # the agent's disposition arrives after the report, and so does a new abandoned call
    s.session.add(
        InteractionEvent(
            interaction_id=first.id,
            seq=4,
            kind="wrapup",
            at=T0 + timedelta(seconds=30 + 10 + 100 + 8),
            data={"agent_id": anna},
        )
    )
    s.call(
        T0 + timedelta(hours=1),
        "+4915100000002",
        outcome="abandoned",
        events=left_queue_events(70),
    )
    s.session.commit()
    after = day(s.session)["total"]

    assert (before["contacts"], before["wrapup_seconds"], before["abandoned"]) == (1, 30.0, 0)
    assert (after["contacts"], after["wrapup_seconds"], after["abandoned"]) == (2, 8.0, 1)
    assert after["longest_wait_seconds"] == 40.0


def test_rebuild_recomputes_the_facts_from_the_raw_events(stream, runner):
    s = stream()
    anna = s.agent()
    s.call(T0, "+4915100000001", intent="delivery", events=answered(10, 100, anna, wrapup_after=5))
    s.call(T0, "+4915100000002", outcome="self_service", intent="order_status")
    s.session.commit()
    right = day(s.session, "agent")
    # facts gone wrong (say, a definition changed): the numbers follow the table ...
    s.session.execute(update(CallFacts).values(wait_ms=99_000, agent_id=None))
    s.session.commit()
    assert day(s.session)["total"]["asa_seconds"] == 99.0

    result = runner.invoke(main, ["kpis", "rebuild"])

    assert result.exit_code == 0, result.output
    assert "rebuilt the KPI facts of 1 calls" in result.output
    assert day(s.session, "agent") == right


def test_a_new_facts_version_rebuilds_by_itself(stream):
    s = stream()
    s.call(T0, "+4915100000001", events=answered(10, 100, s.agent()))
    s.session.commit()
    right = day(s.session)
    s.session.execute(update(CallFacts).values(wait_ms=99_000))
    s.session.execute(update(FactsState).values(version=0))
    s.session.commit()

    assert day(s.session) == right
