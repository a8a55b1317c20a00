"""API keys from the CLI: create once per name, list without the secret, revoke, and scopes per API."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from flask.testing import FlaskClient, FlaskCliRunner

from ivr.cli import main
from ivr.migrate import alembic_config
from tests.conftest import _fresh_postgres

ORDER = {"order_number": "4711", "status": "shipped"}


def _create(runner: FlaskCliRunner, name: str, *scopes: str) -> str:
    args = [a for s in scopes for a in ("--scope", s)]
    result = runner.invoke(main, ["apikeys", "create", name, *args])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def test_creating_a_name_twice_is_a_clear_error(runner: FlaskCliRunner) -> None:
    _create(runner, "shop", "orders")
    again = runner.invoke(main, ["apikeys", "create", "shop", "--scope", "orders"])
    assert again.exit_code == 1
    assert "Error: an API key named 'shop' exists already; choose another name" in again.output
    assert "Traceback" not in again.output and "IntegrityError" not in again.output


def test_a_key_needs_known_scopes(runner: FlaskCliRunner) -> None:
    missing = runner.invoke(main, ["apikeys", "create", "shop"])
    assert missing.exit_code == 2 and "Missing option '--scope'" in missing.output
    unknown = runner.invoke(main, ["apikeys", "create", "shop", "--scope", "everything"])
    assert unknown.exit_code == 2 and "'orders', 'callbacks', 'history'" in unknown.output


def test_list_shows_names_scopes_and_use_but_never_the_key(
    runner: FlaskCliRunner, client: FlaskClient
) -> None:
    shop = _create(runner, "shop", "orders")
    desk = _create(runner, "desk", "callbacks", "history")
    client.get("/api/orders/4711", headers={"X-API-Key": shop})
    listed = runner.invoke(main, ["apikeys", "list"])
    assert listed.exit_code == 0
    lines = listed.output.strip().splitlines()
    assert [line.split("\t")[:2] for line in lines] == [["desk", "callbacks,history"], ["shop", "orders"]]
    assert lines[0].endswith("never used\tactive")
    assert "never used" not in lines[1] and lines[1].endswith("\tactive")
    assert shop not in listed.output and desk not in listed.output


def test_a_revoked_key_is_refused(runner: FlaskCliRunner, client: FlaskClient) -> None:
    shop = _create(runner, "shop", "orders")
    assert client.get("/api/orders/4711", headers={"X-API-Key": shop}).status_code == 404
    revoked = runner.invoke(main, ["apikeys", "revoke", "shop"])
    assert revoked.exit_code == 0 and "API key 'shop' revoked" in revoked.output
    resp = client.get("/api/orders/4711", headers={"X-API-Key": shop})
    assert (resp.status_code, resp.get_json()) == (401, {"error": "a valid API key is required"})
    assert runner.invoke(main, ["apikeys", "list"]).output.strip().endswith("\trevoked")
    unknown = runner.invoke(main, ["apikeys", "revoke", "nobody"])
    assert unknown.exit_code == 1 and "no API key named 'nobody'" in unknown.output


def test_an_order_sync_key_cannot_touch_callbacks_and_a_desk_key_not_orders(
    runner: FlaskCliRunner, client: FlaskClient
) -> None:
    shop = {"X-API-Key": _create(runner, "shop", "orders")}
    desk = {"X-API-Key": _create(runner, "desk", "callbacks")}
    for resp in (
        client.get("/api/callbacks", headers=shop),
        client.post("/api/callbacks/claim", json={"agent": "ana"}, headers=shop),
        client.post("/api/callbacks/1/complete", json={}, headers=shop),
    ):
        assert (resp.status_code, resp.get_json()) == (
            403,
            {"error": "this API key may not use the callbacks API"},
        )
    refused = client.post("/api/orders", json=ORDER, headers=desk)
    assert (refused.status_code, refused.get_json()) == (
        403,
        {"error": "this API key may not use the orders API"},
    )
    assert client.get("/api/orders/4711", headers=desk).status_code == 403
    assert client.post("/api/orders", json=ORDER, headers=shop).get_json() == {"upserted": 1}
    assert client.get("/api/callbacks", headers=desk).get_json() == []


@pytest.fixture
def empty_database(tmp_path: Path):  # type: ignore[no-untyped-def]
    """An empty database of the kind the run uses (SQLite or PostgreSQL)."""
    configured = os.environ.get("IVR_TEST_DATABASE_URL")
    if configured:
        yield from _fresh_postgres(configured)
    else:
        yield f"sqlite:///{tmp_path / 'old.db'}"


def test_keys_from_before_scopes_keep_the_apis_they_could_use(empty_database: str) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "0004")
    engine = sa.create_engine(empty_database)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO api_keys (name, key_hash, created_at, revoked) VALUES ('old', 'x', :t, false)"
            ),
            {"t": "2026-01-01 00:00:00+00:00"},
        )
    command.upgrade(config, "head")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT scopes FROM api_keys")).scalar_one() == "orders callbacks"
    engine.dispose()
