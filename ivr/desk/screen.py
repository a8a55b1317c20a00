"""What an agent sees of the call in front of them: who, why, what they asked, what came before."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from callbacks.models import OPEN, CallbackRequest
from ivr.desk.models import Task, User
from ivr.desk.voicemails import open_count
from ivr.models import Interaction, Order

#: Earlier contacts on any channel (calls, e-mails, chats, tickets, shop messages).
RECENT_CONTACTS = 5


@dataclass
class CallScreen:
    """The caller's context for the agent's screen (all of it already in our database)."""

    task: Task
    interaction: Interaction | None
    name: str | None
    phone: str | None
    verified: bool
    intent: str | None
    transcript: str | None
    order: Order | None
    recent: list[Interaction] = field(default_factory=list)
    callback: CallbackRequest | None = None
    customer_id: int | None = None


def current_task(session: Session, user: User) -> Task | None:
    """The task ringing for or connected to the agent, or the one they are wrapping up."""
    task = session.scalar(
        select(Task).where(Task.offered_to == user.id, Task.status.in_(("offered", "connected"))).limit(1)
    )
    if task is None and user.activity == "wrapup":
        task = session.scalar(
            select(Task)
            .where(Task.offered_to == user.id, Task.status == "completed")
            .order_by(Task.ended_at.desc(), Task.id.desc())
            .limit(1)
        )
    return task


def fingerprint(session: Session, user_id: int) -> tuple[Any, ...]:
    """A cheap value that changes whenever the agent's screen must change."""
    user = session.get(User, user_id)
    if user is None:
        return ("gone",)
    task = current_task(session, user)
    held = task is not None and task.context.get("on_hold_since") is not None
    return (
        user.activity,
        user.activity_since,
        task.id if task else None,
        task.status if task else None,
        held,
        open_count(session, user),  # a new voicemail is pushed to agents on duty
    )


def call_screen(session: Session, task: Task) -> CallScreen:
    """Everything the agent should know before saying hello."""
    interaction = (
        session.scalar(
            select(Interaction)
            .where(Interaction.id == task.interaction_id)
            .options(selectinload(Interaction.events), selectinload(Interaction.customer))
        )
        if task.interaction_id
        else None
    )
    customer = interaction.customer if interaction else None
    events = interaction.events if interaction else []
    phone = interaction.from_number if interaction else None
    order = _order_of(session, task.context.get("order_number"), phone)
    recent: list[Interaction] = []
    callback = None
    if customer is not None:
        recent = list(
            session.scalars(
                select(Interaction)
                .where(Interaction.customer_id == customer.id, Interaction.id != task.interaction_id)
                .order_by(Interaction.started_at.desc())
                .limit(RECENT_CONTACTS)
            )
        )
    if phone:
        callback = session.scalar(
            select(CallbackRequest)
            .where(CallbackRequest.phone == phone, CallbackRequest.status.in_(OPEN))
            .limit(1)
        )
    return CallScreen(
        task=task,
        interaction=interaction,
        name=(customer.name if customer else None) or (order.customer_name if order else None),
        phone=phone,
        verified=any((e.data or {}).get("verified") is True for e in events),
        intent=task.context.get("intent") or (interaction.intent if interaction else None),
        transcript=task.context.get("intent_text"),
        order=order,
        recent=recent,
        callback=callback,
        customer_id=customer.id if customer else None,
    )


def _order_of(session: Session, number: str | None, phone: str | None) -> Order | None:
    """The order the caller asked about, else the newest order placed with their number."""
    if number:
        return session.scalar(select(Order).where(Order.order_number == number))
    if phone and phone.startswith("+"):
        return session.scalar(
            select(Order)
            .where(Order.phone == phone)
            .order_by(Order.ordered_at.desc(), Order.id.desc())
            .limit(1)
        )
    return None
