"""The audit trail: who (a console user or an API key) read, exported or erased whose data."""

from __future__ import annotations

from flask import g, has_request_context
from sqlalchemy import select
from sqlalchemy.orm import Session

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


def audit_entries(session: Session, limit: int = 200, before_id: int | None = None) -> list[AuditEntry]:
    """The newest entries first, ``limit`` at a time (page on with ``before_id``)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return list(session.scalars(query))
