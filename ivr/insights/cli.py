"""``ivr kpis``: the same numbers as ``GET /api/kpis`` and the console, on the command line."""

from __future__ import annotations

import json
import time
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from ivr.db import get_session
from ivr.insights.callfacts import refresh
from ivr.insights.kpis import GROUPINGS, PeriodError, compute_kpis, parse_period
from ivr.insights.settings import KpiSettings, KpiSettingsError

#: The figures the table shows, in order (``--json`` has all of them).
COLUMNS = (
    ("contacts", "calls"),
    ("queued", "queued"),
    ("service_level", "SL"),
    ("asa_seconds", "ASA s"),
    ("abandonment_rate", "aband."),
    ("short_abandons", "short"),
    ("aht_seconds", "AHT s"),
    ("containment_rate", "contain."),
    ("fcr_rate", "FCR"),
    ("csat", "CSAT"),
    ("nps", "NPS"),
)


@click.group("kpis", invoke_without_command=True)
@click.option("--from", "start", help="First day (YYYY-MM-DD, local) or ISO time.")
@click.option("--to", "end", help="Last day (included) or ISO time (excluded).")
@click.option("--by", type=click.Choice(GROUPINGS), help="Group by day, hour, intent, queue or agent.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the API's answer).")
@click.pass_context
@with_appcontext
def kpis(ctx: click.Context, start: str | None, end: str | None, by: str | None, as_json: bool) -> None:
    """Show the hotline's KPIs over a period (definitions: docs/insights.md).

    ``ivr kpis rebuild`` recomputes the per-call facts from the raw events.
    """
    if ctx.invoked_subcommand is not None:
        return
    if not start or not end:
        raise click.UsageError("give --from and --to")
    try:
        settings = KpiSettings.from_config(current_app.config)
        period = parse_period(start, end, settings)
        session = get_session()
        try:
            result = compute_kpis(session, period, by, settings)
        finally:
            session.rollback()
    except (PeriodError, KpiSettingsError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    click.echo(f"{result['from']} – {result['to']}  ({settings.timezone})")
    rows = [("total", result["total"])] + [(g["key"], g) for g in result.get("groups", [])]
    width = max(len(k) for k, _ in rows)
    click.echo(f"{'':<{width}}  " + "  ".join(f"{label:>8}" for _, label in COLUMNS))
    for key, row in rows:
        click.echo(f"{key:<{width}}  " + "  ".join(f"{_cell(name, row.get(name)):>8}" for name, _ in COLUMNS))


@kpis.command("rebuild")
@with_appcontext
def rebuild() -> None:
    """Recompute every call's KPI facts from the raw events (after a definition changed)."""
    engine = get_session().get_bind().engine
    began = time.perf_counter()
    calls = refresh(engine, full=True, timeout=0)
    click.echo(f"rebuilt the KPI facts of {calls} calls in {time.perf_counter() - began:.1f} s")


def _cell(name: str, value: Any) -> str:
    if value is None:
        return "-"
    if name.endswith("_rate") or name in ("service_level", "csat"):
        return f"{value:.1%}"
    return str(value)
