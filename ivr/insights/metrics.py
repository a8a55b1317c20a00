"""``GET /metrics`` in Prometheus format: webhook latency, speech decode time, and live figures.

Latency and decode time are histograms in the process that measured them; under gunicorn with
several workers set ``PROMETHEUS_MULTIPROC_DIR`` so every worker's samples are summed
(docs/insights.md). Calls by outcome, queue sizes, agents by state and the callback backlog are
read from the database at each scrape, so they are the same whichever worker answers.
"""

from __future__ import annotations

import functools
import hmac
import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from flask.typing import ResponseReturnValue
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from callbacks.models import OPEN, CallbackRequest
from ivr.apikeys import authenticate, request_key, unauthorized
from ivr.db import get_session, session_factory
from ivr.desk.models import ACTIVITIES, Task, User
from ivr.desk.routing import QUEUED
from ivr.insights.instruments import WEBHOOK_SECONDS
from ivr.models import Interaction

bp = Blueprint("metrics", __name__)

#: Webhooks are Twilio's requests: the paths under these prefixes.
WEBHOOK_PREFIXES = ("/twilio/", "/callbacks/", "/desk/twilio/")


@bp.before_app_request
def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


@bp.after_app_request
def _observe(response: Response) -> Response:
    started = g.get("metrics_started")
    rule = request.url_rule
    if started is not None and rule is not None and rule.rule.startswith(WEBHOOK_PREFIXES):
        # The route's template, never the path itself: no CallSids or numbers in label values.
        _webhook_seconds(rule.rule).observe(time.perf_counter() - started)
    return response


@functools.cache
def _webhook_seconds(route: str) -> Histogram:
    """The route's histogram (``labels`` validates and locks at every call)."""
    return WEBHOOK_SECONDS.labels(route)


class DatabaseCollector(Collector):
    """Figures read from the database at scrape time (correct across workers and machines)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        """Calls by outcome, queue sizes, agents by state, the callback backlog."""
        with session_factory(self.app)() as session:
            outcomes = session.execute(
                select(Interaction.outcome, func.count())
                .where(Interaction.channel == "voice", Interaction.ended_at.is_not(None))
                .group_by(Interaction.outcome)
            ).all()
            queues = session.execute(
                select(Task.queue, Task.status, func.count())
                .where(Task.status.in_(QUEUED))
                .group_by(Task.queue, Task.status)
            ).all()
            states = dict(
                session.execute(
                    select(User.activity, func.count())
                    .where(User.disabled.is_(False), User.role == "agent")
                    .group_by(User.activity)
                ).all()
            )
            backlog = session.execute(
                select(func.count(), func.min(CallbackRequest.requested_at)).where(
                    CallbackRequest.status.in_(OPEN)
                )
            ).one()
        calls = CounterMetricFamily("ivr_calls", "Finished calls by outcome (all time).", labels=["outcome"])
        for outcome, count in outcomes:
            calls.add_metric([outcome or "unknown"], count)
        yield calls
        sizes = GaugeMetricFamily(
            "ivr_queue_callers",
            "Callers in a queue now, waiting or ringing an agent.",
            labels=["queue", "state"],
        )
        for queue, status, count in queues:
            sizes.add_metric([queue, status], count)
        yield sizes
        agents = GaugeMetricFamily("ivr_agents", "Agents by state now.", labels=["state"])
        for state in ACTIVITIES:
            agents.add_metric([state], states.get(state, 0))
        yield agents
        yield GaugeMetricFamily("ivr_callback_backlog", "Callback requests not yet done.", value=backlog[0])
        oldest = backlog[1]
        age = (self.app.config["CLOCK"]() - oldest).total_seconds() if oldest is not None else 0
        yield GaugeMetricFamily(
            "ivr_callback_oldest_age_seconds", "Age of the oldest open callback request.", value=max(0.0, age)
        )


@bp.get("/metrics")
def metrics() -> ResponseReturnValue:
    """The metrics, for a bearer token (``IVR_METRICS_TOKEN``) or an API key with scope kpis."""
    if not _allowed():
        return unauthorized()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        local = CollectorRegistry()
        MultiProcessCollector(local)  # type: ignore[no-untyped-call]
        body = generate_latest(local)
    else:
        body = generate_latest(REGISTRY)
    live = CollectorRegistry()
    live.register(DatabaseCollector(app))
    return Response(
        body + generate_latest(live), mimetype=CONTENT_TYPE_LATEST.split(";")[0], headers=_no_cache()
    )


def _allowed() -> bool:
    key = request_key() or ""
    token = str(current_app.config.get("METRICS_TOKEN") or os.environ.get("IVR_METRICS_TOKEN") or "")
    if token and key and hmac.compare_digest(key.encode(), token.encode()):
        return True
    session = get_session()
    found = authenticate(session, key or None)
    allowed = found is not None and "kpis" in found.scope_names
    session.rollback()
    return allowed


def _no_cache() -> dict[str, Any]:
    return {"Cache-Control": "no-store"}
