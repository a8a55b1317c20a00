"""``ivr alarms run`` (cron or a long-running worker) and ``ivr alarms list``."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from ivr.db import session_factory
from ivr.insights.alarms_notify import AlarmConfigError, AlarmSettings, describe
from ivr.insights.alarms_run import run_alarms
from ivr.insights.alarms_store import recent_alarms


@click.group()
def alarms() -> None:
    """Complaint and spike alarms."""


@alarms.command("run")
@click.option("--once", is_flag=True, help="One pass, then exit (for cron or a systemd timer).")
@click.option("--interval", default=300.0, show_default=True, help="Seconds between passes.")
@with_appcontext
def alarms_run(once: bool, interval: float) -> None:
    """Test the last window of every subject, store and send alarms; repeat every --interval."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        AlarmSettings.from_config(app.config)
    except AlarmConfigError as exc:
        raise click.ClickException(str(exc)) from None
    while True:
        result = run_alarms(session_factory(app), app.config, app.config["CLOCK"]())
        if once:
            click.echo(
                f"window {result.window_start.isoformat()} to {result.window_end.isoformat()}: "
                f"{len(result.new_alarms)} new alarms, {result.sent} sent"
            )
            return
        time.sleep(interval)


@alarms.command("list")
@click.option("--hours", default=24, show_default=True, help="Alarms of the last N hours.")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")
@with_appcontext
def alarms_list(hours: int, as_json: bool) -> None:
    """Recent alarms, newest first."""
    now = current_app.config["CLOCK"]()
    with session_factory()() as session:
        found = recent_alarms(session, now - timedelta(hours=hours), limit=500)
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    for alarm in found:
        click.echo(describe(alarm))
    if not found:
        click.echo("no alarms")
