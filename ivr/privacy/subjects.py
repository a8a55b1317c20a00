"""Find a person: a customer id, an e-mail address or a phone number, to every identifier of theirs."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from callbacks.models import CallbackRequest
from ivr.models import Customer, Interaction, Order
from ivr.phone import normalize_phone
from ivr.privacy.registry import Subject


class NotAnIdentifier(ValueError):
    """The identifier is neither a customer id, an e-mail address nor a phone number."""


def parse_identifier(raw: str, region: str) -> tuple[str, str | int]:
    """``("customer", id)``, ``("email", address)`` or ``("phone", e164)``."""
    value = raw.strip()
    if value.isdigit() and not value.startswith("0") and len(value) <= 9:
        return "customer", int(value)
    if "@" in value:
        return "email", value.lower()
    number = normalize_phone(value, region)
    if number is None:
        raise NotAnIdentifier("give a customer id, an e-mail address or a phone number")
    return "phone", number


def find_subject(session: Session, key: str, value: str | int) -> Subject:
    """Everything that identifies the person behind one identifier (empty if we know nothing)."""
    phones: set[str] = set()
    emails: set[str] = set()
    if key == "customer":
        where = Customer.id == value
    elif key == "email":
        emails.add(str(value))
        where = func.lower(Customer.email) == str(value)
    else:
        phones.add(str(value))
        where = Customer.phone == value
    customers = session.scalars(select(Customer).where(where)).all()
    customer_ids = {c.id for c in customers}
    phones |= {c.phone for c in customers if c.phone}
    emails |= {c.email.lower() for c in customers if c.email}
    orders = session.execute(
        select(Order.order_number).where(
            or_(
                Order.customer_id.in_(customer_ids),
                Order.phone.in_(phones),
                func.lower(Order.email).in_(emails),
            )
        )
    ).scalars()
    order_numbers = set(orders)
    rows = session.execute(
        select(Interaction.id, Interaction.call_sid, Interaction.ended_at).where(
            or_(
                Interaction.customer_id.in_(customer_ids),
                Interaction.from_number.in_(phones),
                Interaction.to_number.in_(phones),
            )
        )
    ).all()
    callbacks = session.execute(
        select(CallbackRequest.interaction_id, CallbackRequest.call_sid, CallbackRequest.dial_sid).where(
            or_(CallbackRequest.customer_id.in_(customer_ids), CallbackRequest.phone.in_(phones))
        )
    ).all()
    interaction_ids = {r.id for r in rows} | {c.interaction_id for c in callbacks if c.interaction_id}
    call_sids = {r.call_sid for r in rows if r.call_sid}
    call_sids |= {sid for c in callbacks for sid in (c.call_sid, c.dial_sid) if sid}
    live = [r for r in rows if r.ended_at is None]
    return Subject(
        customer_ids=frozenset(customer_ids),
        phones=frozenset(phones),
        emails=frozenset(emails),
        interaction_ids=frozenset(interaction_ids),
        call_sids=frozenset(call_sids),
        order_numbers=frozenset(order_numbers),
        live_call_sids=frozenset(r.call_sid for r in live if r.call_sid),
        live_interaction_ids=frozenset(r.id for r in live),
    )
