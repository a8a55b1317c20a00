"""REST API of the desk: queue figures and agents (state, skills), with scoped API keys.

The console calls the same operations (``presence.choose_activity``, ``queues.queue_overview``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from werkzeug.exceptions import BadRequest, NotFound

from callbacks.settings import Settings
from ivr.apikeys import require_api_key
from ivr.db import after_commit, unit_of_work
from ivr.desk.models import User
from ivr.desk.presence import PresenceError, choose_activity
from ivr.desk.queues import queue_overview
from ivr.desk.service import run_dispatch
from ivr.restapi import MAX_ID, json_body

bp = Blueprint("desk_api", __name__, url_prefix="/api")

MAX_TAGS = 20
MAX_TAG = 40


@bp.get("/queues")
@require_api_key("queues")
def queues() -> ResponseReturnValue:
    """Per queue: waiting and ringing callers, longest and expected wait, agents by state."""
    config = current_app.config
    with unit_of_work() as session:
        overview = queue_overview(session, config["CLOCK"](), Settings.from_config(config).handle_seconds)
    return jsonify(overview)


@bp.get("/agents")
@require_api_key("agents")
def agents() -> ResponseReturnValue:
    """Agents with their state, skills and languages (no e-mail addresses, no secrets)."""
    with unit_of_work() as session:
        rows = [
            _agent(u) for u in session.scalars(select(User).where(User.role == "agent").order_by(User.id))
        ]
    return jsonify(rows)


@bp.patch(f"/agents/<int(max={MAX_ID}):agent_id>")
@require_api_key("agents")
def update_agent(agent_id: int) -> ResponseReturnValue:
    """Change an agent's state (available, break with a reason, offline), skills or languages."""
    body = json_body()
    if not isinstance(body, dict) or not body or set(body) - {"activity", "reason", "skills", "languages"}:
        raise BadRequest("send an object with activity (and reason), skills and/or languages")
    with unit_of_work() as session:
        user = session.scalar(
            select(User)
            .where(User.id == agent_id, User.role == "agent")
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if user is None:
            raise NotFound(f"no agent {agent_id}")
        for field in ("skills", "languages"):
            if field in body:
                setattr(user, field, _tags(body[field], field))
        if "activity" in body:
            reason = body.get("reason")
            if not isinstance(body["activity"], str) or (reason is not None and not isinstance(reason, str)):
                raise BadRequest("activity and reason must be strings")
            try:
                choose_activity(session, user, body["activity"], reason)
            except PresenceError as exc:
                return jsonify(error=str(exc)), 409
        if user.activity == "available":
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            after_commit(session, lambda: run_dispatch(app, app.config))
        result = _agent(user)
    return jsonify(result)


def _tags(value: Any, field: str) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_TAGS:
        raise BadRequest(f"{field} must be a list of at most {MAX_TAGS} names")
    if not all(isinstance(v, str) and 0 < len(v.strip()) <= MAX_TAG for v in value):
        raise BadRequest(f"{field} must be names of 1 to {MAX_TAG} characters")
    return sorted({v.strip().lower() for v in value})


def _agent(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "skills": list(user.skills),
        "languages": list(user.languages),
        "activity": user.activity,
        "activity_reason": user.activity_reason,
        "activity_since": user.activity_since.isoformat(),
        "disabled": user.disabled,
    }
