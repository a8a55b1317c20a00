"""A person's returns, opt-ins and delay notices: exported on request, erased on request (GDPR Art. 15/17).

The person is found by phone number: their customer record and the orders placed with that number.
The privacy capability calls ``export_person`` / ``erase_person`` alongside the other tables' own.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from ivr.models import Customer, Order
from ivr.returns.models import ContactConsent, DelayNotice, ReturnDelivery, ReturnRequest
from ivr.returns.records import return_as_dict


def _order_numbers(session: Session, phone: str) -> list[str]:
    return list(session.scalars(select(Order.order_number).where(Order.phone == phone)))


def _returns_of(session: Session, phone: str) -> Any:
    customer_id = session.scalar(select(Customer.id).where(Customer.phone == phone))
    by_order = ReturnRequest.order_number.in_(_order_numbers(session, phone))
    return by_order if customer_id is None else or_(by_order, ReturnRequest.customer_id == customer_id)


def export_person(session: Session, phone: str) -> dict[str, Any]:
    """Everything this capability stores about the person with ``phone``."""
    returns = session.scalars(
        select(ReturnRequest).where(_returns_of(session, phone)).order_by(ReturnRequest.id)
    )
    consents = session.scalars(select(ContactConsent).where(ContactConsent.phone == phone))
    notices = session.scalars(
        select(DelayNotice).where(DelayNotice.order_number.in_(_order_numbers(session, phone)))
    )
    return {
        "returns": [return_as_dict(r) for r in returns],
        "consents": [
            {
                "purpose": c.purpose,
                "source": c.source,
                "given_at": c.given_at.isoformat(),
                "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else None,
            }
            for c in consents
        ],
        "delay_notices": [
            {"order_number": n.order_number, "day": n.day.isoformat(), "state": n.state} for n in notices
        ],
    }


def erase_person(session: Session, phone: str) -> int:
    """Delete the person's returns (with their deliveries), opt-ins and delay notices; how many rows."""
    ids = list(session.scalars(select(ReturnRequest.id).where(_returns_of(session, phone))))
    orders = _order_numbers(session, phone)
    statements = (
        delete(ReturnDelivery).where(ReturnDelivery.return_id.in_(ids)),
        delete(ReturnRequest).where(ReturnRequest.id.in_(ids)),
        delete(ContactConsent).where(ContactConsent.phone == phone),
        delete(DelayNotice).where(DelayNotice.order_number.in_(orders)),
    )
    erased = 0
    for statement in statements:
        result: Any = session.execute(statement)
        erased += int(result.rowcount)
    return erased
