"""Supervisor pages of the console: the live wallboard and the reports (charts, CSV)."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request, send_file
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from callbacks.settings import Settings as CallbackSettings
from ivr.db import get_session
from ivr.desk import auth
from ivr.desk.forms import EmptyForm
from ivr.desk.i18n import gettext
from ivr.desk.models import User
from ivr.desk.softphone import FRONT_END
from ivr.desk.views import console_headers, live_stream
from ivr.insights.board import board_fingerprint, today_figures, wallboard
from ivr.insights.definitions import definitions
from ivr.insights.kpis import GROUPINGS, PeriodError, compute_kpis, parse_period
from ivr.insights.settings import KpiSettings

bp = Blueprint(
    "insights",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/insights/static",
)
bp.after_request(console_headers)

#: How stale the wallboard's "today" figures may get while queues change (docs/insights.md).
TODAY_SECONDS = 10.0
CHART_JS = FRONT_END[1]
#: The figures of the report table, in order; rates are shown in percent.
REPORT_FIGURES = (
    "contacts",
    "queued",
    "service_level",
    "asa_seconds",
    "abandonment_rate",
    "short_abandon_rate",
    "longest_wait_seconds",
    "aht_seconds",
    "containment_rate",
    "fcr_rate",
    "resolved_rate",
    "csat",
    "nps",
)
RATES = {
    "service_level",
    "abandonment_rate",
    "short_abandon_rate",
    "containment_rate",
    "fcr_rate",
    "resolved_rate",
    "csat",
}


def _settings() -> KpiSettings:
    return KpiSettings.from_config(current_app.config)


def _board(session: Session) -> dict[str, Any]:
    config = current_app.config
    return wallboard(
        session, config["CLOCK"](), _settings(), CallbackSettings.from_config(config).handle_seconds
    )


@bp.get("/wallboard")
@auth.role_required("supervisor")
def wallboard_page() -> ResponseReturnValue:
    """The live wallboard: queues, waiting callers, longest wait, agents by state, today's service level."""
    session = get_session()
    board = _board(session)
    session.rollback()
    return render_template(
        "insights/wallboard.html",
        board=board,
        tips=definitions(_settings(), gettext),
        sign_out=EmptyForm(),
    )


@bp.get("/wallboard/events")
@auth.role_required("supervisor")
def wallboard_events() -> ResponseReturnValue:
    """Server-sent events: the board is pushed within a second of a queue or agent change."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    config = app.config
    settings = _settings()
    handle = CallbackSettings.from_config(config).handle_seconds

    today: dict[str, Any] = {}

    def render(session: Session) -> str:
        # Queues and agents are read at every push; today's totals (a day of calls) at most
        # every TODAY_SECONDS, so a busy queue does not recompute the day four times a second.
        now, clock = config["CLOCK"](), time.monotonic()
        if not today or clock - today["computed"] > TODAY_SECONDS:
            today.update(computed=clock, figures=today_figures(session, now, settings))
        board = wallboard(session, now, settings, handle, today["figures"])
        return json.dumps({"board": render_template("insights/_board.html", board=board)})

    def look(session: Session) -> object:
        # Also every TODAY_SECONDS: calls that end in the IVR and new alarms change no queue.
        return board_fingerprint(session), int(time.monotonic() // TODAY_SECONDS)

    return live_stream("wallboard", look, render)


@bp.get("/reports")
@auth.role_required("supervisor")
def reports() -> ResponseReturnValue:
    """KPIs over a chosen period with charts, the previous period beside them, CSV export."""
    settings = _settings()
    today = current_app.config["CLOCK"]().astimezone(settings.zone).date()
    start = request.args.get("from") or (today - timedelta(days=6)).isoformat()
    end = request.args.get("to") or today.isoformat()
    by = request.args.get("by") or "day"
    if by not in GROUPINGS:
        by = "day"
    error, result, previous = None, None, None
    try:
        period = parse_period(start, end, settings)
        session = get_session()
        session.rollback()  # a fresh snapshot: SQLite's would not see the facts refreshed just now
        result = compute_kpis(session, period, by, settings)
        previous = compute_kpis(session, period.previous(), None, settings)["total"]
        names = {i: n for i, n in session.execute(select(User.id, User.name))} if by == "agent" else {}
        for group in result["groups"]:  # agents by name on the page (the API and CSV keep ids)
            key = group["key"]
            group["label"] = names.get(int(key), key) if key.isdigit() else key
        session.rollback()
    except PeriodError as exc:
        error = gettext(str(exc))
    return render_template(
        "insights/reports.html",
        start=start,
        end=end,
        by=by,
        groupings=GROUPINGS,
        error=error,
        result=result,
        previous=previous,
        figures=REPORT_FIGURES,
        rates=RATES,
        tips=definitions(settings, gettext),
        sign_out=EmptyForm(),
    ), 400 if error else 200


@bp.get("/reports.csv")
@auth.role_required("supervisor")
def reports_csv() -> ResponseReturnValue:
    """The report's rows as CSV (one row per group, then the total)."""
    settings = _settings()
    try:
        period = parse_period(request.args.get("from"), request.args.get("to"), settings)
        by = request.args.get("by") or "day"
        session = get_session()
        session.rollback()  # a fresh snapshot, as above
        result = compute_kpis(session, period, by if by in GROUPINGS else "day", settings)
        session.rollback()
    except PeriodError as exc:
        return Response(str(exc), status=400, mimetype="text/plain")
    out = io.StringIO()
    writer = csv.writer(out)
    columns = [name for name, value in result["total"].items() if not isinstance(value, dict)]
    writer.writerow([result["by"], *columns])
    for row in [*result["groups"], {"key": "total", **result["total"]}]:
        writer.writerow([_csv_safe(row["key"]), *("" if row.get(c) is None else row.get(c) for c in columns)])
    name = f"kpis-{request.args.get('from')}-{request.args.get('to')}.csv".replace("/", "")
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{_csv_safe(name)}"'},
    )


def _csv_safe(value: str) -> str:
    """Keys are intent labels and queue names: no spreadsheet formulas, no header tricks."""
    value = "".join(ch for ch in str(value) if ch.isprintable() and ch not in '"\\')
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


@bp.get("/vendor/chart.umd.min.js")
@auth.role_required("supervisor")
def chart_js() -> ResponseReturnValue:
    """Chart.js as installed from the npm lock file."""
    if not CHART_JS.exists():
        abort(404)
    return send_file(CHART_JS, mimetype="text/javascript", max_age=3600)
