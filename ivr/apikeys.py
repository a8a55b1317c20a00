"""API keys for the REST APIs of every capability: created once, stored hashed, checked per request."""

from __future__ import annotations

import hashlib
import secrets

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.models import ApiKey
from ivr.models._types import utcnow

PREFIX = "hl_"


def _digest(key: str) -> str:
    # Keys are 256 random bits, so a plain SHA-256 cannot be brute-forced; no slow KDF needed.
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(session: Session, name: str) -> str:
    """Create a key for client ``name`` and return it (it cannot be shown again)."""
    key = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(name=name, key_hash=_digest(key)))
    session.flush()
    return key


def authenticate(session: Session, key: str | None) -> ApiKey | None:
    """The active API key matching ``key``, or None."""
    if not key or not key.startswith(PREFIX) or len(key) > 200:
        return None
    found = session.scalar(select(ApiKey).where(ApiKey.key_hash == _digest(key), ApiKey.revoked.is_(False)))
    if found is not None:
        found.last_used_at = utcnow()
    return found


def request_key() -> str | None:
    """The key the current request carries (``Authorization: Bearer`` or ``X-API-Key``)."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("X-API-Key")


def unauthorized() -> ResponseReturnValue:
    """The 401 answer to a request without a valid key."""
    return jsonify(error="a valid API key is required"), 401, {"WWW-Authenticate": "Bearer"}
