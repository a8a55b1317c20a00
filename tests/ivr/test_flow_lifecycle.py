"""Admins' flow versions survive restarts; history, export, diff and rollback are visible."""

from __future__ import annotations

import json
import os

import pytest

from ivr.cli import main
from ivr.flows.store import SHIPPED_FLOWS
from ivr.setup import prepare_instance

SHIPPED = (SHIPPED_FLOWS / "hotline.yaml").read_text(encoding="utf-8")
RETURNS = "brauche ich Ihre Bestellnummer"  # what a caller hears after pressing 2 in the shipped menu


@pytest.fixture
def admin_file(tmp_path):
    """The shipped flow as an admin edited it."""
    path = tmp_path / "hotline.yaml"
    path.write_text(SHIPPED.replace(RETURNS, "Retourenlabel"), encoding="utf-8")
    return path


def returns_answer(phone) -> str:
    """Dial, press 2 in the main menu, and return what the caller hears."""
    caller = phone()
    caller.dial()
    caller.press("2")
    return caller.heard


def test_restart_keeps_the_admins_version_and_says_the_shipped_file_differs(app, runner, phone, admin_file):
    imported = runner.invoke(main, ["flows", "import", str(admin_file), "--author", "alice"])
    assert "published hotline v2" in imported.output

    notes = prepare_instance(app)  # what `ivr serve` and in-process `ivr simulate` run at start-up
    assert any(
        "call_flows/hotline.yaml differs from the live hotline v2 (by alice" in n
        and "ivr flows import call_flows/hotline.yaml" in n
        for n in notes
    ), notes
    assert "answering calls with hotline v2" in notes
    assert runner.invoke(main, ["flows", "export", "hotline"]).output == admin_file.read_text("utf-8")
    assert "Retourenlabel" in returns_answer(phone)
    history = runner.invoke(main, ["flows", "history", "hotline"]).output.splitlines()
    assert len(history) == 2 and history[1].endswith("\tlive")


def test_in_process_simulate_keeps_the_admins_version(runner, admin_file, tmp_path):
    runner.invoke(main, ["flows", "import", str(admin_file), "--author", "alice"])
    script = tmp_path / "returns.call"
    script.write_text("press 2\nexpect Retourenlabel\n", encoding="utf-8")
    for _restart in range(2):
        result = runner.invoke(main, ["simulate", "--script", str(script)])
        assert result.exit_code == 0, result.output
        assert "call_flows/hotline.yaml differs from the live hotline v2" in result.output
    assert len(runner.invoke(main, ["flows", "history", "hotline"]).output.splitlines()) == 2


def test_taking_the_shipped_version_is_an_explicit_import(app, runner, phone, admin_file):
    runner.invoke(main, ["flows", "import", str(admin_file)])
    result = runner.invoke(main, ["flows", "import", str(SHIPPED_FLOWS / "hotline.yaml")])
    assert "published hotline v3" in result.output
    assert RETURNS in returns_answer(phone)
    assert not any("differs" in n for n in prepare_instance(app))


def test_reimporting_identical_content_says_unchanged(runner):
    result = runner.invoke(main, ["flows", "import", str(SHIPPED_FLOWS / "hotline.yaml")])
    assert result.exit_code == 0
    assert result.output == "unchanged: hotline v1 already has this content\n"
    assert len(runner.invoke(main, ["flows", "history", "hotline"]).output.splitlines()) == 1


def test_unknown_answering_flow_stops_serve_with_a_clear_message(app, runner, monkeypatch):
    def no_gunicorn(*args: object) -> None:
        raise AssertionError("serve went on to start gunicorn")

    monkeypatch.setattr(os, "execvp", no_gunicorn)
    app.config["FLOW_NAME"] = "hotlien"
    result = runner.invoke(main, ["serve"])
    assert result.exit_code == 1
    assert "IVR_FLOW names the flow 'hotlien', which does not exist (flows: hotline)" in result.output


