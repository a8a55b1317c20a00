"""``GET /api/kpis`` and ``ivr kpis`` give the same numbers; the API needs a key with scope kpis."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from ivr.apikeys import create_api_key
from ivr.cli import main
from tests.insights.conftest import answered, left_queue_events

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


def _calls(s):
    agent = s.agent()
    s.call(T0, "+4915100000001", intent="delivery", events=answered(10, 120, agent, wrapup_after=5))
    s.call(
        T0,
        "+4915100000002",
        outcome="abandoned",
        events=left_queue_events(60),
    )
    s.call(T0, "+4915100000001", outcome="self_service", intent="order_status")
    keys = {scope: create_api_key(s.session, f"bi-{scope}", [scope]) for scope in ("kpis", "orders")}
    s.session.commit()
    return keys


def test_api_and_cli_show_the_same_numbers(stream, client, runner):
    keys = _calls(stream())

    resp = client.get(
        "/api/kpis?from=2026-05-04&to=2026-05-05&by=intent",
        headers={"Authorization": f"Bearer {keys['kpis']}"},
    )
    cli = runner.invoke(
        main, ["kpis", "--from", "2026-05-04", "--to", "2026-05-05", "--by", "intent", "--json"]
    )

    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert cli.exit_code == 0, cli.output
    assert resp.get_json() == json.loads(cli.output)
    body = resp.get_json()
    assert body["total"]["contacts"] == 3 and body["total"]["abandoned"] == 1
    assert {g["key"]: g["contacts"] for g in body["groups"]} == {"delivery": 1, "none": 1, "order_status": 1}
    assert "within 20 s" in body["definitions"]["service_level"]


def test_cli_table_and_clear_errors(stream, runner):
    _calls(stream())

    table = runner.invoke(main, ["kpis", "--from", "2026-05-04", "--to", "2026-05-04", "--by", "day"])
    bad = runner.invoke(main, ["kpis", "--from", "2026-05-04", "--to", "last week"])

    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[2].split()[:3] == ["total", "3", "2"]  # 3 calls, 2 queued
    assert lines[3].startswith("2026-05-04")
    assert bad.exit_code != 0 and "neither a date" in bad.output


def test_api_needs_a_key_with_the_kpis_scope(stream, client):
    keys = _calls(stream())

    nokey = client.get("/api/kpis?from=2026-05-04&to=2026-05-04")
    wrong = client.get("/api/kpis?from=2026-05-04&to=2026-05-04", headers={"X-API-Key": keys["orders"]})
    bad = client.get("/api/kpis?from=2026-05-04&to=x", headers={"X-API-Key": keys["kpis"]})
    badby = client.get(
        "/api/kpis?from=2026-05-04&to=2026-05-04&by=weather", headers={"X-API-Key": keys["kpis"]}
    )

    assert nokey.status_code == 401 and "API key" in nokey.get_json()["error"]
    assert wrong.status_code == 403
    assert bad.status_code == 400 and "neither a date" in bad.get_json()["error"]
    assert badby.status_code == 400 and "by must be one of" in badby.get_json()["error"]


def test_a_bad_kpi_setting_stops_the_app_with_the_variable_named(database_url, tmp_path, monkeypatch):
    import pytest

    from ivr import create_app
    from ivr.config import ConfigError

    monkeypatch.setenv("IVR_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("IVR_KPI_FCR_DAYS", "90")
    with pytest.raises(ConfigError, match="IVR_KPI_FCR_DAYS must be between 1 and 30"):
        create_app({"DATABASE_URL": database_url})
