"""The privacy API for the console and the shop (scope ``privacy``): export and erase a person.

People are named by customer id in the path, or by phone or e-mail in a POST body: never in a
URL, where access logs would keep them.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from ivr.apikeys import require_api_key
from ivr.db import session_factory
from ivr.privacy.audit import current_actor
from ivr.privacy.service import erase_person, export_person
from ivr.privacy.subjects import NotAnIdentifier, parse_identifier
from ivr.restapi import MAX_ID, json_body

bp = Blueprint("privacy_api", __name__, url_prefix="/api/privacy")


def _identifier(body: Any) -> tuple[str, str | int]:
    """The person a body names: ``customer_id``, ``phone`` or ``email`` (exactly one)."""
    if not isinstance(body, dict):
        raise NotAnIdentifier("send a JSON object with customer_id, phone or email")
    given = {k: body[k] for k in ("customer_id", "phone", "email") if body.get(k) not in (None, "")}
    if len(given) != 1:
        raise NotAnIdentifier("name the person by exactly one of customer_id, phone or email")
    ((name, value),) = given.items()
    if name == "customer_id":
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_ID:
            raise NotAnIdentifier("customer_id must be a positive whole number")
        return "customer", value
    if not isinstance(value, str) or len(value) > 320:
        raise NotAnIdentifier(f"{name} must be a string")
    key, parsed = parse_identifier(value, current_app.config["DEFAULT_REGION"])
    if key != name:
        raise NotAnIdentifier(f"{name} is not a valid {name.replace('_', ' ')}")
    return key, parsed


@bp.get(f"/customers/<int(max={MAX_ID}):customer_id>/export")
@require_api_key("privacy")
def export_customer(customer_id: int) -> ResponseReturnValue:
    """Everything stored about one customer (Art. 15/20); 404 if nothing is."""
    data = export_person(session_factory(), current_app.config, "customer", customer_id, current_actor())
    if not data["tables"]:
        return jsonify(error="no such customer"), 404
    return jsonify(data)


@bp.post("/exports")
@require_api_key("privacy")
def export_by_body() -> ResponseReturnValue:
    """Everything stored about the person a body names by phone, e-mail or customer id."""
    try:
        key, value = _identifier(json_body())
    except NotAnIdentifier as exc:
        return jsonify(error=str(exc)), 422
    return jsonify(export_person(session_factory(), current_app.config, key, value, current_actor()))


@bp.post("/erasures")
@require_api_key("privacy")
def erase() -> ResponseReturnValue:
    """Erase the person a body names everywhere; repeating it changes nothing (Art. 17)."""
    try:
        key, value = _identifier(json_body())
    except NotAnIdentifier as exc:
        return jsonify(error=str(exc)), 422
    report = erase_person(session_factory(), current_app.config, key, value, current_actor())
    status = 200 if report.already_erased or not report.counts else 201
    return jsonify(
        erased=report.counts,
        already_erased=report.already_erased,
        recordings_deleted_at_twilio=len(report.recording_sids),
        waiting_for_live_calls=len(report.live_call_sids),
    ), status
