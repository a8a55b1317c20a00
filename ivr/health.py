"""Health probes: a cheap liveness check and a readiness check that asks the database."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from ivr.db import session_factory

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__, url_prefix="/health")


@bp.get("")
def live() -> dict[str, str]:
    """Liveness: the process answers HTTP (touches nothing else)."""
    return {"status": "ok"}


@bp.get("/ready")
def ready() -> Response | tuple[Response, int]:
    """Readiness: 200 when the database answers, else 503 with the reason.

    Bounded by the database timeouts (``ivr.db.Timeouts``: connect, then statement).
    """
    engine = session_factory().kw["bind"]
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means: send no calls here
        log.warning("readiness: the database did not answer (%s)", type(exc).__name__)
        return jsonify(status="unavailable", reason="database did not answer"), 503
    return jsonify(status="ok", database="ok")
