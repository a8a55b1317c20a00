"""A customer's history across channels, page by page, and contacts recorded by other channels."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session, selectinload

from ivr.customers.matching import CustomerError, match_or_create_customer, normalize_email, resolve_customer
from ivr.history import interaction_as_dict
from ivr.models import Customer, Interaction, InteractionEvent
from ivr.phone import normalize_phone
from ivr.restapi import MAX_INT

#: Channels other systems write; ``voice`` comes only from calls.
OTHER_CHANNELS = ("email", "chat", "ticket", "shop_message")
CHANNELS = ("voice", *OTHER_CHANNELS)
DIRECTIONS = ("inbound", "outbound")
MAX_SUBJECT = 200
MAX_SUMMARY = 4000
MAX_REFERENCE = 200
MAX_PAGE = 100
#: Clocks of other systems may run a little ahead; more than this is a mistake.
FUTURE_SLACK = timedelta(minutes=5)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)


class HistoryError(ValueError):
    """A request for or to the history that cannot be served; the message says why (HTTP 400)."""


@dataclass(frozen=True)
class NewInteraction:
    """A contact on another channel, checked and normalised."""

    channel: str
    direction: str
    occurred_at: datetime
    subject: str | None
    summary: str | None
    external_ref: str | None
    customer_id: int | None
    phone: str | None
    email: str | None
    name: str | None


def parse_interaction(body: Mapping[str, Any], region: str, now: datetime) -> NewInteraction:
    """Check a POST /api/interactions body; HistoryError names the first bad field."""
    unknown = set(body) - {
        "channel", "direction", "occurred_at", "subject", "summary", "external_ref", "customer",
    }  # fmt: skip
    if unknown:
        raise HistoryError(f"unknown field {', '.join(sorted(unknown))}")
    channel = body.get("channel")
    if channel not in OTHER_CHANNELS:
        raise HistoryError(f"'channel' must be one of {', '.join(OTHER_CHANNELS)}")
    direction = body.get("direction", "inbound")
    if direction not in DIRECTIONS:
        raise HistoryError("'direction' must be inbound or outbound")
    occurred = _timestamp(body.get("occurred_at"), now)
    customer = body.get("customer")
    if not isinstance(customer, dict) or not customer or set(customer) - {"id", "phone", "email", "name"}:
        raise HistoryError("'customer' must be an object with 'id', or 'phone' and/or 'email' (and 'name')")
    customer_id = customer.get("id")
    if customer_id is not None and (isinstance(customer_id, bool) or not isinstance(customer_id, int)):
        raise HistoryError("'customer.id' must be a number")
    phone = email = None
    if customer.get("phone") is not None:
        phone = normalize_phone(_text(customer, "phone", 40), region)
        if phone is None:
            raise HistoryError("'customer.phone' is not a phone number")
    if customer.get("email") is not None:
        email = normalize_email(_text(customer, "email", 320))
        if email is None:
            raise HistoryError("'customer.email' is not an e-mail address")
    if customer_id is None and not phone and not email:
        raise HistoryError("give 'customer.id', 'customer.phone' or 'customer.email'")
    return NewInteraction(
        channel=channel,
        direction=direction,
        occurred_at=occurred,
        subject=_text(body, "subject", MAX_SUBJECT),
        summary=_text(body, "summary", MAX_SUMMARY),
        external_ref=_text(body, "external_ref", MAX_REFERENCE),
        customer_id=customer_id,
        phone=phone,
        email=email,
        name=_text(customer, "name", 200),
    )


def _text(body: Mapping[str, Any], field: str, limit: int) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        raise HistoryError(f"'{field}' must be a text of at most {limit} characters")
    return value.strip() or None


def _timestamp(value: Any, now: datetime) -> datetime:
    if value is None:
        return now
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) and len(value) <= 40 else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise HistoryError("'occurred_at' must be an ISO 8601 time with a UTC offset")
    if not EARLIEST <= when <= now + FUTURE_SLACK:
        raise HistoryError("'occurred_at' must be after 2000 and not in the future")
    return when.astimezone(UTC)


def record_interaction(session: Session, new: NewInteraction) -> Interaction:
    """Write another channel's contact into the customer's history (flushes, never commits)."""
    if new.customer_id is not None:
        customer = resolve_customer(session, new.customer_id)
        if customer is None:
            raise LookupError(f"no customer {new.customer_id}")
    else:
        try:
            customer = match_or_create_customer(session, new.phone, new.email, new.name)
        except CustomerError as exc:
            raise HistoryError(str(exc)) from None
    interaction = Interaction(
        customer_id=customer.id,
        channel=new.channel,
        direction=new.direction,
        started_at=new.occurred_at,
        ended_at=new.occurred_at,
        status="completed",
        subject=new.subject,
        summary=new.summary,
        external_ref=new.external_ref,
    )
    session.add(interaction)
    session.flush()
    return interaction


def history_page(
    session: Session,
    customer: Customer,
    cursor: str | None,
    limit: int,
    channels: Sequence[str] = (),
    kind: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the customer's history as JSON-ready data, and the cursor of the next page."""
    rows, next_cursor = history_rows(session, customer, cursor, limit, channels, kind)
    return [history_entry(i, kind) for i in rows], next_cursor


def history_rows(
    session: Session,
    customer: Customer,
    cursor: str | None,
    limit: int,
    channels: Sequence[str] = (),
    kind: str | None = None,
) -> tuple[list[Interaction], str | None]:
    """One page of the customer's interactions, newest first, and the cursor of the next page."""
    query = select(Interaction).where(Interaction.customer_id == customer.id)
    if channels:
        query = query.where(Interaction.channel.in_(channels))
    if kind:
        query = query.where(
            select(InteractionEvent.id)
            .where(InteractionEvent.interaction_id == Interaction.id, InteractionEvent.kind == kind)
            .exists()
        )
    # A row-value bound on every page, the first too: it makes the (customer, started_at, id) index
    # the plan. Without it PostgreSQL walked all contacts by time to reach a busy customer whose
    # contacts are old (83 ms with 300,000 contacts, growing with the table; 0.05 ms with it).
    started, last_id = _decode(cursor) if cursor else (END_OF_TIME, MAX_INT)
    query = query.where(tuple_(Interaction.started_at, Interaction.id) < tuple_(started, last_id))
    rows = list(
        session.scalars(
            query.options(selectinload(Interaction.events))
            .order_by(Interaction.started_at.desc(), Interaction.id.desc())
            .limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, _encode(rows[-1]) if more and rows else None


def history_entry(interaction: Interaction, kind: str | None = None) -> dict[str, Any]:
    """An interaction of any channel as JSON-ready data (only events of ``kind`` when given)."""
    entry = interaction_as_dict(interaction)
    if kind:
        entry["events"] = [e for e in entry["events"] if e["kind"] == kind]
    return {
        "id": interaction.id,
        "customer_id": interaction.customer_id,
        **entry,
        "subject": interaction.subject,
        "summary": interaction.summary,
        "external_ref": interaction.external_ref,
    }


def _encode(last: Interaction) -> str:
    raw = json.dumps([last.started_at.astimezone(UTC).isoformat(), last.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, int]:
    """The position a cursor stands for; HistoryError for anything we did not hand out."""
    try:
        if len(cursor) > 200:
            raise ValueError
        started, last_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        when = datetime.fromisoformat(started)
        if not isinstance(last_id, int) or isinstance(last_id, bool) or when.tzinfo is None:
            raise ValueError
        return when, last_id
    except (ValueError, TypeError, UnicodeDecodeError):
        raise HistoryError("'cursor' is not a cursor this API handed out") from None
