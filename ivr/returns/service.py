"""Operations on returns: register one, find an order's latest, queue its deliveries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, func, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr.db import DriverStatement
from ivr.models import Customer, Order
from ivr.orders.services import setting
from ivr.returns.models import EMAIL, IN_PROGRESS, SHOP, SMS, ReturnDelivery, ReturnRequest
from ivr.returns.policy import is_mobile, new_label_token, new_return_number
from ivr.services import Services


@dataclass(frozen=True)
class NewReturn:
    """What a caller (or the shop) asked to return."""

    order_number: str
    items: list[str]
    reason: str
    phone: str | None = None
    email: str | None = None
    language: str = "de"


def label_channel(phone: str | None, email: str | None) -> str | None:
    """``sms`` for a mobile number, else ``email`` for an address, else None (an agent sends it)."""
    if is_mobile(phone):
        return SMS
    return EMAIL if email else None


def shop_webhook_configured(config: dict[str, Any]) -> bool:
    """Whether returns go to the shop by webhook (else agents work them from the console)."""
    return bool(setting(config, "RETURNS_WEBHOOK_URL"))


def register_return(
    session: Session,
    config: dict[str, Any],
    new: NewReturn,
    now: datetime,
    interaction_id: int | None = None,
    source: str = "phone",
) -> ReturnRequest:
    """Store a return and queue its label message and the shop webhook; flushes, never commits."""
    channel = label_channel(new.phone, new.email)
    customer_id = (
        session.scalar(select(Customer.id).where(Customer.phone == new.phone)) if new.phone else None
    )
    for _try in range(5):  # a random number taken already: draw again
        row = ReturnRequest(
            return_number=new_return_number(),
            order_number=new.order_number,
            customer_id=customer_id,
            interaction_id=interaction_id,
            items=list(new.items),
            reason=new.reason,
            source=source,
            label_via=channel,
            label_token=new_label_token() if channel else None,
            language=new.language,
            created_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            continue
        break
    else:  # pragma: no cover - 5 collisions among 90 million numbers
        raise RuntimeError("no free return number")
    # A return the shop reported itself goes back to nobody; one from a call to the caller and the shop.
    kinds = ([channel] if channel else []) + ([SHOP] if shop_webhook_configured(config) else [])
    if source != "phone":
        kinds = []
    for kind in kinds:
        session.add(ReturnDelivery(return_id=row.id, kind=kind, next_attempt_at=now, created_at=now))
    session.flush()
    return row


def latest_return(session: Session, order_number: str) -> ReturnRequest | None:
    """The order's newest return, or None."""
    return session.scalar(
        select(ReturnRequest)
        .where(ReturnRequest.order_number == order_number)
        .order_by(ReturnRequest.created_at.desc(), ReturnRequest.id.desc())
        .limit(1)
    )


class ReturnsService:
    """What the return node needs, on the webhook's session."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def latest(self, order_number: str) -> ReturnRequest | None:
        """The order's newest return, or None."""
        return latest_return(self.services.session, order_number)

    def count(self, order_number: str) -> int:
        """How many returns the order has (each item can be returned once)."""
        query = select(func.count()).where(ReturnRequest.order_number == order_number)
        return int(self.services.session.scalar(query) or 0)

    def in_progress(self, phone: str) -> tuple[str, date | None] | None:
        """The caller's newest unfinished return: (order number, order date), or None."""
        return return_in_progress(self.services.session, phone)

    def register(self, new: NewReturn, now: datetime) -> str:
        """Register the return for this call and return its number (a console test call stores nothing)."""
        if self.services.test:
            return "12345678"
        session = self.services.session
        interaction = self.services.call_interaction()
        interaction_id = interaction.id if interaction else None
        row = register_return(session, self.services.config, new, now, interaction_id)
        return row.return_number


def build_returns(services: Services) -> ReturnsService:
    """The returns service on the webhook's session."""
    return ReturnsService(services)


# Built once and run on the driver: every incoming call asks, for the proactive notice.
_IN_PROGRESS_BY_PHONE = DriverStatement(
    select(ReturnRequest.order_number, Order.ordered_at)
    .join(Order, Order.order_number == ReturnRequest.order_number)
    .where(
        Order.phone == bindparam("phone"),
        ReturnRequest.state.in_([literal(state) for state in sorted(IN_PROGRESS)]),
    )
    .order_by(ReturnRequest.created_at.desc(), ReturnRequest.id.desc())
    .limit(1)
)


def return_in_progress(session: Session, phone: str) -> tuple[str, date | None] | None:
    """(order number, order date) of the newest unfinished return on an order placed with ``phone``."""
    row = _IN_PROGRESS_BY_PHONE.first(session, {"phone": phone})
    return (row[0], row[1]) if row else None
