"""REST API of the shared customer history: look up customers, read their history, add contacts."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import IntegrityError

from ivr.apikeys import require_api_key
from ivr.customers import outbox
from ivr.customers.history import (
    CHANNELS,
    MAX_PAGE,
    HistoryError,
    history_entry,
    history_page,
    parse_interaction,
    record_interaction,
)
from ivr.customers.idempotency import (
    HEADER,
    IdempotencyError,
    StoredAnswer,
    body_hash,
    check_key,
    remember,
    replay,
)
from ivr.customers.matching import customer_as_dict, find_customer, normalize_email, resolve_customer
from ivr.db import get_session, unit_of_work
from ivr.models._types import utcnow
from ivr.phone import normalize_phone
from ivr.restapi import MAX_ID, json_body

bp = Blueprint("customers_api", __name__, url_prefix="/api")

#: A contact from another channel is a few KB at most (summary ≤ 4000 characters).
MAX_INTERACTION_BODY = 16 * 1024
_LIMIT = re.compile(r"[0-9]{1,3}")
_KIND = re.compile(r"[a-z_]{1,30}")


@bp.errorhandler(HistoryError)
def _bad_request(exc: HistoryError) -> ResponseReturnValue:
    return jsonify(error=str(exc)), 400


@bp.errorhandler(LookupError)
def _not_found(exc: LookupError) -> ResponseReturnValue:
    return jsonify(error=str(exc.args[0]) if exc.args else "not found"), 404


@bp.errorhandler(IdempotencyError)
def _idempotency(exc: IdempotencyError) -> ResponseReturnValue:
    return jsonify(error=str(exc)), exc.status


@bp.get("/customers")
@require_api_key("history")
def lookup_by_query() -> ResponseReturnValue:
    """Refused: phone numbers, e-mails and order numbers in a URL end up in access logs."""
    return jsonify(error="look customers up with POST /api/customers/search and a JSON body"), 400


@bp.post("/customers/search")
@require_api_key("history")
def search() -> ResponseReturnValue:
    """The customers matching ``{"phone": …}``, ``{"email": …}`` and/or ``{"order": …}``."""
    body = json_body()
    if not isinstance(body, dict) or not body or set(body) - {"phone", "email", "order"}:
        raise HistoryError('send {"phone": …}, {"email": …} or {"order": …}')
    if any(not isinstance(v, str) or len(v) > 320 for v in body.values()):
        raise HistoryError("lookups must be texts of at most 320 characters")
    phone = email = None
    if (
        "phone" in body
        and (phone := normalize_phone(body["phone"], current_app.config["DEFAULT_REGION"])) is None
    ):
        raise HistoryError("'phone' is not a phone number")
    if "email" in body and (email := normalize_email(body["email"])) is None:
        raise HistoryError("'email' is not an e-mail address")
    order = body.get("order", "").strip()[:20] or None
    session = get_session()
    found = find_customer(session, phone=phone, email=email, order=order)
    return jsonify(customers=[customer_as_dict(session, c) for c in found])


@bp.get(f"/customers/<int(max={MAX_ID}):customer_id>")
@require_api_key("history")
def customer(customer_id: int) -> ResponseReturnValue:
    """One customer (a merged-away id answers with the record it was merged into)."""
    session = get_session()
    found = resolve_customer(session, customer_id)
    if found is None:
        raise LookupError(f"no customer {customer_id}")
    return jsonify(customer_as_dict(session, found))


@bp.get(f"/customers/<int(max={MAX_ID}):customer_id>/history")
@require_api_key("history")
def history(customer_id: int) -> ResponseReturnValue:
    """The customer's contacts on all channels, newest first: ``limit``, ``cursor``, ``channel``, ``kind``."""
    session = get_session()
    found = resolve_customer(session, customer_id)
    if found is None:
        raise LookupError(f"no customer {customer_id}")
    limit = request.args.get("limit", "25")
    if not _LIMIT.fullmatch(limit) or not 0 < int(limit) <= MAX_PAGE:
        raise HistoryError(f"'limit' must be 1 to {MAX_PAGE}")
    channels = tuple(c for value in request.args.getlist("channel") for c in value.split(",") if c)
    if unknown := sorted(set(channels) - set(CHANNELS)):
        raise HistoryError(f"unknown channel {', '.join(unknown)}; one of {', '.join(CHANNELS)}")
    kind = request.args.get("kind")
    if kind is not None and not _KIND.fullmatch(kind):
        raise HistoryError("'kind' must be an event kind such as wrapup or status")
    entries, cursor = history_page(session, found, request.args.get("cursor"), int(limit), channels, kind)
    return jsonify(customer=customer_as_dict(session, found), interactions=entries, next_cursor=cursor)


@bp.post("/interactions")
@require_api_key("history")
def create_interaction() -> ResponseReturnValue:
    """Record a contact from e-mail, chat, a ticket or a shop message; ``Idempotency-Key`` honoured."""
    if (request.content_length or 0) > MAX_INTERACTION_BODY or len(request.get_data()) > MAX_INTERACTION_BODY:
        return jsonify(error=f"the body must be at most {MAX_INTERACTION_BODY} bytes"), 413
    key = check_key(request.headers.get(HEADER))
    digest = body_hash(request.get_data())
    key_id: int = g.api_key[0]
    try:
        return _create(key, digest, key_id)
    except IntegrityError:  # the same key, sent twice at once: the other request won, answer as it did
        get_session().rollback()
        if key is None:
            raise
        return _create(key, digest, key_id)


def _create(key: str | None, digest: str, key_id: int) -> ResponseReturnValue:
    with unit_of_work() as session:
        if key is not None and (stored := replay(session, key_id, key, digest)) is not None:
            return _answer(stored, replayed=True)
        body = json_body()
        if not isinstance(body, dict):
            raise HistoryError("the body must be a JSON object")
        new = parse_interaction(body, current_app.config["DEFAULT_REGION"], utcnow())
        interaction = record_interaction(session, new)
        outbox.interaction_created(session, current_app.config, interaction)
        answer = StoredAnswer(
            201, json.dumps(history_entry(interaction) | {"events": []}, ensure_ascii=False)
        )
        if key is not None:
            remember(session, key_id, key, digest, answer, interaction.customer_id)
    return _answer(answer, replayed=False)


def _answer(answer: StoredAnswer, replayed: bool) -> Response:
    headers: dict[str, Any] = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(answer.body, answer.status, headers, mimetype="application/json")
