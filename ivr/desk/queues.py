"""Queue figures for wallboards and integrations: who waits, how long, who could take them."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.desk.models import ACTIVITIES, Task, User
from ivr.desk.routing import QUEUED, recent_handle_seconds

ON_DUTY = ("available", "offered", "busy", "wrapup")


def queue_overview(session: Session, now: datetime, default_handle: int) -> list[dict[str, Any]]:
    """Per queue: callers waiting, the longest wait, the expected wait of a new caller, agents by state."""
    waiting = session.scalars(select(Task).where(Task.status.in_(QUEUED))).all()
    agents = session.scalars(select(User).where(User.disabled.is_(False), User.role == "agent")).all()
    names = sorted({t.queue for t in waiting} | {skill for a in agents for skill in a.skills})
    overview = []
    for name in names:
        tasks = [t for t in waiting if t.queue == name]
        serving = [a for a in agents if name in a.skills]
        states = Counter(a.activity for a in serving)
        on_duty = sum(states[s] for s in ON_DUTY)
        handle = recent_handle_seconds(session, name, now) or default_handle
        longest = max((now - t.arrived_at).total_seconds() for t in tasks) if tasks else 0
        overview.append(
            {
                "queue": name,
                "waiting": sum(1 for t in tasks if t.status == "waiting"),
                "ringing": sum(1 for t in tasks if t.status == "offered"),
                "longest_wait_seconds": int(longest),
                "estimated_wait_seconds": int((len(tasks) + 1) * handle / on_duty) if on_duty else None,
                "agents": {state: states.get(state, 0) for state in ACTIVITIES},
            }
        )
    return overview


def known_queues(session: Session) -> list[str]:
    """Queues a call can be transferred to: those some enabled agent serves."""
    agents = session.scalars(select(User.skills).where(User.disabled.is_(False), User.role == "agent")).all()
    return sorted({skill for skills in agents for skill in skills})


def free_colleagues(session: Session, user_id: int) -> list[User]:
    """Agents a call can be handed to right now (available, not the agent themself)."""
    return list(
        session.scalars(
            select(User)
            .where(User.activity == "available", User.disabled.is_(False), User.id != user_id)
            .order_by(User.name)
            .limit(50)
        )
    )
