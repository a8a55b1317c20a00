"""Finding the customer behind a phone number, an e-mail address or an order; merging two records."""

from __future__ import annotations

import re

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr.db import Base
from ivr.models import Customer, CustomerMerge, Order
from ivr.phone import normalize_phone

MAX_EMAIL = 320
#: Deliberately loose (RFC 5321 allows far more than any regex checks): one @, a dotted domain.
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
#: Most customers a search returns.
MAX_RESULTS = 20


class CustomerError(ValueError):
    """A customer operation that cannot be done as asked; the message says why."""


def normalize_email(raw: str | None) -> str | None:
    """``raw`` trimmed and lower-cased; None when it is not an e-mail address."""
    if not raw:
        return None
    email = raw.strip().lower()
    return email if len(email) <= MAX_EMAIL and _EMAIL.fullmatch(email) else None


def find_customer(
    session: Session, *, phone: str | None = None, email: str | None = None, order: str | None = None
) -> list[Customer]:
    """The customers with this E.164 phone, normalised e-mail or order number (phone first)."""
    found: list[Customer] = []
    if phone:
        found += session.scalars(select(Customer).where(Customer.phone == phone))
    if email:
        found += session.scalars(select(Customer).where(Customer.email == email))
    if order:
        row = session.scalar(select(Order).where(Order.order_number == order))
        if row is not None:
            if row.customer_id is not None:
                found += session.scalars(select(Customer).where(Customer.id == row.customer_id))
            else:  # imported before the customer existed: match the order's own contact data
                found += find_customer(session, phone=row.phone, email=normalize_email(row.email))
    return list(dict.fromkeys(found))


def search_customers(session: Session, text: str, region: str) -> list[Customer]:
    """Customers whose phone, e-mail, order number or name matches what an agent typed."""
    text = text.strip()
    if len(text) < 2:
        return []
    found = find_customer(
        session, phone=normalize_phone(text, region), email=normalize_email(text), order=text[:20]
    )
    pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    found += session.scalars(
        select(Customer)
        .where(func.lower(Customer.name).like(pattern, escape="\\"))
        .order_by(Customer.name, Customer.id)
        .limit(MAX_RESULTS)
    )
    return list(dict.fromkeys(found))[:MAX_RESULTS]


def resolve_customer(session: Session, customer_id: int) -> Customer | None:
    """The customer with this id, or the one it was merged into."""
    customer = session.get(Customer, customer_id)
    if customer is not None:
        return customer
    into = session.scalar(
        select(CustomerMerge.into_id).where(CustomerMerge.merged_id == customer_id).limit(1)
    )
    return session.get(Customer, into) if into is not None else None


def match_or_create_customer(
    session: Session, phone: str | None, email: str | None, name: str | None = None
) -> Customer:
    """The customer with this phone (else this e-mail), created when neither is known.

    A missing phone, e-mail or name of the found customer is filled in when no other customer
    has it; two records are never merged here (that is an explicit ``merge_customers``).
    """
    if not phone and not email:
        raise CustomerError("give the customer's phone or e-mail")
    matches = find_customer(session, phone=phone, email=email)
    if not matches:
        try:
            with session.begin_nested():
                customer = Customer(phone=phone, email=email, name=name)
                session.add(customer)
            return customer
        except IntegrityError:  # created by another request a moment ago
            matches = find_customer(session, phone=phone, email=email)
    customer = matches[0]
    if len(matches) == 1:
        if customer.phone is None and phone:
            customer.phone = phone
        if customer.email is None and email:
            customer.email = email
    if customer.name is None and name:
        customer.name = name
    return customer


def merge_customers(session: Session, keep_id: int, merge_id: int, by: str) -> Customer:
    """Move everything of customer ``merge_id`` to ``keep_id``, delete it, and record the merge.

    Every foreign key to ``customers`` is followed (tables added later included), so both
    histories, orders and callbacks end up with the kept record.
    """
    if keep_id == merge_id:
        raise CustomerError("a customer cannot be merged with itself")
    rows = {
        c.id: c
        for c in session.scalars(
            select(Customer)
            .where(Customer.id.in_((keep_id, merge_id)))
            .order_by(Customer.id)
            .with_for_update()
        )
    }
    missing = [str(i) for i in (keep_id, merge_id) if i not in rows]
    if missing:
        raise CustomerError(f"no customer {', '.join(missing)}")
    keep, gone = rows[keep_id], rows[merge_id]
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == Customer.__tablename__:
                session.execute(
                    update(table).where(fk.parent == merge_id).values({fk.parent.name: keep_id}),
                    execution_options={"synchronize_session": False},
                )
    taken = {"phone": gone.phone, "email": gone.email, "name": gone.name}
    gone.phone = gone.email = None
    session.flush()
    keep.phone = keep.phone or taken["phone"]
    keep.email = keep.email or taken["email"]
    keep.name = keep.name or taken["name"]
    session.execute(
        delete(Customer).where(Customer.id == merge_id), execution_options={"synchronize_session": False}
    )
    session.expunge(gone)
    session.add(CustomerMerge(merged_id=merge_id, into_id=keep_id, merged_by=by[:120]))
    session.flush()
    session.expire_all()
    return keep


def customer_as_dict(session: Session, customer: Customer) -> dict[str, object]:
    """A customer as JSON-ready data, with the ids merged into it."""
    merged = session.scalars(
        select(CustomerMerge.merged_id).where(CustomerMerge.into_id == customer.id).order_by(CustomerMerge.id)
    )
    return {
        "id": customer.id,
        "phone": customer.phone,
        "email": customer.email,
        "name": customer.name,
        "created_at": customer.created_at.isoformat(),
        "merged_from": list(merged),
    }
