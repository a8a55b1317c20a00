"""Operations on calls: start, advance by one webhook, record the final status."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import BindParameter, Table, bindparam, select, text
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from ivr.config import capture_mode
from ivr.customers import outbox
from ivr.db import DriverStatement, attach_row, insert_statement
from ivr.flows.engine import resume_flow, start_flow
from ivr.flows.nodes.base import CallState, Context
from ivr.flows.steps import CallerInput, Event, Step
from ivr.flows.store import flow_by_id, live_flow
from ivr.history import (
    MAX_ROWS_PER_INSERT,
    EventBatch,
    announce,
    customer_id,
    events_insert_parts,
    gathering_events,
    insert_batch,
    numbered_events,
)
from ivr.models import Call, Interaction
from ivr.models._types import utcnow
from ivr.models.interaction import ADDRESS_LENGTH
from ivr.phone import normalize_phone
from ivr.privacy.consent import store_consents
from ivr.privacy.minimise import call_details_forgotten
from ivr.services import Services

#: Renders a step as TwiML whose action URL carries the given step number.
Renderer = Callable[[Step, int], str]

FINAL_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}
#: The order of the non-final statuses; final ones rank above all (see ``_rank``).
STATUS_RANK = {"queued": 0, "initiated": 0, "ringing": 1, "in-progress": 2, "answered": 2}


# The tables a step writes, with statements of their own (``_together``), not the ORM's unit of
# work, which cost more CPU than the rest of a step's database work (docs/benchmarks.md).
_CALLS = cast(Table, Call.__table__)
_INTERACTIONS = cast(Table, Interaction.__table__)
_TABLES = {table.name: table for table in (_CALLS, _INTERACTIONS)}

# The webhooks' queries, built once: building a statement and its cache key costs more CPU
# than SQLite takes to run it. Parameters by name (``call_sid``).
_CALL = select(Call).where(Call.call_sid == bindparam("call_sid"))
# One statement locks the call's row and its interaction's (no-op on SQLite, which locks the
# file): duplicate webhooks and the status callback of one call queue up. Read on the driver
# (``_locked_call``): the ORM's loading of the two rows cost three times the query.
_LOCKED_CALL_ROW = DriverStatement(
    select(*_CALLS.c, *_INTERACTIONS.c)
    .join_from(_CALLS, _INTERACTIONS, _INTERACTIONS.c.id == _CALLS.c.interaction_id)
    .where(_CALLS.c.call_sid == bindparam("call_sid"))
    .with_for_update()
)
_CALL_KEYS = tuple(Call.__mapper__.get_property_by_column(c).key for c in _CALLS.c)
_INTERACTION_KEYS = tuple(Interaction.__mapper__.get_property_by_column(c).key for c in _INTERACTIONS.c)
# The same through the ORM, for a session that holds objects already (see ``_locked_call``).
_LOCKED_CALL = (
    _CALL.options(joinedload(Call.interaction, innerjoin=True))
    .with_for_update()
    .execution_options(populate_existing=True)
)
_LOCKED_INTERACTION = (
    select(Interaction)
    .where(Interaction.call_sid == bindparam("call_sid"))
    .with_for_update()
    .execution_options(populate_existing=True)
)
# A new call's interaction, once per CallSid: every column but the id as a parameter, the whole
# row back for ``attach_row``. On PostgreSQL a conflicting INSERT waits for the other
# transaction, then does nothing.
_CLAIM_COLUMNS = tuple(c.name for c in _INTERACTIONS.c if c.name != "id")
_CLAIM = insert_statement(_INTERACTIONS, _CLAIM_COLUMNS, conflict="call_sid")


class UnknownFlow(Exception):
    """No published version of the configured flow exists."""


class CallEnded(Exception):
    """The call already has its final status: the webhook gets a hang-up and changes nothing."""


@dataclass(frozen=True)
class IncomingCall:
    """The parameters of Twilio's incoming-call webhook that we use."""

    call_sid: str
    from_number: str | None
    to_number: str | None
    #: A console test call of this flow (any published flow, not only the answering one).
    test_flow: str | None = None


