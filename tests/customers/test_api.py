"""The shared customer history over REST: scopes, lookups, history pages, contacts from other channels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from ivr.models import Customer, IdempotencyKey, Interaction

TICKET = {
    "channel": "ticket",
    "direction": "inbound",
    "subject": "Paket beschädigt",
    "summary": "Karton eingedrückt, Vase zerbrochen.",
    "external_ref": "ZD-1001",
    "occurred_at": "2026-11-20T09:15:00+01:00",
    "customer": {"email": " Erika@Example.DE ", "phone": "0151 12345678", "name": "Erika Mustermann"},
}


def count(session, model):
    """Rows of ``model`` as they are now (a fresh read, not the test session's earlier snapshot)."""
    session.rollback()
    return session.scalar(select(func.count()).select_from(model))


def post(client, headers, body, key=None):
    extra = {"Idempotency-Key": key} if key else {}
    return client.post("/api/interactions", json=body, headers={**headers, **extra})


def test_every_endpoint_needs_a_key_with_the_history_scope(client, make_key):
    orders_only = make_key("orders", name="shop")
    calls = [
        lambda h: client.post("/api/customers/search", json={"email": "a@b.de"}, headers=h),
        lambda h: client.get("/api/customers/1", headers=h),
        lambda h: client.get("/api/customers/1/history", headers=h),
        lambda h: client.post("/api/interactions", json=TICKET, headers=h),
    ]
    for call in calls:
        assert call({}).status_code == 401
        refused = call(orders_only)
        assert refused.status_code == 403 and "history" in refused.json["error"]


def test_a_ticket_creates_the_customer_and_is_found_by_phone_email_and_id(client, history_key, session):
    created = post(client, history_key, TICKET)
    assert created.status_code == 201, created.json
    assert created.json["channel"] == "ticket" and created.json["external_ref"] == "ZD-1001"
    assert created.json["started_at"] == "2026-11-20T08:15:00+00:00"
    customer_id = created.json["customer_id"]
    customer = session.get(Customer, customer_id)
    assert (customer.phone, customer.email, customer.name) == (
        "+4915112345678",
        "erika@example.de",
        "Erika Mustermann",
    )
    for lookup in ({"phone": "+49 151 1234 5678"}, {"email": "ERIKA@example.de"}):
        found = client.post("/api/customers/search", json=lookup, headers=history_key)
        assert found.status_code == 200
        assert [c["id"] for c in found.json["customers"]] == [customer_id]
    assert (
        client.get(f"/api/customers/{customer_id}", headers=history_key).json["email"] == "erika@example.de"
    )
    # A chat by e-mail only lands with the same customer.
    chat = post(client, history_key, {"channel": "chat", "customer": {"email": "erika@example.de"}})
    assert chat.status_code == 201 and chat.json["customer_id"] == customer_id


def test_lookups_with_personal_data_in_the_url_are_refused(client, history_key):
    resp = client.get("/api/customers?phone=%2B4915112345678", headers=history_key)
    assert resp.status_code == 400 and "POST /api/customers/search" in resp.json["error"]


def test_bad_bodies_get_clear_errors_and_store_nothing(client, history_key, session):
    cases = [
        ({**TICKET, "channel": "voice"}, "channel"),
        ({**TICKET, "direction": "sideways"}, "direction"),
        ({**TICKET, "occurred_at": "yesterday"}, "occurred_at"),
        ({**TICKET, "occurred_at": "2026-11-20T09:15:00"}, "occurred_at"),
        ({**TICKET, "occurred_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()}, "occurred_at"),
        ({**TICKET, "subject": "x" * 201}, "subject"),
        ({**TICKET, "summary": 42}, "summary"),
        ({**TICKET, "customer": {"phone": "hello"}}, "customer.phone"),
        ({**TICKET, "customer": {"email": "not-an-address"}}, "customer.email"),
        ({**TICKET, "customer": {}}, "customer"),
        ({**TICKET, "colour": "blue"}, "colour"),
    ]
    for body, field in cases:
        resp = post(client, history_key, body)
        assert resp.status_code == 400, body
        assert field in resp.json["error"]
    assert count(session, Interaction) == 0
    assert count(session, Customer) == 0
    missing = post(client, history_key, {**TICKET, "customer": {"id": 999999}})
    assert missing.status_code == 404 and missing.is_json
    huge = post(client, history_key, {**TICKET, "summary": "x" * 20000})
    assert huge.status_code == 413 and huge.is_json


def test_the_same_idempotency_key_gives_the_same_answer_once(client, history_key, session):
    first = post(client, history_key, TICKET, key="ticket-ZD-1001")
    again = post(client, history_key, TICKET, key="ticket-ZD-1001")
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(session, Interaction) == 1
    changed = post(client, history_key, {**TICKET, "subject": "Anderes Thema"}, key="ticket-ZD-1001")
    assert changed.status_code == 409 and "different request" in changed.json["error"]
    assert count(session, Interaction) == 1
    # Keys belong to one API key: another client's identical key is its own request.
    from_elsewhere = post(client, _other_key(client), TICKET, "ticket-ZD-1001")
    assert from_elsewhere.status_code == 201 and "Idempotent-Replayed" not in from_elsewhere.headers
    assert count(session, Interaction) == 2
    assert count(session, IdempotencyKey) == 2
    assert post(client, history_key, TICKET, key="bad key with spaces").status_code == 400


def _other_key(client):
    from ivr.apikeys import create_api_key
    from ivr.db import session_factory

    with session_factory(client.application)() as s:
        key = create_api_key(s, "chat-tool", ["history"])
        s.commit()
    return {"X-API-Key": key}


def test_history_pages_newest_first_across_channels_with_filters(client, history_key):
    start = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    channels = ["email", "chat", "ticket", "shop_message"] * 3
    for n, channel in enumerate(channels):
        body = {
            "channel": channel,
            "subject": f"contact {n}",
            "occurred_at": (start + timedelta(hours=n // 2)).isoformat(),  # pairs share a time
            "customer": {"email": "max@example.de"},
        }
        assert post(client, history_key, body).status_code == 201
    customer_id = client.post(
        "/api/customers/search", json={"email": "max@example.de"}, headers=history_key
    ).json["customers"][0]["id"]
    seen, cursor = [], None
    while True:
        query = {"limit": "5", **({"cursor": cursor} if cursor else {})}
        page = client.get(f"/api/customers/{customer_id}/history", query_string=query, headers=history_key)
        assert page.status_code == 200
        seen += [e["subject"] for e in page.json["interactions"]]
        cursor = page.json["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"contact {n}" for n in reversed(range(12))]
    tickets = client.get(
        f"/api/customers/{customer_id}/history", query_string={"channel": "ticket,chat"}, headers=history_key
    )
    assert {e["channel"] for e in tickets.json["interactions"]} == {"ticket", "chat"}
    assert len(tickets.json["interactions"]) == 6
    for bad in (
        {"cursor": "bm9wZQ"},
        {"limit": "0"},
        {"limit": "1000"},
        {"channel": "fax"},
        {"kind": "DROP;"},
    ):
        resp = client.get(f"/api/customers/{customer_id}/history", query_string=bad, headers=history_key)
        assert resp.status_code == 400 and resp.is_json, bad
    assert client.get("/api/customers/424242/history", headers=history_key).status_code == 404


def test_history_includes_calls_with_their_events(client, history_key, phone):
    call = phone("+4915112345678")
    call.dial()
    call.hang_up()
    post(client, history_key, {**TICKET, "customer": {"phone": "+4915112345678"}})
    found = client.post("/api/customers/search", json={"phone": "+4915112345678"}, headers=history_key)
    customer_id = found.json["customers"][0]["id"]
    history = client.get(f"/api/customers/{customer_id}/history", headers=history_key).json["interactions"]
    assert [e["channel"] for e in history] == ["voice", "ticket"]  # the call is newer than the ticket
    voice = next(e for e in history if e["channel"] == "voice")
    assert any(ev["kind"] == "status" for ev in voice["events"])
    statuses = client.get(
        f"/api/customers/{customer_id}/history", query_string={"kind": "status"}, headers=history_key
    ).json["interactions"]
    assert [e["channel"] for e in statuses] == ["voice"]
    assert {ev["kind"] for ev in statuses[0]["events"]} == {"status"}


def test_idempotency_keys_are_forgotten_after_a_day(client, history_key, session, runner):
    from sqlalchemy import update

    from ivr.cli import main
    from ivr.models._types import utcnow

    post(client, history_key, TICKET, key="mail-7")
    fresh = runner.invoke(main, ["customers", "prune"])
    assert fresh.exit_code == 0 and "deleted 0 idempotency keys" in fresh.output
    session.execute(update(IdempotencyKey).values(created_at=utcnow() - timedelta(hours=25)))
    session.commit()
    old = runner.invoke(main, ["customers", "prune"])
    assert "deleted 1 idempotency keys" in old.output
    assert count(session, IdempotencyKey) == 0
    again = post(client, history_key, TICKET, key="mail-7")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers


def test_the_same_key_sent_twice_at_once_creates_one_interaction(app, history_key, session):
    import threading

    barrier = threading.Barrier(4)
    answers = []

    def send():
        with app.test_client() as c:
            barrier.wait()
            answers.append(post(c, history_key, TICKET, key="race-1"))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [201] * 4
    assert len({a.get_data() for a in answers}) == 1
    assert sum("Idempotent-Replayed" in a.headers for a in answers) == 3
    assert count(session, Interaction) == 1
