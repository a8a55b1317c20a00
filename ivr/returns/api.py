"""REST API for the shop: report returns and their progress (received, refunded), read them back."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from ivr.apikeys import require_api_key
from ivr.db import get_session, unit_of_work
from ivr.models._types import utcnow
from ivr.phone import normalize_phone
from ivr.restapi import json_body
from ivr.returns.proactive import give_consent, withdraw_consent
from ivr.returns.records import (
    InvalidReturn,
    apply_update,
    create_from_shop,
    find_return,
    parse_update,
    return_as_dict,
)

bp = Blueprint("returns_api", __name__, url_prefix="/api")


@bp.post("/returns")
@require_api_key("returns")
def create() -> ResponseReturnValue:
    """Store a return the shop registered (201), or update it when its number is known (200)."""
    payload = json_body()
    if not isinstance(payload, dict):
        return jsonify(error="send one return as a JSON object"), 400
    try:
        with unit_of_work() as session:
            known = "return_number" in payload and find_return(session, str(payload["return_number"]))
            row = create_from_shop(session, dict(current_app.config), payload, utcnow())
            data = return_as_dict(row)
    except InvalidReturn as exc:
        return jsonify(error=str(exc)), 422
    return jsonify(data), 200 if known else 201


@bp.patch("/returns/<number>")
@require_api_key("returns")
def update(number: str) -> ResponseReturnValue:
    """Change a return's state or dates (``{"state": "refunded", "refunded_on": "2026-11-30"}``)."""
    payload = json_body()
    if not isinstance(payload, dict) or not payload:
        return jsonify(error="send the changes as a JSON object"), 400
    try:
        changes = parse_update(payload)
        if "return_number" in payload or "order_number" in payload:
            raise InvalidReturn("return_number and order_number cannot be changed")
    except InvalidReturn as exc:
        return jsonify(error=str(exc)), 422
    with unit_of_work() as session:
        row = find_return(session, number)
        if row is None:
            return jsonify(error="no such return"), 404
        data = return_as_dict(apply_update(row, changes, utcnow()))
    return jsonify(data)


@bp.get("/returns/<number>")
@require_api_key("returns")
def show(number: str) -> ResponseReturnValue:
    """One return as JSON (404 if unknown)."""
    row = find_return(get_session(), number)
    if row is None:
        return jsonify(error="no such return"), 404
    return jsonify(return_as_dict(row))


@bp.post("/consents")
@require_api_key("orders")
def consent() -> ResponseReturnValue:
    """Record a customer's opt-in to delay notices by SMS (``{"phone", "source", "given_at"?}``), or its
    withdrawal (``"withdrawn": true``)."""
    payload = json_body()
    if not isinstance(payload, dict):
        return jsonify(error="send the consent as a JSON object"), 400
    phone = normalize_phone(str(payload.get("phone") or ""), current_app.config["DEFAULT_REGION"])
    source = payload.get("source")
    if phone is None:
        return jsonify(error="phone must be a phone number"), 422
    if payload.get("withdrawn") is True:
        with unit_of_work() as session:
            withdraw_consent(session, phone, utcnow())
        return jsonify(withdrawn=True)
    if not isinstance(source, str) or not 0 < len(source) <= 40:
        return jsonify(error="source must say where the customer opted in (1 to 40 characters)"), 422
    try:
        given = datetime.fromisoformat(str(payload["given_at"])) if payload.get("given_at") else utcnow()
    except ValueError:
        return jsonify(error="given_at must be an ISO 8601 time"), 422
    if given.tzinfo is None:
        return jsonify(error="given_at needs a time zone"), 422
    with unit_of_work() as session:
        give_consent(session, phone, source, given)
    return jsonify(phone=phone, source=source, given_at=given.isoformat()), 201
