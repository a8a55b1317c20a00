"""The agent REST API: list, claim, complete, cancel; API keys and clear errors."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from callbacks.models import CANCELLED, CLAIMED, COMPLETED, QUEUED
from callbacks.queue import NewRequest, request_callback
from callbacks.settings import Settings
from ivr.apikeys import create_api_key
from ivr.cli import main
from ivr.models.agent import Agent
from tests.conftest import OPEN_HOURS

URGENT, EARLY, LATE = "+4915111111111", "+4915122222222", "+4915133333333"


@pytest.fixture
def auth(session: Session) -> dict[str, str]:
    """Headers with a valid API key (created as ``ivr apikeys create`` does)."""
    key = create_api_key(session, "agent-desk", ["callbacks"])
    session.commit()
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def queued(session: Session) -> dict[str, int]:
    """Three due requests: one urgent, two of equal priority due one hour apart; and agent Ana."""
    ids = {}
    for phone, priority, waited in ((LATE, 0, 0), (EARLY, 0, 60), (URGENT, 2, 0)):
        new = NewRequest(
            phone,
            reason=f"about {phone}",
            priority=priority,
            position_at=OPEN_HOURS - timedelta(minutes=waited),
        )
        result = request_callback(session, new, OPEN_HOURS, Settings())
        assert result.request is not None
        ids[phone] = result.request.id
    session.add(Agent(name="ana", phone="+4930111100000"))
    session.commit()
    return ids


def test_list_is_most_urgent_first_and_filters(
    client: FlaskClient, auth: dict[str, str], queued: dict[str, int]
) -> None:
    rows = client.get("/api/callbacks", headers=auth).get_json()
    assert [r["phone"] for r in rows] == [URGENT, EARLY, LATE]
    assert {
        "id",
        "phone",
        "status",
        "priority",
        "reason",
        "intent",
        "transcript",
        "window",
        "due_at",
        "attempts",
        "agent_id",
        "outcome",
        "note",
    } <= rows[0].keys()

    only = client.get("/api/callbacks?phone=0151 22222222", headers=auth).get_json()
    assert [r["id"] for r in only] == [queued[EARLY]]
    assert client.get("/api/callbacks?status=completed", headers=auth).get_json() == []
    both = client.get("/api/callbacks?status=queued,cancelled&limit=2", headers=auth).get_json()
    assert [r["phone"] for r in both] == [URGENT, EARLY]


def test_claim_gives_the_most_urgent_then_204(
    client: FlaskClient, auth: dict[str, str], queued: dict[str, int], session: Session
) -> None:
    ana = session.query(Agent).filter_by(name="ana").one()
    first = client.post("/api/callbacks/claim", json={"agent": "ana"}, headers=auth)
    assert first.status_code == 200
    assert first.get_json()["id"] == queued[URGENT]
    assert (first.get_json()["status"], first.get_json()["agent_id"]) == (CLAIMED, ana.id)

    by_id = client.post("/api/callbacks/claim", json={"agent": ana.id}, headers=auth).get_json()
    assert by_id["id"] == queued[EARLY]
    client.post("/api/callbacks/claim", json={"agent": "ana"}, headers=auth)
    none_due = client.post("/api/callbacks/claim", json={"agent": "ana"}, headers=auth)
    assert (none_due.status_code, none_due.get_data()) == (204, b"")


def test_complete_with_note_shows_in_the_cli(
    client: FlaskClient, runner: FlaskCliRunner, auth: dict[str, str], queued: dict[str, int]
) -> None:
    claimed = client.post("/api/callbacks/claim", json={"agent": "ana"}, headers=auth).get_json()
    done = client.post(
        f"/api/callbacks/{claimed['id']}/complete", json={"note": "Refund promised"}, headers=auth
    )
    assert done.status_code == 200
    assert (done.get_json()["status"], done.get_json()["note"]) == (COMPLETED, "Refund promised")

    listed = runner.invoke(main, ["callbacks", "list", "--status", "completed", "--json"])
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.output)
    assert (row["id"], row["outcome"], row["note"]) == (claimed["id"], "talked", "Refund promised")


def test_cancel_then_complete_is_a_conflict(
    client: FlaskClient, auth: dict[str, str], queued: dict[str, int]
) -> None:
    target = queued[LATE]
    cancelled = client.post(
        f"/api/callbacks/{target}/cancel", json={"reason": "solved by mail"}, headers=auth
    )
    assert cancelled.status_code == 200
    assert (cancelled.get_json()["status"], cancelled.get_json()["outcome"]) == (CANCELLED, "solved by mail")
    assert target not in [r["id"] for r in client.get("/api/callbacks", headers=auth).get_json()]

    again = client.post(f"/api/callbacks/{target}/complete", json={"note": "x"}, headers=auth)
    assert again.status_code == 409
    assert again.get_json() == {"error": f"callback {target} was cancelled"}
    assert client.post(f"/api/callbacks/{target}/cancel", headers=auth).status_code == 409


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer hl_wrong"}, {"X-API-Key": "nope"}])
def test_without_a_valid_key_401(
    client: FlaskClient, queued: dict[str, int], headers: dict[str, str]
) -> None:
    target = queued[LATE]
    for resp in (
        client.get("/api/callbacks", headers=headers),
        client.post("/api/callbacks/claim", json={"agent": "ana"}, headers=headers),
        client.post(f"/api/callbacks/{target}/complete", json={}, headers=headers),
        client.post(f"/api/callbacks/{target}/cancel", headers=headers),
    ):
        assert resp.status_code == 401
        assert resp.get_json() == {"error": "a valid API key is required"}


def test_unknown_ids_404(client: FlaskClient, auth: dict[str, str], queued: dict[str, int]) -> None:
    for action in ("complete", "cancel"):
        resp = client.post(f"/api/callbacks/999999/{action}", json={}, headers=auth)
        assert (resp.status_code, resp.get_json()) == (404, {"error": "no callback 999999"})
    nobody = client.post("/api/callbacks/claim", json={"agent": "bob"}, headers=auth)
    assert (nobody.status_code, nobody.get_json()) == (404, {"error": "no agent 'bob'"})


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/callbacks?status=lost", None),
        ("get", "/api/callbacks?phone=call-me", None),
        ("get", "/api/callbacks?limit=0", None),
        ("post", "/api/callbacks/claim", None),
        ("post", "/api/callbacks/claim", {"agent": ""}),
        ("post", "/api/callbacks/claim", {"agent": True}),
        ("post", "/api/callbacks/claim", ["ana"]),
        ("post", "/api/callbacks/{id}/complete", {"note": 42}),
        ("post", "/api/callbacks/{id}/complete", {"note": "x" * 2001}),
        ("post", "/api/callbacks/{id}/cancel", {"reason": ["no"]}),
    ],
)
def test_bad_input_400_changes_nothing(
    client: FlaskClient, auth: dict[str, str], queued: dict[str, int], method: str, path: str, body: object
) -> None:
    resp = getattr(client, method)(path.format(id=queued[LATE]), json=body, headers=auth)
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert resp.get_json()["error"]
    rows = client.get("/api/callbacks", headers=auth).get_json()
    assert {r["status"] for r in rows} == {QUEUED} and len(rows) == 3


def test_a_body_that_is_not_json_400(
    client: FlaskClient, auth: dict[str, str], queued: dict[str, int]
) -> None:
    resp = client.post(f"/api/callbacks/{queued[LATE]}/complete", data="note=done", headers=auth)
    assert (resp.status_code, resp.get_json()) == (400, {"error": "the body is not valid JSON"})


def test_a_completed_request_keeps_its_outcome(
    client: FlaskClient, auth: dict[str, str], queued: dict[str, int]
) -> None:
    claimed = client.post("/api/callbacks/claim", json={"agent": "ana"}, headers=auth).get_json()
    first = client.post(
        f"/api/callbacks/{claimed['id']}/complete", json={"note": "Refund promised"}, headers=auth
    )
    assert first.status_code == 200
    again = client.post(
        f"/api/callbacks/{claimed['id']}/complete", json={"note": "overwritten?"}, headers=auth
    )
    assert (again.status_code, again.get_json()) == (
        409,
        {"error": f"callback {claimed['id']} was completed already"},
    )
    rows = client.get("/api/callbacks?status=completed", headers=auth).get_json()
    assert [r["note"] for r in rows] == ["Refund promised"]


def test_a_waiting_request_cannot_be_completed_by_nobody(
    client: FlaskClient, auth: dict[str, str], queued: dict[str, int]
) -> None:
    resp = client.post(f"/api/callbacks/{queued[LATE]}/complete", json={"note": "done"}, headers=auth)
    assert resp.status_code == 409
    assert "an agent must take it first" in resp.get_json()["error"]
