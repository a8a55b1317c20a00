"""SQL statements per webhook: a few short statements each, whatever the call has done before."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

from flask import Flask
from sqlalchemy import bindparam, event, select, text

from ivr.db import DriverStatement, attach_row, insert_row, session_factory
from ivr.flows.store import publish_flow
from ivr.history import MAX_ROWS_PER_INSERT
from ivr.models import Call, Interaction
from ivr.simulator import Phone


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """The SQL statements run inside the block (the idle-connection ping left out), each
    transaction's start as ``BEGIN`` (SQLite's is ours, PostgreSQL's the driver's)."""
    engine = session_factory(app).kw["bind"]
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.strip() != "SELECT 1":
            seen.append(statement.split(None, 2)[0].upper())

    def begin(_conn: Any) -> None:
        seen.append("BEGIN")

    event.listen(engine, "before_cursor_execute", record)
    event.listen(engine, "begin", begin)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
        event.remove(engine, "begin", begin)


def test_a_call_costs_a_few_statements_per_webhook(app: Flask, phone: Callable[..., Phone]) -> None:
    caller = phone()
    with statements(app) as dial:
        caller.dial()
    with statements(app) as menu:
        caller.press("2")  # returns: information, then its menu
    with statements(app) as again:
        caller.press("1")
    with statements(app) as status:
        caller.hang_up()
    # Each counts its BEGIN.
    # New call of a first-time caller: flow version, customer (looked up, then created),
    # interaction, the proactive notice's look at the caller's latest order and open returns,
    # the event counter, call, events.
    # PostgreSQL writes a step's call, interaction and events in one statement.
    postgres = session_factory(app).kw["bind"].dialect.name == "postgresql"
    assert len(dial) <= (8 if postgres else 10), dial
    # The returns node verifies like order status (guard count, the caller's order); a plain step:
    # the call with its interaction (locked), the counter, the call, the events.
    assert len(menu) <= (5 if postgres else 7) and len(again) <= (3 if postgres else 5), (menu, again)
    # The status callback: interaction and call in one query, the interaction, the call's details
    # forgotten (privacy), its event.
    assert len(status) <= (3 if postgres else 5), status
    # The events were still written, numbered without gaps.
    with session_factory(app)() as session:
        query = select(Interaction).where(Interaction.call_sid == caller.call_sid)
        interaction = session.scalars(query).one()
        kinds = [e.kind for e in interaction.events]
        assert [e.seq for e in interaction.events] == list(range(1, interaction.event_seq + 1))
    assert kinds[0] == "call_started" and kinds[-1] == "status" and len(kinds) >= 6, kinds


def test_joining_the_queue_while_nobody_is_free_is_one_short_transaction(
    app: Flask, phone: Callable[..., Phone]
) -> None:
    caller = phone()
    caller.dial()
    with statements(app) as queued:
        assert caller.press("0").verb == "Enqueue"
    # The call with its interaction, the repeat-caller count, the task (looked up, inserted),
    # whether anyone is free, then the step's writes, the task's "queued" event among its events
    # (PostgreSQL: one statement; SQLite: events, call, interaction), each with its BEGIN; no
    # routing pass of its own.
    postgres = session_factory(app).kw["bind"].dialect.name == "postgresql"
    assert len(queued) <= (7 if postgres else 9), queued
    assert queued.count("BEGIN") <= 1, queued
    with session_factory(app)() as session:
        query = select(Interaction).where(Interaction.call_sid == caller.call_sid)
        kinds = [e.kind for e in session.scalars(query).one().events]
    assert "queued" in kinds, kinds


def test_a_step_with_more_events_than_one_insert_takes_still_logs_them_all(
    app: Flask, phone: Callable[..., Phone]
) -> None:
    """Past MAX_ROWS_PER_INSERT events in one step the writes go one by one: nothing is lost."""
    says = "".join(
        f"  say{n}: {{type: say, say: {{de: 'Hinweis {n}.', en: 'Notice {n}.'}}, next: say{n + 1}}}\n"
        for n in range(MAX_ROWS_PER_INSERT + 2)
    )
    flow = (
        "name: long_test\nlanguages: [de, en]\nstart: say0\nnodes:\n"
        + says
        + f"  say{MAX_ROWS_PER_INSERT + 2}:\n"
        "    type: menu\n"
        "    prompt: {de: 'Drücken Sie die 1.', en: 'Press 1.'}\n"
        "    options: {'1': bye}\n"
        "    on_failure: bye\n"
        "  bye: {type: hangup, say: {de: 'Auf Wiederhören.', en: 'Goodbye.'}}\n"
    )
    with session_factory(app)() as session:
        publish_flow(session, flow, "long_test.yaml")
        session.commit()
    app.config["FLOW_NAME"] = "long_test"
    caller = phone()
    caller.dial()
    assert "Hinweis 0." in caller.heard and f"Hinweis {MAX_ROWS_PER_INSERT + 1}." in caller.heard
    assert caller.press("1").verb == "Hangup"
    caller.hang_up()
    with session_factory(app)() as session:
        query = select(Interaction).where(Interaction.call_sid == caller.call_sid)
        interaction = session.scalars(query).one()
        events = interaction.events
    assert [e.seq for e in events] == list(range(1, interaction.event_seq + 1))
    entered = [e.data["node"] for e in events if e.kind == "node"]
    assert entered[: MAX_ROWS_PER_INSERT + 3] == [f"say{n}" for n in range(MAX_ROWS_PER_INSERT + 3)]
    assert interaction.status == "completed" and events[-1].kind == "status"


def test_a_write_on_the_driver_cursor_reads_back_as_the_orm_wrote_it(
    app: Flask, phone: Callable[..., Phone]
) -> None:
    """``DriverStatement`` converts like SQLAlchemy (JSON, aware timestamps, flags) and is seen."""
    caller = phone()
    caller.dial()
    variables = {"grüße": ["ä", {"n": 1.5, "none": None}], "flag": True}
    berlin = datetime(2026, 11, 30, 9, 15, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    sql = "UPDATE calls SET variables = :variables, finished = :finished, updated_at = :at"
    update = DriverStatement(
        text(sql + " WHERE call_sid = :sid").bindparams(
            bindparam("variables", type_=Call.__table__.c.variables.type),
            bindparam("finished", type_=Call.__table__.c.finished.type),
            bindparam("at", type_=Call.__table__.c.updated_at.type),
        )
    )
    with statements(app) as seen, session_factory(app)() as session:
        update.run(session, {"variables": variables, "finished": True, "at": berlin, "sid": caller.call_sid})
        session.commit()
    assert seen[-1:] == ["UPDATE"]  # engine listeners see it (its BEGIN before it)
    with session_factory(app)() as session:
        call = session.scalars(select(Call).where(Call.call_sid == caller.call_sid)).one()
        assert call.variables == variables and call.finished is True
        assert call.updated_at == berlin and call.updated_at.utcoffset() == timedelta(0)


def test_a_row_read_on_the_driver_cursor_equals_the_orm_object(
    app: Flask, phone: Callable[..., Phone]
) -> None:
    """``DriverStatement.first`` converts results like the ORM (JSON, aware UTC, flags), and the
    object ``attach_row`` makes of the row is persistent: it lazy-loads and has nothing to flush."""
    caller = phone()
    caller.dial()
    caller.press("2")
    calls = Call.__table__
    query = DriverStatement(select(*calls.c).where(calls.c.call_sid == bindparam("sid")))
    with session_factory(app)() as session:
        orm = session.scalars(select(Call).where(Call.call_sid == caller.call_sid)).one()
        expected = {c.key: getattr(orm, c.key) for c in Call.__mapper__.column_attrs}
    with statements(app) as seen, session_factory(app)() as session:
        row = query.first(session, {"sid": caller.call_sid})
        assert row is not None and query.first(session, {"sid": "CA-unknown"}) is None
        call = attach_row(session, Call, dict(zip([c.name for c in calls.c], row, strict=True)))
        assert {key: getattr(call, key) for key in expected} == expected
        assert call.updated_at.utcoffset() == timedelta(0) and call.finished is False
        assert isinstance(call.variables, dict) and call.step == 2
        assert call.interaction.call_sid == caller.call_sid  # lazy-loaded through the session
        assert call in session and not session.dirty
        session.commit()
    assert seen.count("SELECT") == 3  # listeners see the driver's reads too


def test_a_row_inserted_on_the_driver_cursor_has_the_orm_defaults(
    app: Flask, phone: Callable[..., Phone]
) -> None:
    """``insert_row`` fills the columns' Python defaults as the ORM does and returns the row."""
    from ivr.privacy.models import Transcript

    caller = phone()
    caller.dial()
    with session_factory(app)() as session:
        interaction = session.scalars(
            select(Interaction).where(Interaction.call_sid == caller.call_sid)
        ).one()
        row = insert_row(session, Transcript, {"interaction_id": interaction.id, "text": "grüß Gott"})
        assert row.id is not None and row.source == "speech" and row.confidence is None
        assert row.created_at.utcoffset() == timedelta(0)
        assert row in session and not session.dirty
        session.commit()
        row_id = row.id
    with session_factory(app)() as session:
        stored = session.get_one(Transcript, row_id)
        assert (stored.text, stored.source, stored.interaction_id) == ("grüß Gott", "speech", interaction.id)
