"""The customer history shared by all channels: customers, interactions, events."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import BindParameter, Table, bindparam, insert, select, text, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from ivr.db import DriverStatement, insert_statement
from ivr.flows.steps import Event
from ivr.models import Customer, Interaction, InteractionEvent
from ivr.models._types import utcnow
from ivr.privacy.minimise import store_free_text
from ivr.privacy.models import Transcript

_EVENTS = cast(Table, InteractionEvent.__table__)
# Built once: statement construction and cache keys cost more CPU than running them.
_INSERT_EVENTS = insert(_EVENTS)
_EVENT_COLUMNS = ("interaction_id", "seq", "kind", "at", "data")
MAX_ROWS_PER_INSERT = 8
_CUSTOMERS = cast(Table, Customer.__table__)
# A customer's id by number, and a first contact's row: on the driver (``DriverStatement``),
# as every incoming call looks its caller up.
_CUSTOMER_ID = DriverStatement(select(_CUSTOMERS.c.id).where(_CUSTOMERS.c.phone == bindparam("phone")))
# ON CONFLICT instead of a savepoint: one statement; on PostgreSQL a concurrent first contact
# waits for the other transaction, then does nothing and the caller reads its row.
_NEW_CUSTOMER = insert_statement(_CUSTOMERS, ("phone", "created_at"), conflict="phone")
_GATHERING = "ivr.history.gathering"
#: Called with every batch of events ``log_events`` writes, inside the writing transaction.
EventsListener = Callable[[Session, Interaction, list[Event]], None]
_listeners: list[EventsListener] = []


def on_events_logged(listener: EventsListener) -> EventsListener:
    """Register ``listener`` for logged events (a plugin reacting to what happened in calls)."""
    _listeners.append(listener)
    return listener


def get_or_create_customer(session: Session, phone: str | None) -> Customer | None:
    """The customer with this E.164 number, created on first contact (None if unknown)."""
    found = customer_id(session, phone)
    return session.get(Customer, found) if found is not None else None


def customer_id(session: Session, phone: str | None) -> int | None:
    """The id of the customer with this E.164 number, created on first contact (None if unknown)."""
    if not phone:
        return None
    row = _CUSTOMER_ID.first(session, {"phone": phone})
    if row is None:
        row = _NEW_CUSTOMER.first(session, {"phone": phone, "created_at": utcnow()})
    if row is None:  # a concurrent first contact created it meanwhile
        row = _CUSTOMER_ID.first(session, {"phone": phone})
    return int(row[0]) if row is not None else None


def log_events(
    session: Session,
    interaction: Interaction,
    events: Iterable[Event],
    at: datetime | None = None,
) -> None:
    """Append events to an interaction's log, in order, with one ``INSERT``.

    The sequence numbers come from the interaction's own counter, incremented in one
    ``UPDATE … RETURNING``: it numbers the events and locks the interaction row until commit,
    so concurrent writers of one interaction (a step webhook and the status callback) queue up
    instead of both taking ``max(seq) + 1``. Lock order: a call's row before its interaction.
    (The call webhooks, which hold the lock already, number from the loaded counter instead:
    ``numbered_events``; while one gathers its step's events, events of its interaction join them.)
    """
    events = list(events)
    if not events:
        return
    gathering = session.info.get(_GATHERING)
    if gathering is not None and gathering[0] == interaction.id:
        gathering[1].extend(events)
        return
    # What a caller said is kept apart, under its own retention (docs/privacy.md).
    events = store_free_text(session, interaction, events)
    last = session.execute(
        update(Interaction)
        .where(Interaction.id == interaction.id)
        .values(event_seq=Interaction.event_seq + len(events))
        .returning(Interaction.event_seq),
        execution_options={"synchronize_session": False},
    ).scalar_one()
    set_committed_value(interaction, "event_seq", last)
    first = last - len(events) + 1
    insert_batch(session, EventBatch(interaction, events, _rows(interaction, events, first, at)))


@contextmanager
def gathering_events(session: Session, interaction: Interaction, events: list[Event]) -> Iterator[None]:
    """Within the block, ``log_events`` for ``interaction`` appends to ``events`` instead.

    For a call webhook, which holds the interaction's row lock and writes ``events`` with its
    own changes at the end of the step: what other modules log meanwhile (the caller queued)
    costs no counter update and insert of its own.
    """
    session.info[_GATHERING] = (interaction.id, events)
    try:
        yield
    finally:
        session.info.pop(_GATHERING, None)


@dataclass
class EventBatch:
    """Events of one interaction as rows numbered on from its loaded counter, not yet inserted."""

    interaction: Interaction
    events: list[Event]
    rows: list[dict[str, Any]]

    @property
    def last_seq(self) -> int:
        """The interaction's counter once these rows are in."""
        return self.interaction.event_seq + len(self.rows)

    def params(self) -> dict[str, Any]:
        """The rows as parameters of ``events_insert_parts(len(rows))``: ``<column>_<n>``."""
        return {f"{key}_{n}": value for n, row in enumerate(self.rows) for key, value in row.items()}


def numbered_events(
    session: Session, interaction: Interaction, events: list[Event], at: datetime | None = None
) -> EventBatch:
    """The rows for ``events``, numbered on from the interaction's loaded counter.

    What a caller said is stored apart here, under its own retention (docs/privacy.md). Whoever
    inserts the rows (``insert_batch``, or ``events_insert_parts`` and then ``announce``) tells the
    listeners.
    """
    if not events:
        return EventBatch(interaction, [], [])
    events = store_free_text(session, interaction, events)
    return EventBatch(interaction, events, _rows(interaction, events, interaction.event_seq + 1, at))


def announce(session: Session, batch: EventBatch) -> None:
    """Tell the listeners (``on_events_logged``) about a batch just inserted."""
    for listener in _listeners:
        listener(session, batch.interaction, batch.events)


def _rows(
    interaction: Interaction, events: list[Event], first: int, at: datetime | None
) -> list[dict[str, Any]]:
    when = at or utcnow()
    return [
        {"interaction_id": interaction.id, "seq": seq, "kind": e.kind, "at": when, "data": _clean(e.data)}
        for seq, e in enumerate(events, start=first)
    ]


def insert_batch(session: Session, batch: EventBatch) -> None:
    """Insert a batch of events (none: nothing) and announce it."""
    if not batch.rows:
        return
    # A statement, not ORM objects: no unit-of-work bookkeeping. One per batch size, built once
    # (psycopg runs an executemany as a pipeline, dearer than one multi-row INSERT).
    if len(batch.rows) <= MAX_ROWS_PER_INSERT:
        _events_insert(len(batch.rows)).run(session, batch.params())
    else:
        session.execute(_INSERT_EVENTS, batch.rows)
    announce(session, batch)


@functools.cache
def _events_insert(count: int) -> DriverStatement:
    """``INSERT … VALUES`` of ``count`` events (see ``events_insert_parts``)."""
    sql, types = events_insert_parts(count)
    return DriverStatement(text(sql).bindparams(*types))


def events_insert_parts(count: int) -> tuple[str, list[BindParameter[Any]]]:
    """SQL and typed parameters of an ``INSERT … VALUES`` of ``count`` events (at most
    ``MAX_ROWS_PER_INSERT``), parameters ``<column>_<n>`` (``EventBatch.params``).

    Text, not ``insert().values([...])``: SQLAlchemy caches no multi-VALUES insert, and compiling
    one for every webhook cost more CPU than the rest of its SQL.
    """
    rows = ", ".join("(" + ", ".join(f":{c}_{n}" for c in _EVENT_COLUMNS) + ")" for n in range(count))
    sql = f"INSERT INTO {_EVENTS.name} ({', '.join(_EVENT_COLUMNS)}) VALUES {rows}"
    return sql, [bindparam(f"{c}_{n}", type_=_EVENTS.c[c].type) for n in range(count) for c in _EVENT_COLUMNS]


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def customer_history(session: Session, phone: str) -> list[dict[str, Any]]:
    """A customer's interactions, newest first, each with its events."""
    customer = session.scalar(select(Customer).where(Customer.phone == phone))
    if customer is None:
        return []
    interactions = session.scalars(
        select(Interaction)
        .where(Interaction.customer_id == customer.id)
        .options(selectinload(Interaction.events))
        .order_by(Interaction.started_at.desc(), Interaction.id.desc())
    ).all()
    said = transcripts_of(session, [i.id for i in interactions])
    return [interaction_as_dict(i, said.get(i.id, [])) for i in interactions]


def transcripts_of(session: Session, interaction_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The transcripts of interactions (what events reference as ``*_ref``), by interaction id."""
    found: dict[int, list[dict[str, Any]]] = {}
    if not interaction_ids:
        return found
    rows = session.scalars(
        select(Transcript).where(Transcript.interaction_id.in_(interaction_ids)).order_by(Transcript.id)
    )
    for t in rows:
        assert t.interaction_id is not None
        found.setdefault(t.interaction_id, []).append(
            {
                "id": t.id,
                "node": t.node,
                "text": t.text,
                "confidence": t.confidence,
                "at": t.created_at.isoformat(),
            }
        )
    return found


def interaction_as_dict(
    interaction: Interaction, transcripts: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """An interaction, its events and its transcripts as plain JSON-ready data."""
    return {
        "call_sid": interaction.call_sid,
        "channel": interaction.channel,
        "direction": interaction.direction,
        "started_at": interaction.started_at.isoformat(),
        "ended_at": interaction.ended_at.isoformat() if interaction.ended_at else None,
        "status": interaction.status,
        "duration": interaction.duration,
        "outcome": interaction.outcome,
        "intent": interaction.intent,
        "language": interaction.language,
        "events": [
            {"seq": e.seq, "kind": e.kind, "at": e.at.isoformat(), "data": e.data} for e in interaction.events
        ],
        "transcripts": transcripts or [],
    }