def test_history_export_and_diff_show_each_version(runner, admin_file):
    runner.invoke(main, ["flows", "import", str(admin_file), "--author", "alice"])
    rows = json.loads(runner.invoke(main, ["flows", "history", "hotline", "--json"]).output)
    assert [(r["version"], r["author"], r["live"]) for r in rows] == [
        (1, "shipped", False),
        (2, "alice", True),
    ]
    assert all(len(r["checksum"]) == 64 and r["created_at"] for r in rows)
    assert runner.invoke(main, ["flows", "export", "hotline", "--version", "1"]).output == SHIPPED
    diff = runner.invoke(main, ["flows", "diff", "hotline", "1", "2"]).output
    assert diff.startswith("--- hotline v1\n+++ hotline v2\n")
    assert any(line.startswith("-") and RETURNS in line for line in diff.splitlines())
    assert any(line.startswith("+") and "Retourenlabel" in line for line in diff.splitlines())
    missing = runner.invoke(main, ["flows", "export", "hotline", "--version", "9"])
    assert missing.exit_code == 1 and "flow 'hotline' has no version 9" in missing.output


def test_list_marks_the_live_version_and_the_answering_flow(runner, admin_file):
    runner.invoke(main, ["flows", "import", str(admin_file)])
    rows = json.loads(runner.invoke(main, ["flows", "list", "--json"]).output)
    assert [(r["name"], r["version"], r["live"], r["answers_calls"]) for r in rows] == [
        ("hotline", 2, True, True)
    ]
    text = runner.invoke(main, ["flows", "list"]).output
    assert text.startswith("hotline\tv2\t") and text.rstrip().endswith("\tlive\tanswers calls")


def test_rollback_publishes_old_content_and_live_calls_keep_their_version(app, runner, phone, admin_file):
    runner.invoke(main, ["flows", "import", str(admin_file), "--author", "alice"])
    running = phone(call_sid="CA" + "7" * 32)
    running.dial()  # pinned to v2

    result = runner.invoke(main, ["flows", "rollback", "hotline", "--author", "bob"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("rolled back: published hotline v3")
    rows = json.loads(runner.invoke(main, ["flows", "history", "hotline", "--json"]).output)
    assert [(r["version"], r["author"]) for r in rows] == [(1, "shipped"), (2, "alice"), (3, "bob")]
    assert rows[2]["checksum"] == rows[0]["checksum"] and rows[2]["live"]

    running.press("2")
    assert "Retourenlabel" in running.heard  # the running call keeps v2
    assert RETURNS in returns_answer(phone)  # new calls get v3 = v1's content

    again = runner.invoke(main, ["flows", "rollback", "hotline", "--to", "3"])
    assert again.output.startswith("unchanged: hotline v3")
    unknown = runner.invoke(main, ["flows", "rollback", "nosuch"])
    assert unknown.exit_code == 1 and "no flow named 'nosuch' (flows: hotline)" in unknown.output


def _at_once(count: int, work) -> list[BaseException]:
    """Run ``work(i)`` in ``count`` threads released together; return what they raised."""
    import threading

    barrier = threading.Barrier(count)
    failures: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            work(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller's assertion
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failures


def test_concurrent_imports_each_get_their_own_version(app, runner):
    from ivr.db import session_factory, transaction
    from ivr.flows.store import publish

    def admin(i: int) -> None:
        with session_factory(app)() as session, transaction(session):
            publish(session, SHIPPED.replace(RETURNS, f"Etikett {i}"), "hotline.yaml", f"admin{i}")

    assert _at_once(3, admin) == []
    rows = json.loads(runner.invoke(main, ["flows", "history", "hotline", "--json"]).output)
    assert [r["version"] for r in rows] == [1, 2, 3, 4]
    assert sorted(r["author"] for r in rows[1:]) == ["admin0", "admin1", "admin2"]


def test_nodes_starting_together_seed_the_flow_once(app, session, runner):
    from sqlalchemy import delete

    from ivr.flows.store import _parsed
    from ivr.models import FlowVersion
    from ivr.setup import check_flows

    session.execute(delete(FlowVersion))
    session.commit()
    _parsed.clear()

    assert _at_once(3, lambda _i: check_flows(app)) == []
    rows = json.loads(runner.invoke(main, ["flows", "history", "hotline", "--json"]).output)
    assert [(r["version"], r["author"]) for r in rows] == [(1, "shipped")]