def start_call(
    session: Session,
    incoming: IncomingCall,
    config: dict[str, Any],
    render: Renderer,
    now: datetime | None = None,
) -> str:
    """Create the call and its history entry and answer with the flow's first step.

    Idempotent under concurrency: duplicates of the incoming-call webhook wait for the first
    one's transaction (``INSERT … ON CONFLICT DO NOTHING`` on the CallSid) and answer the same.
    """
    flow_name = incoming.test_flow or config["FLOW_NAME"]
    live = live_flow(session, flow_name)
    if live is None:
        raise UnknownFlow(flow_name)
    flow = live.flow
    caller = normalize_phone(incoming.from_number, config["DEFAULT_REGION"])
    interaction, created = _claim_interaction(session, incoming, caller, language=flow.default_language)
    if not created:  # a retry, a duplicate that got here first, or the status callback came first
        call = _load_call(session, incoming.call_sid)
        if call is not None:
            return call.last_response
        if interaction.ended_at is not None:  # its final status callback came first
            raise CallEnded(incoming.call_sid)
        interaction.language = flow.default_language
    if _status_moves(interaction, "in-progress"):  # its status callback said "ringing" first
        interaction.status = "in-progress"
    state = CallState(node=flow.start, language=flow.default_language)
    test = bool(incoming.test_flow)
    services = _services(session, config, incoming.call_sid, caller, interaction, test=test)
    ctx = Context(flow, state, now or utcnow(), services)
    if incoming.test_flow:  # kept apart from real calls in the history and the KPIs
        ctx.log("call_started", flow=flow.name, flow_version=live.version, test=True)
    else:
        ctx.log("call_started", flow=flow.name, flow_version=live.version)
    with gathering_events(session, interaction, ctx.events):
        step = start_flow(ctx)
    call = Call(call_sid=incoming.call_sid, interaction_id=interaction.id, flow_version_id=live.version_id)
    return _save(session, call, 1, interaction, ctx, step, render)


def continue_call(
    session: Session,
    call_sid: str,
    step_number: int | None,
    data: CallerInput,
    config: dict[str, Any],
    render: Renderer,
    now: datetime | None = None,
) -> str | None:
    """Apply the caller's input to the waiting node; None when the call is unknown.

    A webhook whose step number is not the current one is a retry or a stale duplicate:
    it gets the stored answer again and changes nothing. After the call's final status it
    raises ``CallEnded``.
    """
    call = _locked_call(session, call_sid)
    if call is None:
        return None
    interaction = call.interaction
    if interaction.ended_at is not None:  # the caller hung up: neither advance nor reveal anything
        raise CallEnded(call_sid)
    if step_number != call.step or call.finished:
        return call.last_response
    flow = flow_by_id(session, call.flow_version_id)
    # Deep copies: the ORM compares old and new JSON values, and a nested dict changed in
    # place would compare equal to itself and never be written.
    state = CallState(
        node=call.node,
        language=call.language,
        variables=copy.deepcopy(call.variables),
        counters=copy.deepcopy(call.counters),
    )
    caller = normalize_phone(interaction.from_number, config["DEFAULT_REGION"])
    services = _services(session, config, call_sid, caller, interaction, test=interaction.channel == "test")
    ctx = Context(flow, state, now or utcnow(), services)
    with gathering_events(session, interaction, ctx.events):
        step = resume_flow(ctx, data)
    return _save(session, call, call.step + 1, interaction, ctx, step, render)


def record_status(
    session: Session,
    call_sid: str,
    status: str,
    duration: int | None,
    params: Mapping[str, str | None],
    config: dict[str, Any],
) -> Interaction:
    """Record a status callback; a call we never saw (failed before answering) is logged too.

    Statuses only move forward (ringing < in-progress < final): a late or duplicated callback,
    and anything after the final status, changes and logs nothing.
    """
    # The call's row and its interaction's: the end of a call updates both.
    call = _locked_call(session, call_sid)
    interaction: Interaction | None
    if call is not None:
        interaction = call.interaction
    else:  # a call that never reached our flow: only its interaction, if any
        interaction = session.scalar(_LOCKED_INTERACTION, {"call_sid": call_sid})
    if interaction is None:
        incoming = IncomingCall(call_sid, params.get("From"), params.get("To"))
        caller = normalize_phone(incoming.from_number, config["DEFAULT_REGION"])
        interaction, created = _claim_interaction(session, incoming, caller, status="queued")
        if not created:  # the incoming-call webhook created it a moment ago
            call = _load_call(session, call_sid)
    if not _status_moves(interaction, status):
        return interaction
    # The changes go to the loaded objects as written values (``_written``), not as attribute
    # changes: a modified object would cost the session a unit-of-work flush that writes nothing.
    changes: dict[str, Any] = {"status": status}
    writes: list[_RowWrite] = []
    if status in FINAL_STATUSES:
        changes.update(ended_at=utcnow(), duration=duration, outcome=_outcome(call, status))
        if call is not None:  # what the flow needed to route lives only as long as the call
            call_changes = {**call_details_forgotten(call), "updated_at": utcnow()}
            _written(call, call_changes)
            writes.append(_RowWrite(_CALLS, call.id, call_changes))
    # The interaction is locked: its loaded counter numbers the event.
    batch = numbered_events(session, interaction, [Event("status", {"status": status, "duration": duration})])
    changes["event_seq"] = batch.last_seq
    _written(interaction, changes)
    _write_together(session, [_RowWrite(_INTERACTIONS, interaction.id, changes), *writes], batch)
    if status in FINAL_STATUSES:
        outbox.call_ended(session, config, interaction)
    return interaction


