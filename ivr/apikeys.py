"""API keys for the REST APIs of every capability: created once, stored hashed, scoped, checked."""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, TypeVar

from flask import g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ivr.db import get_session, unit_of_work
from ivr.models import ApiKey
from ivr.models._types import utcnow

PREFIX = "hl_"
#: Every scope a key can be given: one per REST API (some APIs are still to come).
SCOPES = ("orders", "callbacks", "history", "returns", "kpis", "agents", "queues", "privacy")
#: ``last_used_at`` is written at most this often per key, so reads do not all take the write lock.
LAST_USED_RESOLUTION = timedelta(minutes=1)

View = TypeVar("View", bound=Callable[..., ResponseReturnValue])


class ApiKeyError(ValueError):
    """An API key cannot be created or changed as asked; the message says why."""


def _digest(key: str) -> str:
    # Keys are 256 random bits, so a plain SHA-256 cannot be brute-forced; no slow KDF needed.
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(session: Session, name: str, scopes: Iterable[str]) -> str:
    """Create a key for client ``name`` allowed ``scopes`` and return it (it cannot be shown again)."""
    wanted = tuple(dict.fromkeys(scopes))
    unknown = [s for s in wanted if s not in SCOPES]
    if unknown:
        raise ApiKeyError(f"unknown scope {', '.join(unknown)}; one of {', '.join(SCOPES)}")
    if not wanted:
        raise ApiKeyError(f"give the key at least one scope: {', '.join(SCOPES)}")
    if not name.strip() or len(name) > 100:
        raise ApiKeyError("the name must be 1 to 100 characters")
    if session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise ApiKeyError(f"an API key named '{name}' exists already; choose another name")
    key = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(name=name, key_hash=_digest(key), scopes=" ".join(wanted)))
    session.flush()
    return key


def list_api_keys(session: Session) -> list[ApiKey]:
    """Every key, revoked ones included, by name."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.name)))


def revoke_api_key(session: Session, name: str) -> ApiKey:
    """Revoke the key named ``name`` (ApiKeyError if there is none); revoking twice is harmless."""
    found = session.scalar(select(ApiKey).where(ApiKey.name == name))
    if found is None:
        raise ApiKeyError(f"no API key named '{name}'")
    found.revoked = True
    session.flush()
    return found


def authenticate(session: Session, key: str | None) -> ApiKey | None:
    """The active API key matching ``key``, or None (reads only)."""
    if not key or not key.startswith(PREFIX) or len(key) > 200:
        return None
    return session.scalar(select(ApiKey).where(ApiKey.key_hash == _digest(key), ApiKey.revoked.is_(False)))


def require_api_key(scope: str) -> Callable[[View], View]:
    """Let a view run only for a valid, unrevoked key that has ``scope`` (else 401 or 403)."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            session = get_session()
            found = authenticate(session, request_key())
            allowed, key_id, key_name, last_used = (
                (scope in found.scope_names, found.id, found.name, found.last_used_at)
                if found
                else (False, 0, "", None)
            )
            g.api_key_name = found.name if found else None  # who did it, for the privacy audit
            session.rollback()  # end the read, so the view's unit of work begins afresh
            if found is None:
                return unauthorized()
            if not allowed:
                return jsonify(error=f"this API key may not use the {scope} API"), 403
            g.api_key = (key_id, key_name)  # who is asking: idempotency keys, audit
            now = utcnow()
            if last_used is None or now - last_used >= LAST_USED_RESOLUTION:
                with unit_of_work() as writing:
                    writing.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
            return view(*args, **kwargs)

        return checked  # type: ignore[return-value]

    return decorate


def request_key() -> str | None:
    """The key the current request carries (``Authorization: Bearer`` or ``X-API-Key``)."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("X-API-Key")


def unauthorized() -> ResponseReturnValue:
    """The 401 answer to a request without a valid key."""
    return jsonify(error="a valid API key is required"), 401, {"WWW-Authenticate": "Bearer"}
