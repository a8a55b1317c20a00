"""The audit trail: who (a console user or an API key) read, exported or erased whose data."""

from __future__ import annotations

from flask import g, has_request_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.models import Interaction
from ivr.privacy.models import AuditEntry

ACTIONS = ("read", "export", "erase")


def current_actor() -> str:
    """``api_key:<name>``, ``user:<id>`` in a request; ``cli`` outside one."""
    if not has_request_context():
        return "cli"
    key = g.get("api_key_name")
    if key:
        return f"api_key:{key}"
    from flask_login import current_user

    if getattr(current_user, "is_authenticated", False):
        return f"user:{current_user.id}"
    return "anonymous"


def record_access(session: Session, actor: str, action: str, customer_id: int | None, what: str = "") -> None:
    """Note one access to a person's data (in the same unit of work as the access)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    session.add(AuditEntry(actor=actor[:150], action=action, customer_id=customer_id, what=what[:100]))


def audit_call_screen(session: Session, user_id: int, interaction_id: int | None) -> None:
    """An agent is shown a caller's data (offered the call): one ``read`` entry, if a customer is known."""
    if interaction_id is None:
        return
    customer_id = session.scalar(select(Interaction.customer_id).where(Interaction.id == interaction_id))
    if customer_id is not None:
        record_access(session, f"user:{user_id}", "read", customer_id, what="call screen")


def audit_history_read(session: Session, phone: str) -> None:
    """``ivr history PHONE`` showed a customer's contacts."""
    from ivr.models import Customer

    customer_id = session.scalar(select(Customer.id).where(Customer.phone == phone))
    if customer_id is not None:
        record_access(session, current_actor(), "read", customer_id, what="history")


def audit_entries(session: Session, limit: int = 200, before_id: int | None = None) -> list[AuditEntry]:
    """The newest entries first, ``limit`` at a time (page on with ``before_id``)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return list(session.scalars(query))