def _status_moves(interaction: Interaction, status: str) -> bool:
    """Whether ``status`` is a step forward for the interaction."""
    return interaction.ended_at is None and _rank(status) > _rank(interaction.status)


def _rank(status: str) -> int:
    return 3 if status in FINAL_STATUSES else STATUS_RANK.get(status, 0)


def _outcome(call: Call | None, status: str) -> str:
    """How the call ended, for KPIs: self_service, agent, voicemail, callback, abandoned, ..."""
    if call is None:
        return "failed" if status != "completed" else "abandoned"
    chosen = call.variables.get("outcome")
    if chosen:
        return str(chosen)
    return "completed" if call.finished else "abandoned"


def _claim_interaction(
    session: Session,
    incoming: IncomingCall,
    caller: str | None,
    status: str = "in-progress",
    language: str | None = None,
) -> tuple[Interaction, bool]:
    """The call's interaction and whether it is new; locked until commit (one per CallSid, race-free)."""
    values = dict.fromkeys(_CLAIM_COLUMNS) | {
        "customer_id": customer_id(session, caller),
        "channel": "test" if incoming.test_flow else "voice",
        "call_sid": incoming.call_sid,
        "direction": "inbound",
        "from_number": _address(caller or incoming.from_number),
        "to_number": _address(incoming.to_number),
        "started_at": utcnow(),
        "status": status,
        "language": language,
        "event_seq": 0,
    }
    row = _CLAIM.first(session, values)
    if row is not None:  # a new row: no object of it can be in the session yet
        return attach_row(session, Interaction, dict(zip(_INTERACTION_KEYS, row, strict=True))), True
    existing = session.scalars(_LOCKED_INTERACTION, {"call_sid": incoming.call_sid}).one()
    return existing, False


def _address(raw: str | None) -> str | None:
    """A caller or callee address as stored: bounded, so a very long SIP URI cannot fail the call."""
    return raw[:ADDRESS_LENGTH] if raw else raw


def _save(
    session: Session,
    call: Call,
    number: int,
    interaction: Interaction,
    ctx: Context,
    step: Step,
    render: Renderer,
) -> str:
    """Store the call's state after step ``number`` and log the step's events; returns its TwiML.

    Core statements, and the loaded objects told what was written (``set_committed_value``), so
    the session has nothing left to flush for them. A new ``call`` is inserted, never added.
    """
    state = ctx.state
    changes: dict[str, Any] = {
        "node": state.node,
        "language": state.language,
        "variables": state.variables,
        "counters": state.counters,
        "finished": step.finished,
        "step": number,
        "last_response": render(step, number),
        "updated_at": utcnow(),
    }
    store_consents(session, call, interaction, ctx.events)
    # The interaction is locked (inserted, or loaded FOR UPDATE): its counter numbers the events.
    # Stamped with the call's clock (the app's CLOCK), like every decision made in this step.
    batch = numbered_events(session, interaction, ctx.events, at=ctx.now)
    seen: dict[str, Any] = {"language": state.language, "event_seq": batch.last_seq}
    if "intent" in state.variables:
        seen["intent"] = state.variables["intent"]
    if call.id is None:
        identity = {"call_sid": call.call_sid, "interaction_id": call.interaction_id}
        call_write = _RowWrite(_CALLS, None, {**identity, "flow_version_id": call.flow_version_id, **changes})
    else:
        call_write = _RowWrite(_CALLS, call.id, changes)
        _written(call, changes)
    _written(interaction, seen)
    _write_together(session, [call_write, _RowWrite(_INTERACTIONS, interaction.id, seen)], batch)
    return str(changes["last_response"])


