"""The customer history shared by all channels: customers, interactions, events."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from ivr.flows.steps import Event
from ivr.models import Customer, Interaction, InteractionEvent
from ivr.models._types import utcnow
from ivr.privacy.minimise import store_free_text
from ivr.privacy.models import Transcript


def get_or_create_customer(session: Session, phone: str | None) -> Customer | None:
    """The customer with this E.164 number, created on first contact (None if unknown)."""
    if not phone:
        return None
    customer = session.scalar(select(Customer).where(Customer.phone == phone))
    if customer is not None:
        return customer
    try:
        with session.begin_nested():
            customer = Customer(phone=phone)
            session.add(customer)
    except IntegrityError:  # another worker created it a moment ago
        customer = session.scalars(select(Customer).where(Customer.phone == phone)).one()
    return customer


def log_events(
    session: Session, interaction: Interaction, events: Iterable[Event], at: datetime | None = None
) -> None:
    """Append events to an interaction's log, in order.

    The sequence numbers come from the interaction's own counter, incremented in one
    ``UPDATE … RETURNING``: it numbers the events and locks the interaction row until commit,
    so concurrent writers of one interaction (a step webhook and the status callback) queue up
    instead of both taking ``max(seq) + 1``. Lock order: a call's row before its interaction.
    """
    events = list(events)
    if not events:
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
    when = at or utcnow()
    first = last - len(events) + 1
    for seq, event in enumerate(events, start=first):
        session.add(
            InteractionEvent(
                interaction_id=interaction.id,
                seq=seq,
                kind=event.kind,
                at=when,
                data=_clean(event.data),
            )
        )


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
