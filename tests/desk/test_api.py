"""The desk's REST API: queue figures and agents, behind scoped API keys."""

from __future__ import annotations

from ivr.apikeys import create_api_key
from tests.desk.conftest import CALLER


def key_for(session, *scopes: str) -> dict[str, str]:
    key = create_api_key(session, "wallboard-" + "-".join(scopes), list(scopes))
    session.commit()
    return {"Authorization": f"Bearer {key}"}


def test_queues_show_waiting_callers_and_agents_by_state(client, session, phone, fake, create_user):
    create_user("anna@shop.example", skills=("service",))
    create_user("ben@shop.example", name="Ben", skills=("returns",))
    caller = phone(CALLER)
    caller.dial()
    caller.press("0")
    resp = client.get("/api/queues", headers=key_for(session, "queues"))
    assert resp.status_code == 200
    service = next(q for q in resp.get_json() if q["queue"] == "service")
    assert service["waiting"] == 1 and service["ringing"] == 0
    assert service["agents"]["offline"] == 1 and service["agents"]["available"] == 0
    assert service["estimated_wait_seconds"] is None  # nobody on duty: no promise
    assert {q["queue"] for q in resp.get_json()} == {"returns", "service"}


def test_an_agent_goes_available_through_the_api_and_is_offered_the_waiting_caller(
    client, session, phone, fake, create_user
):
    agent = create_user("anna@shop.example", skills=("service",), phone="+4930123456")
    caller = phone(CALLER)
    caller.dial()
    caller.press("0")
    assert fake.calls == []
    resp = client.patch(
        f"/api/agents/{agent['id']}", json={"activity": "available"}, headers=key_for(session, "agents")
    )
    assert resp.status_code == 200
    assert [c.to for c in fake.calls] == ["+4930123456"]
    listed = client.get("/api/agents", headers=key_for(session, "agents", "queues")).get_json()
    assert [(a["name"], a["activity"]) for a in listed] == [("Anna", "offered")]
    assert "email" not in listed[0] and "password_hash" not in listed[0]


def test_scopes_keep_an_order_sync_key_out_of_the_desk(client, session, create_user):
    agent = create_user()
    orders_only = key_for(session, "orders")
    assert client.get("/api/queues", headers=orders_only).status_code == 403
    assert (
        client.patch(
            f"/api/agents/{agent['id']}", json={"activity": "available"}, headers=orders_only
        ).status_code
        == 403
    )
    assert client.get("/api/agents").status_code == 401


def test_bad_agent_updates_get_clear_json_errors(client, session, create_user):
    agent = create_user()
    headers = key_for(session, "agents")
    busy = client.patch(f"/api/agents/{agent['id']}", json={"activity": "busy"}, headers=headers)
    assert busy.status_code == 409 and "routing sets it" in busy.get_json()["error"]
    bad = client.patch(f"/api/agents/{agent['id']}", json={"skills": "service"}, headers=headers)
    assert bad.status_code == 400 and "list" in bad.get_json()["error"]
    assert (
        client.patch("/api/agents/999999", json={"activity": "offline"}, headers=headers).status_code == 404
    )
    skills = client.patch(
        f"/api/agents/{agent['id']}", json={"skills": ["Returns", "service"]}, headers=headers
    )
    assert skills.get_json()["skills"] == ["returns", "service"]
