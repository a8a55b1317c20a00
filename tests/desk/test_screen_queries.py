"""What each open console stream asks the database four times a second stays cheap with history.

``benchmarks/desk.py pages`` measured the wrap-up lookup scanning every completed task (65 ms per
poll with 100,000 past calls); these tests pin the plan, not the time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from ivr.desk.models import Task, User
from ivr.desk.screen import current_task
from ivr.desk.users import NewUser, add_user

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def plans(session, statements: list[tuple[str, Any]]) -> list[str]:
    """The database's plan of each captured statement, as one text per statement."""
    dialect = session.bind.dialect.name
    found = []
    for sql, params in statements:
        if dialect == "sqlite":
            rows = session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
            found.append(" | ".join(str(r[-1]) for r in rows))
        else:  # on tiny tables PostgreSQL prefers a scan; ask what it would do on big ones
            session.execute(text("SET LOCAL enable_seqscan = off"))
            rows = session.connection().exec_driver_sql(f"EXPLAIN {sql}", params).all()
            found.append(" | ".join(str(r[0]) for r in rows))
    return found


@pytest.mark.parametrize("activity", ["offered", "wrapup"])
def test_the_agents_call_is_found_by_index_not_by_scanning_the_history(app, session, activity):
    agent = add_user(session, NewUser("anna@shop.example", "Anna", "agent", skills=("service",)), "x" * 12)
    other = add_user(session, NewUser("ben@shop.example", "Ben", "agent", skills=("service",)), "x" * 12)
    for n in range(200):  # past calls of both agents
        at = START - timedelta(minutes=n)
        session.add(
            Task(
                call_sid=f"CAPAST{n:04d}",
                queue="service",
                language="de",
                status="completed",
                arrived_at=at,
                offered_to=(agent, other)[n % 2].id,
                ended_at=at + timedelta(minutes=3),
            )
        )
    agent.activity = activity
    session.commit()

    statements: list[tuple[str, Any]] = []

    def capture(conn, cursor, sql, params, context, executemany) -> None:
        if "FROM tasks" in sql:
            statements.append((sql, params))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", capture)
    try:
        task = current_task(session, session.get(User, agent.id))
    finally:
        event.remove(engine, "before_cursor_execute", capture)

    if activity == "wrapup":  # the agent sees their newest call to note its outcome
        assert task is not None and task.call_sid == "CAPAST0000"
    else:
        assert task is None
    assert statements
    for plan in plans(session, statements):
        assert "ix_tasks_agent" in plan, plan
