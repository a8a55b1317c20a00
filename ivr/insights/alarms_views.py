"""``GET /api/alarms``: recent alarms as JSON for the wallboard and integrations (scope ``kpis``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import BadRequest

from ivr.apikeys import require_api_key
from ivr.db import get_session
from ivr.insights.alarms_store import recent_alarms

bp = Blueprint("alarms_api", __name__, url_prefix="/api")

MAX_LIMIT = 200


@bp.get("/alarms")
@require_api_key("kpis")
def alarms() -> ResponseReturnValue:
    """Alarms whose window ended after ``since`` (ISO time with offset; default: the last 24 hours)."""
    now: datetime = current_app.config["CLOCK"]()
    since = _since(request.args.get("since"), now)
    try:
        limit = min(max(int(request.args.get("limit", "50")), 1), MAX_LIMIT)
    except ValueError:
        raise BadRequest("limit must be a whole number") from None
    session = get_session()
    try:
        found = recent_alarms(session, since, limit)
    finally:
        session.rollback()  # a read: no write lock, nothing kept open
    return jsonify({"since": since.isoformat(), "alarms": found})


def _since(raw: str | None, now: datetime) -> datetime:
    if not raw:
        return now - timedelta(hours=24)
    try:
        value = datetime.fromisoformat(raw[:40])
    except ValueError:
        raise BadRequest("since must be an ISO time with offset, e.g. 2026-11-24T08:00:00+01:00") from None
    if value.tzinfo is None:
        raise BadRequest("since needs a UTC offset, e.g. 2026-11-24T08:00:00+01:00")
    return value
