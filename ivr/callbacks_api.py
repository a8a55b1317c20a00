"""Agent REST API on the callback queue: list, claim, complete, cancel; API key required."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from callbacks.claiming import claim_for_agent
from callbacks.models import OPEN, STATES
from callbacks.queue import (
    CallbackError,
    NotFound,
    cancel_request,
    complete_request,
    list_queue,
    request_as_dict,
)
from callbacks.settings import Settings
from ivr.apikeys import require_api_key
from ivr.db import unit_of_work
from ivr.phone import normalize_phone
from ivr.restapi import MAX_ID, json_body

bp = Blueprint("callbacks_api", __name__, url_prefix="/api/callbacks")

MAX_LIST = 1000
MAX_TEXT = 2000
#: ASCII digits only: str.isdigit() also accepts '²', which int() refuses.
LIMIT = re.compile(r"[0-9]{1,6}")


class BadBody(Exception):
    """The query or JSON body cannot be used (message is sent to the client)."""


@bp.errorhandler(BadBody)
def _bad_body(exc: BadBody) -> ResponseReturnValue:
    return jsonify(error=str(exc)), 400


@bp.errorhandler(NotFound)
def _not_found(exc: NotFound) -> ResponseReturnValue:
    return jsonify(error=str(exc)), 404


@bp.errorhandler(CallbackError)
def _conflict(exc: CallbackError) -> ResponseReturnValue:
    return jsonify(error=str(exc)), 409


@bp.get("")
@require_api_key("callbacks")
def list_requests() -> ResponseReturnValue:
    """Requests, most urgent first; ``?status=`` (repeatable or comma-separated), ``phone``, ``limit``."""
    with unit_of_work() as session:
        statuses, phone, limit = _list_filters(
            request.args.getlist("status"), request.args.get("phone"), request.args.get("limit", "100")
        )
        response = jsonify([request_as_dict(r) for r in list_queue(session, statuses, phone, limit)])
    if "phone" in request.args:  # a phone number in a URL ends up in access logs
        response.headers["Deprecation"] = "true"
        response.headers["Link"] = '</api/callbacks/search>; rel="successor-version"'
    return response


@bp.post("/search")
@require_api_key("callbacks")
def search_requests() -> ResponseReturnValue:
    """Requests, most urgent first, filtered by ``{"phone", "status", "limit"}``: no number in the URL."""
    body = _body()
    status = body.get("status") or []
    statuses = [status] if isinstance(status, str) else status
    if not isinstance(statuses, list) or not all(isinstance(s, str) for s in statuses):
        raise BadBody("status must be a status or a list of them")
    phone, limit = body.get("phone"), body.get("limit", 100)
    if phone is not None and not isinstance(phone, str):
        raise BadBody("phone is not a phone number")
    if isinstance(limit, bool) or not isinstance(limit, int | str):
        raise BadBody(f"limit must be 1 to {MAX_LIST}")
    with unit_of_work() as session:
        found, number, most = _list_filters(statuses, phone, str(limit))
        return jsonify([request_as_dict(r) for r in list_queue(session, found, number, most)])


@bp.post("/claim")
@require_api_key("callbacks")
def claim() -> ResponseReturnValue:
    """Claim the most urgent due request for ``{"agent": name or id}``; 204 when none is due."""
    with unit_of_work() as session:
        agent = _body().get("agent")
        if isinstance(agent, bool) or not isinstance(agent, (str, int)) or agent == "":
            raise BadBody('send {"agent": "<name>"} or {"agent": <id>}')
        claimed = claim_for_agent(
            session, agent, current_app.config["CLOCK"](), Settings.from_config(current_app.config).dial_lease
        )
        if claimed is None:
            return "", 204
        return jsonify(request_as_dict(claimed))


@bp.post(f"/<int(max={MAX_ID}):request_id>/complete")
@require_api_key("callbacks")
def complete(request_id: int) -> ResponseReturnValue:
    """Mark a callback done with ``{"note": "..."}`` (the note is optional)."""
    with unit_of_work() as session:
        note = _text(_body(), "note")
        done = complete_request(session, request_id, note, current_app.config["CLOCK"]())
        return jsonify(request_as_dict(done))


@bp.post(f"/<int(max={MAX_ID}):request_id>/cancel")
@require_api_key("callbacks")
def cancel(request_id: int) -> ResponseReturnValue:
    """Withdraw a waiting request, with an optional ``{"reason": "..."}``."""
    with unit_of_work() as session:
        reason = _text(_body(), "reason") or "cancelled"
        return jsonify(request_as_dict(cancel_request(session, request_id, reason)))


def _list_filters(status: list[str], raw: str | None, limit: str) -> tuple[tuple[str, ...], str | None, int]:
    """The list's filters, checked; no status means the open ones, as in the CLI."""
    statuses = tuple(s for value in status for s in value.split(",") if s)
    unknown = sorted(set(statuses) - set(STATES))
    if unknown:
        raise BadBody(f"unknown status {', '.join(unknown)}; one of {', '.join(STATES)}")
    phone = None
    if raw:
        phone = normalize_phone(raw, current_app.config["DEFAULT_REGION"])
        if phone is None:
            raise BadBody("phone is not a phone number")
    if not LIMIT.fullmatch(limit) or not 0 < int(limit) <= MAX_LIST:
        raise BadBody(f"limit must be 1 to {MAX_LIST}")
    return statuses or OPEN, phone, int(limit)


def _body() -> dict[str, Any]:
    """The JSON object sent; an empty body counts as ``{}``."""
    body = json_body(empty={})
    if not isinstance(body, dict):
        raise BadBody("the body must be a JSON object")
    return body


def _text(body: dict[str, Any], field: str) -> str | None:
    """An optional short text field of the body."""
    value = body.get(field)
    if value is not None and (not isinstance(value, str) or len(value) > MAX_TEXT):
        raise BadBody(f"'{field}' must be a text of at most {MAX_TEXT} characters")
    return value
