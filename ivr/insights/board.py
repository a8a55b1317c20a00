"""The wallboard's figures: queues now, agents by state, today's service level so far."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.desk.models import ACTIVITIES, Task, User
from ivr.desk.queues import queue_overview
from ivr.desk.routing import QUEUED
from ivr.insights.alarms_store import Alarm
from ivr.insights.facts import load_contacts
from ivr.insights.kpis import Period, summarise
from ivr.insights.settings import KpiSettings


def board_fingerprint(session: Session) -> tuple[object, ...]:
    """What changes the wallboard: callers entering, leaving or being answered; agents' states."""
    tasks = session.execute(
        select(Task.id, Task.status, Task.queue).where(Task.status.in_((*QUEUED, "connected")))
    ).all()
    agents = session.execute(select(User.id, User.activity).where(User.disabled.is_(False))).all()
    return (tuple(sorted(map(tuple, tasks))), tuple(sorted(map(tuple, agents))))


#: Alarms shown on the wallboard: raised within this many hours.
ALARM_HOURS = 24


def recent_alarms(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Complaint and spike alarms raised within the last day, newest first."""
    rows = session.scalars(
        select(Alarm)
        .where(Alarm.created_at >= now - timedelta(hours=ALARM_HOURS))
        .order_by(Alarm.created_at.desc(), Alarm.id.desc())
        .limit(10)
    )
    return [
        {
            "kind": alarm.kind,
            "subject": alarm.subject,
            "window_start": alarm.window_start,
            "window_end": alarm.window_end,
            "observed": alarm.observed,
            "expected": alarm.expected,
            "score": alarm.score,
            "created_at": alarm.created_at,
        }
        for alarm in rows
    ]


def today_figures(session: Session, now: datetime, settings: KpiSettings) -> dict[str, Any]:
    """Today's calls, answered, abandoned, ASA and service level so far (local day)."""
    midnight = datetime.combine(now.astimezone(settings.zone).date(), time(), tzinfo=settings.zone)
    today = Period(midnight, now)
    figures = summarise(load_contacts(session, today.start, today.end), {}, [], settings)
    return {
        "contacts": figures["contacts"],
        "answered": figures["answered"],
        "abandoned": figures["abandoned"],
        "service_level": figures["service_level"],
        "asa_seconds": figures["asa_seconds"],
        "target_percent": settings.service_level_percent,
        "target_seconds": settings.service_level_seconds,
        "alarms": recent_alarms(session, now),
    }


def wallboard(
    session: Session,
    now: datetime,
    settings: KpiSettings,
    default_handle: int,
    today: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Queues (waiting, ringing, longest wait), agents by state, and today's figures (``today`` if given)."""
    agents = Counter(
        session.scalars(select(User.activity).where(User.disabled.is_(False), User.role == "agent")).all()
    )
    return {
        "at": now.isoformat(),
        "queues": queue_overview(session, now, default_handle),
        "agents": {state: agents.get(state, 0) for state in ACTIVITIES},
        "today": today if today is not None else today_figures(session, now, settings),
    }
