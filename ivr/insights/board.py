"""The wallboard's figures: queues now, agents by state, today's service level so far."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.desk.models import ACTIVITIES, Task, User
from ivr.desk.queues import queue_overview
from ivr.desk.routing import QUEUED
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
