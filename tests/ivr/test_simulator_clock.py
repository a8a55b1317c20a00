"""``ivr simulate --at`` and the script's ``at`` line: try opening-hours branches any day."""

from __future__ import annotations

from pathlib import Path

from ivr.cli import main
from tests.conftest import CLOSED_HOURS

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "agent.call"
CLOSED_TEXT = "persönlich für Sie da"


def test_the_readme_example_passes_at_any_hour(app, runner):
    app.config["CLOCK"] = lambda: CLOSED_HOURS  # run on a Sunday evening
    result = runner.invoke(main, ["simulate", "--script", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "🕒 2026-12-01 10:00" in result.output
    assert "☎  <Enqueue> service" in result.output


def test_at_option_runs_the_call_at_that_local_time(runner, tmp_path):
    script = tmp_path / "closed.call"
    script.write_text(f"press 0\nexpect {CLOSED_TEXT}\n", encoding="utf-8")
    # 20:30 in Berlin on a Monday: closed (the service closes at 20:00 local time, 19:00 UTC).
    result = runner.invoke(main, ["simulate", "--script", str(script), "--at", "2026-11-23 20:30"])
    assert result.exit_code == 0, result.output
    assert "<Enqueue>" not in result.output

    opened = runner.invoke(main, ["simulate", "--script", str(script), "--at", "2026-11-23 19:30"])
    assert opened.exit_code == 1
    assert f"line 2: expected '{CLOSED_TEXT}'" in opened.output


def test_holidays_can_be_tried(runner, tmp_path):
    script = tmp_path / "christmas.call"
    script.write_text(f'at "2026-12-25 10:00"\npress 0\nexpect {CLOSED_TEXT}\n', encoding="utf-8")
    result = runner.invoke(main, ["simulate", "--script", str(script)])
    assert result.exit_code == 0, result.output


def test_bad_times_and_remote_services_are_refused_clearly(runner, tmp_path):
    bad = runner.invoke(main, ["simulate", "--at", "Dienstag früh"])
    assert bad.exit_code == 2
    assert "'Dienstag früh' is not a time like 2026-12-01 10:00" in bad.output

    script = tmp_path / "bad.call"
    script.write_text("at morgen\npress 0\n", encoding="utf-8")
    result = runner.invoke(main, ["simulate", "--script", str(script)])
    assert result.exit_code == 1 and "line 1: 'morgen' is not a time" in result.output

    remote = runner.invoke(main, ["simulate", "--url", "http://127.0.0.1:9", "--at", "2026-12-01 10:00"])
    assert remote.exit_code == 2 and "--at works only in-process" in remote.output
