"""``GET /api/kpis``: the KPIs of a period as JSON, for integrations (API key scope ``kpis``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import BadRequest

from ivr.apikeys import require_api_key
from ivr.config import ConfigError
from ivr.db import get_session
from ivr.insights.kpis import PeriodError, compute_kpis, parse_period
from ivr.insights.settings import KpiSettings, KpiSettingsError

bp = Blueprint("insights_api", __name__, url_prefix="/api")


@bp.record_once
def _check_settings(state: Any) -> None:
    """A bad KPI setting stops the app (and ``ivr serve``) at start with the variable's name."""
    try:
        KpiSettings.from_config(state.app.config)
    except KpiSettingsError as exc:
        raise ConfigError(str(exc)) from None


@bp.get("/kpis")
@require_api_key("kpis")
def kpis() -> ResponseReturnValue:
    """KPIs over ``from``..``to`` (local dates, or ISO times with offset), optionally grouped ``by``."""
    settings = KpiSettings.from_config(current_app.config)
    try:
        period = parse_period(request.args.get("from"), request.args.get("to"), settings)
        session = get_session()
        try:
            result = compute_kpis(session, period, request.args.get("by") or None, settings)
        finally:
            session.rollback()  # a read: no write lock, nothing kept open
    except PeriodError as exc:
        raise BadRequest(str(exc)) from None
    return jsonify(result)
