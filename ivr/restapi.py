"""What every REST API shares: JSON errors with a 4xx status, and JSON bodies parsed safely."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import BadRequest, HTTPException

#: Paths under this prefix answer errors as JSON ``{"error": "..."}``, never as HTML.
API_PREFIX = "/api/"
#: Deepest nesting of arrays and objects a body may have (orders are 2 levels deep).
MAX_JSON_DEPTH = 32
#: Integers must fit the database's BIGINT.
MAX_INT = 2**63 - 1
#: The largest id a path may carry (``<int(max=MAX_ID):id>``); larger ones are 404.
MAX_ID = MAX_INT

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def register(app: Flask) -> None:
    """Answer HTTP errors on API paths as JSON (404 and 405 of routing included)."""
    app.register_error_handler(HTTPException, _http_error)


def _http_error(exc: HTTPException) -> HTTPException | tuple[Response, int]:
    if not request.path.startswith(API_PREFIX):
        return exc
    status = exc.code or 500
    message = exc.description if status < 500 else "internal error; nothing was changed"
    response = jsonify(error=message)
    for name, value in exc.get_headers():
        if name.lower() not in {"content-type", "content-length"}:
            response.headers[name] = value
    return response, status


def json_body(*, empty: Any = None) -> Any:
    """The request's JSON body, parsed with bounded depth and integer size; ``empty`` if none."""
    data = request.get_data(cache=True)
    if not data.strip():
        if empty is None:
            raise BadRequest("the body must be JSON")
        return empty
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("the body must be JSON in UTF-8") from None
    if _depth(text) > MAX_JSON_DEPTH:
        raise BadRequest(f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text, parse_int=_bounded_int, parse_constant=_no_constant)
    except _OutOfRange:
        raise BadRequest(f"integers must be between {-MAX_INT} and {MAX_INT}") from None
    except (ValueError, RecursionError):
        raise BadRequest("the body is not valid JSON") from None


class _OutOfRange(Exception):
    """An integer in a JSON body that no column can hold."""


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > 19 or abs(value := int(text)) > MAX_INT:
        raise _OutOfRange
    return value


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _depth(text: str) -> int:
    """How deep arrays and objects nest, ignoring brackets inside strings."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub("", text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest
