"""The shop reports returns and their progress (API and CSV); callers then hear where their refund is."""

from __future__ import annotations

import json

import pytest

from ivr.cli import main
from tests.returns.conftest import CALLER, delivered


def _key(runner, scope: str) -> dict[str, str]:
    result = runner.invoke(main, ["apikeys", "create", f"shop-{scope}", "--scope", scope])
    assert result.exit_code == 0, result.output
    return {"Authorization": f"Bearer {result.output.strip().splitlines()[-1]}"}


@pytest.fixture
def headers(runner):
    """A key with the ``returns`` scope."""
    return _key(runner, "returns")


def test_shop_reports_a_return_then_its_refund_and_the_caller_hears_it(client, headers, phone, create_order):
    create_order("4711", **delivered())
    resp = client.post(
        "/api/returns",
        json={
            "return_number": "900123",
            "order_number": "4711",
            "items": ["Wanderschuhe"],
            "reason": "dislike",
        },
        headers=headers,
    )
    assert resp.status_code == 201, resp.json
    assert resp.json["state"] == "registered" and resp.json["source"] == "api"
    caller = phone(CALLER)
    caller.dial()  # the return under way is said first: one key for its status
    caller.press("1")
    assert "Ihre Rücksendung neun null — null eins — zwei drei ist angemeldet." in caller.heard
    resp = client.patch(
        "/api/returns/900123", json={"state": "received", "received_on": "2026-11-23"}, headers=headers
    )
    assert resp.status_code == 200 and resp.json["received_on"] == "2026-11-23"
    caller = phone(CALLER)
    caller.dial()
    caller.press("1")
    assert "ist am Montag, dem 23. November bei uns eingegangen. Die Erstattung folgt" in caller.heard
    client.patch(
        "/api/returns/900123", json={"state": "refunded", "refunded_on": "2026-11-24"}, headers=headers
    )
    caller = phone(CALLER)
    caller.dial()
    caller.press("9")
    caller.press("2")
    caller.press("1")
    assert (
        "We refunded your return nine zero — zero one — two three today, on Tuesday, November 24."
        in caller.heard
    )
    assert client.get("/api/returns/900123", headers=headers).json["refunded_on"] == "2026-11-24"


def test_posting_a_known_return_number_updates_it(client, headers):
    body = {"return_number": "900123", "order_number": "4711"}
    assert client.post("/api/returns", json=body, headers=headers).status_code == 201
    resp = client.post("/api/returns", json={**body, "state": "received"}, headers=headers)
    assert resp.status_code == 200 and resp.json["state"] == "received"
    other = client.post("/api/returns", json={**body, "order_number": "4712"}, headers=headers)
    assert other.status_code == 422 and other.json == {"error": "return_number belongs to another order"}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"order_number": "47a"}, "order_number must be 3 to 20 digits"),
        (
            {"order_number": "4711", "state": "lost"},
            "state must be one of registered, label_sent, received, refunded",
        ),
        ({"order_number": "4711", "received_on": "gestern"}, "received_on must be a date like 2026-11-24"),
        ({"order_number": "4711", "items": "Schuhe"}, "items must be a list of at most 50 names"),
        ({"order_number": "4711", "phone": "+4915112345678"}, "unknown field phone"),
    ],
)
def test_bad_records_get_clear_json_errors(client, headers, body, error):
    resp = client.post("/api/returns", json=body, headers=headers)
    assert resp.status_code == 422
    assert resp.json["error"].startswith(error)


def test_unknown_return_is_404_and_the_numbers_cannot_change(client, headers):
    assert client.patch("/api/returns/123456", json={"state": "refunded"}, headers=headers).status_code == 404
    client.post("/api/returns", json={"return_number": "900123", "order_number": "4711"}, headers=headers)
    resp = client.patch("/api/returns/900123", json={"order_number": "1"}, headers=headers)
    assert resp.status_code == 422


def test_the_returns_api_needs_a_key_with_its_scope(client, runner):
    assert client.get("/api/returns/900123").status_code == 401
    orders_only = _key(runner, "orders")
    assert client.post("/api/returns", json={"order_number": "4711"}, headers=orders_only).status_code == 403


def test_csv_import_reports_bad_lines_and_stores_the_rest(runner, tmp_path, client, headers):
    path = tmp_path / "returns.csv"
    path.write_text(
        "return_number,order_number,state,received_on,refunded_on,items\n"
        "900123,4711,refunded,2026-11-20,2026-11-23,Wanderschuhe;Regenjacke\n"
        "900124,4712,gone,,,\n",
        encoding="utf-8",
    )
    result = runner.invoke(main, ["returns", "import", str(path)])
    assert "returns.csv:3: state must be one of" in result.output
    assert "1 returns stored, 1 rows with errors" in result.output
    stored = client.get("/api/returns/900123", headers=headers).json
    assert (stored["state"], stored["refunded_on"], stored["items"]) == (
        "refunded",
        "2026-11-23",
        ["Wanderschuhe", "Regenjacke"],
    )
    listed = json.loads(runner.invoke(main, ["returns", "list", "--json"]).output)
    assert [r["return_number"] for r in listed] == ["900123"]
