"""REST API for the shop: upsert orders and read one back, authenticated by API key."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, current_app, jsonify, make_response
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from ivr.apikeys import require_api_key
from ivr.db import get_session, unit_of_work
from ivr.models import Order
from ivr.orders.importer import CSV_HEADER, ORDER_NUMBER, InvalidOrder, parse_order, upsert_orders
from ivr.restapi import json_body

bp = Blueprint("orders_api", __name__, url_prefix="/api")

MAX_ORDERS_PER_REQUEST = 1000


@bp.post("/orders")
@require_api_key("orders")
def upsert() -> ResponseReturnValue:
    """Insert or update one order (a JSON object) or many (a list); all or nothing.

    Fields a record leaves out keep their stored values; ``null`` or ``""`` clears a field.
    """
    payload = json_body()
    records = payload if isinstance(payload, list) else [payload]
    if not 0 < len(records) <= MAX_ORDERS_PER_REQUEST or not all(isinstance(r, dict) for r in records):
        return jsonify(error=f"send an order object or a list of 1 to {MAX_ORDERS_PER_REQUEST}"), 400
    rows, errors = [], []
    for index, record in enumerate(records):
        try:
            rows.append(parse_order(record, current_app.config["DEFAULT_REGION"], partial=True))
        except InvalidOrder as exc:
            errors.append({"index": index, "reason": str(exc)})
    if errors:
        return jsonify(errors=errors), 422
    with unit_of_work() as session:
        count = upsert_orders(session, rows)
    return jsonify(upserted=count)


@bp.post("/orders/lookup")
@require_api_key("orders")
def lookup() -> ResponseReturnValue:
    """One order as JSON, named by ``{"order_number": …}`` (not in the URL, where logs keep it)."""
    body = json_body()
    number = body.get("order_number") if isinstance(body, dict) else None
    if not isinstance(number, str):
        return jsonify(error='send {"order_number": "<number>"}'), 400
    return show(number)


@bp.get("/orders/<number>")
@require_api_key("orders")
def show_deprecated(number: str) -> ResponseReturnValue:
    """Deprecated: the order number lands in access logs; use ``POST /api/orders/lookup``."""
    response = make_response(show(number))
    response.headers["Deprecation"] = "true"
    response.headers["Link"] = '</api/orders/lookup>; rel="successor-version"'
    return response


def show(number: str) -> ResponseReturnValue:
    """One order as JSON (404 if unknown)."""
    # A read: no write transaction (reads do not take SQLite's writer lock).
    order = (
        get_session().scalar(select(Order).where(Order.order_number == number))
        if ORDER_NUMBER.match(number)
        else None
    )
    if order is None:
        return jsonify(error="no such order"), 404
    return jsonify(order_as_dict(order))


def order_as_dict(order: Order) -> dict[str, Any]:
    """An order in the import format, dates as ISO 8601."""
    data: dict[str, Any] = {}
    for name in CSV_HEADER:
        value = getattr(order, name)
        data[name] = value.isoformat() if isinstance(value, date) else value
    data["updated_at"] = order.updated_at.isoformat()
    return data