@dataclass(frozen=True)
class _RowWrite:
    """Values for one row: an update of row ``row_id``, or an insert when it is None."""

    table: Table
    row_id: int | None
    values: dict[str, Any]


def _write_together(session: Session, writes: list[_RowWrite], batch: EventBatch) -> None:
    """Write rows and insert a batch of events: one statement on PostgreSQL, one each on SQLite,
    run on the driver's cursor (``DriverStatement``).

    The rows are already locked (or new) in this transaction; their objects, if loaded, were
    told the values (``_written``), so the session has nothing to flush for them.
    """
    writes = [w for w in writes if w.values]
    if session.get_bind().dialect.name == "postgresql" and len(batch.rows) <= MAX_ROWS_PER_INSERT:
        if not writes and not batch.rows:
            return
        params = batch.params()
        for n, w in enumerate(writes):
            params.update({f"w{n}_{key}": value for key, value in w.values.items()})
            if w.row_id is not None:
                params[f"w{n}_row"] = w.row_id
        shape = tuple((w.table.name, w.row_id is None, tuple(w.values)) for w in writes)
        _together(shape, len(batch.rows)).run(session, params)
        announce(session, batch)
        return
    insert_batch(session, batch)
    for w in writes:
        params = {f"w0_{key}": value for key, value in w.values.items()}
        if w.row_id is not None:
            params["w0_row"] = w.row_id
        _together(((w.table.name, w.row_id is None, tuple(w.values)),), 0).run(session, params)


@functools.cache
def _together(shape: tuple[tuple[str, bool, tuple[str, ...]], ...], events: int) -> DriverStatement:
    """Row writes of this shape (table, insert?, columns) and ``events`` events as one statement
    (PostgreSQL: every part but the last in ``WITH``; SQLite: a single row write).

    Parameters ``w<n>_<column>`` and ``w<n>_row`` (the id an update writes), the events' as
    ``EventBatch.params`` names them. PostgreSQL runs every data-modifying ``WITH`` part exactly
    once, whatever the main part reads.
    """
    parts: list[str] = []
    types: list[BindParameter[Any]] = []
    for n, (name, insert_, columns) in enumerate(shape):
        table = _TABLES[name]
        if insert_:
            values = ", ".join(f":w{n}_{c}" for c in columns)
            parts.append(f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({values})")
        else:
            sets = ", ".join(f"{c} = :w{n}_{c}" for c in columns)
            parts.append(f"UPDATE {name} SET {sets} WHERE id = :w{n}_row")
        types += [bindparam(f"w{n}_{c}", type_=table.c[c].type) for c in columns]
    if events:
        events_sql, events_types = events_insert_parts(events)
        parts.append(events_sql)
        types += events_types
    ctes = ", ".join(f"w{n} AS ({sql})" for n, sql in enumerate(parts[:-1]))
    return DriverStatement(text((f"WITH {ctes} " if ctes else "") + parts[-1]).bindparams(*types))


def _written(row: Call | Interaction, values: dict[str, Any]) -> None:
    """Tell a loaded object the values just written to its row: they are not changes to flush."""
    for key, value in values.items():
        set_committed_value(row, key, value)


def _load_call(session: Session, call_sid: str) -> Call | None:
    return session.scalar(_CALL, {"call_sid": call_sid})


def _locked_call(session: Session, call_sid: str) -> Call | None:
    """The call with its interaction (``call.interaction``), both rows locked until commit."""
    if len(session.identity_map):  # objects read earlier in the transaction: the ORM reconciles
        return session.scalar(_LOCKED_CALL, {"call_sid": call_sid})
    row = _LOCKED_CALL_ROW.first(session, {"call_sid": call_sid})
    if row is None:
        return None
    split = len(_CALL_KEYS)
    interaction = attach_row(session, Interaction, dict(zip(_INTERACTION_KEYS, row[split:], strict=True)))
    call = dict(zip(_CALL_KEYS, row[:split], strict=True))
    return attach_row(session, Call, {**call, "interaction": interaction})


def _services(
    session: Session,
    config: dict[str, Any],
    call_sid: str,
    caller: str | None,
    interaction: Interaction,
    test: bool = False,
) -> Services:
    return Services(
        session=session,
        config=config,
        call_sid=call_sid,
        caller=caller,
        speech_capture=capture_mode(config),
        test=test,
        interaction=interaction,
    )
