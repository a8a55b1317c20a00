"""The privacy API: scope ``privacy``, people named by id in the path or in a POST body, audited."""

from __future__ import annotations

from sqlalchemy import func, select

from ivr.apikeys import create_api_key
from ivr.models import Customer
from ivr.privacy.models import AuditEntry, Erasure
from tests.privacy.conftest import ANNA, BERT, find_traces, seed


def _key(session, name: str, *scopes: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    key = create_api_key(session, name, scopes)
    session.commit()
    return {"Authorization": f"Bearer {key}"}


def test_only_a_privacy_key_may_export_or_erase(client, session):
    seed(session, ANNA)
    session.commit()
    customer_id = session.scalar(select(Customer.id))
    shop = _key(session, "shop", "orders", "history")
    assert client.get(f"/api/privacy/customers/{customer_id}/export", headers=shop).status_code == 403
    assert client.post("/api/privacy/erasures", json={"phone": ANNA.phone}, headers=shop).status_code == 403
    assert client.post("/api/privacy/exports", json={"phone": ANNA.phone}).status_code == 401
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_export_by_id_and_by_body_is_audited_with_the_key(client, session):
    seed(session, ANNA)
    seed(session, BERT)
    session.commit()
    anna_id = session.scalar(select(Customer.id).where(Customer.phone == ANNA.phone))
    console = _key(session, "console", "privacy")
    by_id = client.get(f"/api/privacy/customers/{anna_id}/export", headers=console)
    assert by_id.status_code == 200
    assert by_id.get_json()["tables"]["customers"][0]["email"] == ANNA.email
    by_body = client.post("/api/privacy/exports", json={"email": ANNA.email.upper()}, headers=console)
    assert by_body.get_json()["tables"]["orders"][0]["order_number"] == ANNA.order_number
    assert BERT.phone not in by_body.get_data(as_text=True)
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.actor, e.action, e.customer_id) for e in entries] == [
        ("api_key:console", "export", anna_id)
    ] * 2
    missing = client.get("/api/privacy/customers/999999/export", headers=console)
    assert missing.status_code == 404 and missing.get_json() == {"error": "no such customer"}


def test_bad_bodies_get_clear_json_errors(client, session):
    console = _key(session, "console", "privacy")
    for body, message in [
        ({}, "exactly one"),
        ({"phone": ANNA.phone, "email": ANNA.email}, "exactly one"),
        ({"phone": "not a number"}, "phone number"),
        ({"customer_id": "7"}, "positive whole number"),
        ({"email": "+4915112345678"}, "not a valid email"),
        ([1, 2], "JSON object"),
    ]:
        resp = client.post("/api/privacy/erasures", json=body, headers=console)
        assert resp.status_code == 422 and message in resp.get_json()["error"], (body, resp.get_json())
    assert session.scalar(select(func.count()).select_from(Erasure)) == 0


def test_erasure_through_the_api_is_idempotent(client, session, fake_twilio):
    seed(session, ANNA)
    seed(session, BERT)
    session.commit()
    console = _key(session, "console", "privacy")
    first = client.post("/api/privacy/erasures", json={"phone": "0151 12345678"}, headers=console)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["erased"]["customers"] == 1 and body["recordings_deleted_at_twilio"] == 1
    assert ANNA.phone not in first.get_data(as_text=True)
    second = client.post("/api/privacy/erasures", json={"phone": ANNA.phone}, headers=console)
    assert second.status_code == 200 and second.get_json()["already_erased"] is True
    session.rollback()
    assert find_traces(session, ANNA) == {}
    assert session.scalars(select(Erasure)).one().requested_by == "api_key:console"
