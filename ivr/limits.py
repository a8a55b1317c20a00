"""Request limits: oversized and unauthenticated requests are refused before their body is read."""

from __future__ import annotations

import io
import re

from flask import Flask, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import RequestEntityTooLarge

from ivr.apikeys import PREFIX, request_key, unauthorized

#: The REST APIs of every capability (ivr/orders/api.py, ivr/callbacks_api.py).
API_PREFIX = "/api/"
#: X-Twilio-Signature is a base64 HMAC-SHA1: 28 characters. Anything else is refused unread.
SIGNATURE = re.compile(r"[A-Za-z0-9+/]{27}=")
MAX_KEY_LENGTH = 200


def init_app(app: Flask) -> None:
    """Check sizes and API key presence before any view reads a body."""
    app.before_request(refuse_before_reading)
    app.register_error_handler(RequestEntityTooLarge, too_large)


def refuse_before_reading() -> ResponseReturnValue | None:
    """413 for a declared body over the limit, 401 for an API request without a key: body unread."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and (request.content_length or 0) > limit:
        return too_large(RequestEntityTooLarge())
    if request.path.startswith(API_PREFIX) and not plausible_key(request_key()):
        return unauthorized()
    if limit is not None and request.content_length is None and "Transfer-Encoding" in request.headers:
        return buffer_streamed_body(limit)
    return None


def buffer_streamed_body(limit: int) -> ResponseReturnValue | None:
    """Read a chunked body up to ``limit``: 413 beyond it, else hand it to the view with its length.

    Werkzeug would silently cut such a body at the limit (a truncated form or JSON document);
    reading one byte more tells a body of exactly the limit from a bigger one.
    """
    environ = request.environ
    stream, data = environ["wsgi.input"], bytearray()
    while len(data) <= limit:
        chunk = stream.read(min(64 * 1024, limit + 1 - len(data)))
        if not chunk:
            break
        data += chunk
    if len(data) > limit:
        return too_large(RequestEntityTooLarge())
    environ["wsgi.input"] = io.BytesIO(bytes(data))
    environ["CONTENT_LENGTH"] = str(len(data))
    return None


def too_large(error: RequestEntityTooLarge) -> ResponseReturnValue:
    """The 413 answer; also for a chunked body that grows past the limit while it is read."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    message = f"request body too large (at most {limit} bytes)"
    if request.path.startswith(API_PREFIX):
        return jsonify(error=message), 413
    return message, 413, {"Content-Type": "text/plain; charset=utf-8"}


def plausible_key(key: str | None) -> bool:
    """Whether ``key`` could be one of our API keys at all (checked for real by the view)."""
    return key is not None and key.startswith(PREFIX) and len(key) <= MAX_KEY_LENGTH


def plausible_signature(signature: str) -> bool:
    """Whether a Twilio signature header has the shape of one, so a bogus one costs no parsing."""
    return SIGNATURE.fullmatch(signature) is not None
