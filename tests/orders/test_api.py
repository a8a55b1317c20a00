"""The shop's REST API: API keys from the CLI, upsert and read orders."""

from __future__ import annotations

import pytest

from ivr.cli import main


@pytest.fixture
def api_key(runner):
    """A key made the way an admin makes one."""
    result = runner.invoke(main, ["apikeys", "create", "shop", "--scope", "orders"])
    assert result.exit_code == 0, result.output
    assert "shown only now" in result.output
    return result.output.strip().splitlines()[-1]


ORDER = {
    "order_number": "4711",
    "customer_name": "Erika Mustermann",
    "phone": "+49 151 12345678",
    "postal_code": "10115",
    "status": "shipped",
    "carrier": "DHL",
    "expected_delivery": "2026-11-26",
}


def test_post_then_get_an_order(client, api_key):
    resp = client.post("/api/orders", json=ORDER, headers={"Authorization": f"Bearer {api_key}"})
    assert resp.status_code == 200 and resp.json == {"upserted": 1}
    resp = client.get("/api/orders/4711", headers={"X-API-Key": api_key})
    assert resp.status_code == 200
    assert resp.json["phone"] == "+4915112345678"
    assert resp.json["expected_delivery"] == "2026-11-26"
    assert resp.json["status"] == "shipped"


def test_post_upserts_a_list(client, api_key):
    headers = {"Authorization": f"Bearer {api_key}"}
    client.post("/api/orders", json=ORDER, headers=headers)
    resp = client.post(
        "/api/orders",
        json=[
            {**ORDER, "status": "delivered", "delivered_at": "2026-11-24"},
            {**ORDER, "order_number": "4712"},
        ],
        headers=headers,
    )
    assert resp.json == {"upserted": 2}
    assert client.get("/api/orders/4711", headers=headers).json["status"] == "delivered"


def test_invalid_orders_are_refused_with_reasons(client, api_key):
    resp = client.post(
        "/api/orders",
        json=[ORDER, {**ORDER, "status": "lost"}],
        headers={"Authorization": f"Bearer {api_key}"},
    )
    assert resp.status_code == 422
    assert resp.json["errors"][0]["index"] == 1
    assert resp.json["errors"][0]["reason"].startswith("status must be one of")
    assert client.get("/api/orders/4711", headers={"X-API-Key": api_key}).status_code == 404


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer hl_wrong"}, {"X-API-Key": "guess"}])
def test_without_a_valid_key_nothing_is_read_or_written(client, api_key, headers):
    assert client.post("/api/orders", json=ORDER, headers=headers).status_code == 401
    assert client.get("/api/orders/4711", headers=headers).status_code == 401
    assert client.get("/api/orders/4711", headers={"X-API-Key": api_key}).status_code == 404


def test_unknown_and_malformed_numbers_are_404(client, api_key):
    headers = {"X-API-Key": api_key}
    assert client.get("/api/orders/9999", headers=headers).status_code == 404
    assert client.get("/api/orders/1'%20OR%201=1", headers=headers).status_code == 404


def test_a_partial_update_keeps_what_it_does_not_mention(client, api_key):
    headers = {"X-API-Key": api_key}
    client.post("/api/orders", json={**ORDER, "email": "erika@example.de"}, headers=headers)
    resp = client.post("/api/orders", json={"order_number": "4711", "status": "delivered"}, headers=headers)
    assert resp.status_code == 200
    order = client.get("/api/orders/4711", headers=headers).json
    assert order["status"] == "delivered"
    assert (order["phone"], order["postal_code"], order["customer_name"], order["email"]) == (
        "+4915112345678",
        "10115",
        "Erika Mustermann",
        "erika@example.de",
    )
    assert order["carrier"] == "DHL" and order["expected_delivery"] == "2026-11-26"


def test_null_clears_a_field_and_a_list_may_mix_partial_and_full_records(client, api_key):
    headers = {"X-API-Key": api_key}
    client.post("/api/orders", json=ORDER, headers=headers)
    resp = client.post(
        "/api/orders",
        json=[
            {"order_number": "4711", "status": "shipped", "carrier": None, "tracking_number": "JJD42"},
            {**ORDER, "order_number": "4712"},
            {"order_number": "4711", "status": "out_for_delivery"},
        ],
        headers=headers,
    )
    assert resp.json == {"upserted": 3}
    order = client.get("/api/orders/4711", headers=headers).json
    assert (order["status"], order["carrier"], order["tracking_number"]) == (
        "out_for_delivery",
        None,
        "JJD42",
    )
    assert order["phone"] == "+4915112345678"
    assert client.get("/api/orders/4712", headers=headers).json["carrier"] == "DHL"


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"phon": "+4915112345678"}, "unknown field phon"),
        ({"customer_name": {"first": "Erika"}}, "customer_name must be a text"),
        ({"items": "Schuhe\u0000"}, "items contains a NUL byte"),
        ({"phone": True}, "phone must be a text"),
    ],
)
def test_records_the_database_cannot_take_are_422_without_their_values(client, api_key, record, reason):
    headers = {"X-API-Key": api_key}
    client.post("/api/orders", json=ORDER, headers=headers)
    resp = client.post(
        "/api/orders", json={"order_number": "4711", "status": "delayed", **record}, headers=headers
    )
    assert resp.status_code == 422
    assert resp.json["errors"] == [{"index": 0, "reason": resp.json["errors"][0]["reason"]}]
    assert resp.json["errors"][0]["reason"].startswith(reason)
    assert "Erika" not in resp.get_data(as_text=True)
    assert client.get("/api/orders/4711", headers=headers).json["status"] == "shipped"
