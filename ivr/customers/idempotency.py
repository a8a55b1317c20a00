"""``Idempotency-Key``: a repeated POST gets the first answer again instead of acting twice."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ivr.models import IdempotencyKey

HEADER = "Idempotency-Key"
#: How long a key is remembered: retries come within minutes; the stored answer holds personal data.
KEEP = timedelta(hours=24)
#: Printable ASCII, as Stripe and the IETF draft use them (UUIDs fit easily).
_KEY = re.compile(r"[\x21-\x7e]{1,100}")


class IdempotencyError(ValueError):
    """A key that is malformed (400) or reused for another request (409)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class StoredAnswer:
    """The answer given the first time."""

    status: int
    body: str


def check_key(raw: str | None) -> str | None:
    """The request's key, checked; None when the client sent none."""
    if raw is None:
        return None
    if not _KEY.fullmatch(raw):
        raise IdempotencyError(f"{HEADER} must be 1 to 100 printable ASCII characters", 400)
    return raw


def body_hash(body: bytes) -> str:
    """What identifies a request body."""
    return hashlib.sha256(body).hexdigest()


def replay(session: Session, api_key_id: int, key: str, digest: str) -> StoredAnswer | None:
    """The stored answer for this key, None if it is new; IdempotencyError if the body differs."""
    stored = session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.api_key_id == api_key_id, IdempotencyKey.key == key)
    )
    if stored is None:
        return None
    if stored.request_hash != digest:
        raise IdempotencyError(f"this {HEADER} was used for a different request", 409)
    return StoredAnswer(stored.status, stored.response)


def remember(
    session: Session, api_key_id: int, key: str, digest: str, answer: StoredAnswer, customer_id: int | None
) -> None:
    """Store the answer with the change it describes (the same transaction), and whose data it holds."""
    session.add(
        IdempotencyKey(
            api_key_id=api_key_id,
            key=key,
            request_hash=digest,
            status=answer.status,
            response=answer.body,
            customer_id=customer_id,
        )
    )
    session.flush()


def prune_keys(session: Session, now: datetime) -> int:
    """Forget keys older than ``KEEP``; returns how many."""
    result = session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at < now - KEEP),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
