"""Bad requests to the REST APIs get a JSON error with a 4xx status, never a 500 or an HTML page."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from ivr.apikeys import create_api_key

HUGE = 2**64 + 1


@pytest.fixture
def headers(session: Session) -> dict[str, str]:
    """A key for every API these tests touch."""
    key = create_api_key(session, "everything", ["orders", "callbacks"])
    session.commit()
    return {"X-API-Key": key}


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error"),
    [
        ("get", "/api/callbacks?limit=²", None, 400, "limit must be 1 to 1000"),
        ("get", "/api/callbacks?limit=99999999999999999999999", None, 400, "limit must be 1 to 1000"),
        ("post", "/api/callbacks/claim", f'{{"agent": {HUGE}}}', 400, "integers must be between"),
        ("post", "/api/callbacks/claim", '{"agent": 1' + "0" * 5000 + "}", 400, "integers must be between"),
        ("post", "/api/orders", f'{{"order_number": {HUGE}, "status": "shipped"}}', 400, "integers must be"),
        ("post", "/api/orders", "[" * 100_000 + "]" * 100_000, 400, "nested deeper than 32 levels"),
        ("post", "/api/callbacks/claim", "[" * 100_000, 400, "nested deeper than 32 levels"),
        ("post", "/api/orders", '{"status": NaN}', 400, "the body is not valid JSON"),
        ("post", "/api/orders", b"\xff\xfe{", 400, "the body must be JSON in UTF-8"),
        ("post", "/api/orders", "", 400, "the body must be JSON"),
        ("post", f"/api/callbacks/{HUGE}/complete", "{}", 404, "not found"),
        ("post", f"/api/callbacks/{HUGE}/cancel", "{}", 404, "not found"),
        ("get", f"/api/orders/{HUGE}", None, 404, "no such order"),
        ("get", "/api/nothing-here", None, 404, "not found"),
        ("delete", "/api/orders/4711", None, 405, "not allowed"),
        ("get", "/api/orders", None, 405, "not allowed"),
    ],
)
def test_bad_requests_get_a_json_error(
    client: FlaskClient,
    headers: dict[str, str],
    method: str,
    path: str,
    body: str | bytes | None,
    status: int,
    error: str,
) -> None:
    resp = getattr(client, method)(path, data=body, headers={**headers, "Content-Type": "application/json"})
    assert resp.status_code == status, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "application/json"
    assert error.lower() in resp.get_json()["error"].lower()


def test_a_too_large_body_is_413_as_json(client: FlaskClient, headers: dict[str, str]) -> None:
    client.application.config["MAX_CONTENT_LENGTH"] = 1000
    resp = client.post("/api/orders", data="[" + " " * 2000 + "]", headers=headers)
    assert resp.status_code == 413
    assert resp.get_json()["error"]


def test_errors_outside_the_api_stay_as_they_were(client: FlaskClient) -> None:
    resp = client.get("/no-such-page")
    assert resp.status_code == 404 and resp.mimetype == "text/html"
