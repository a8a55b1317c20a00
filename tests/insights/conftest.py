"""Hand-built event streams: calls, queue events, agents' presence, as the service records them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from ivr.db import session_factory
from ivr.desk.models import AgentActivity
from ivr.desk.users import NewUser, add_user
from ivr.history import get_or_create_customer
from ivr.models import Interaction, InteractionEvent
from tests.desk.conftest import create_user  # noqa: F401  (console users for the supervisor pages)

PASSWORD = "correct horse battery staple"


class Stream:
    """Builds one call: ``call(...)`` then events at offsets (seconds) from its start."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.sids = 0

    def call(
        self,
        start: datetime,
        phone: str | None = "+4915112345678",
        outcome: str | None = "completed",
        intent: str | None = None,
        language: str = "de",
        events: list[tuple[float, str, dict[str, Any]]] = (),  # type: ignore[assignment]
    ) -> Interaction:
        """A finished inbound call with its events (offset in seconds, kind, data)."""
        self.sids += 1
        customer = get_or_create_customer(self.session, phone)
        interaction = Interaction(
            call_sid=f"CA{self.sids:032d}",
            customer_id=customer.id if customer else None,
            from_number=phone,
            started_at=start,
            ended_at=start + timedelta(minutes=5),
            status="completed",
            outcome=outcome,
            intent=intent,
            language=language,
        )
        self.session.add(interaction)
        self.session.flush()
        for seq, (offset, kind, data) in enumerate(events, start=1):
            self.session.add(
                InteractionEvent(
                    interaction_id=interaction.id,
                    seq=seq,
                    kind=kind,
                    at=start + timedelta(seconds=offset),
                    data=data,
                )
            )
        interaction.event_seq = len(events)
        self.session.flush()
        return interaction

    def presence(self, user_id: int, changes: list[tuple[datetime, str]]) -> None:
        """An agent's presence log."""
        for at, activity in changes:
            self.session.add(AgentActivity(user_id=user_id, activity=activity, at=at))
        self.session.flush()

    def agent(self, email: str = "anna@shop.example", name: str = "Anna", role: str = "agent") -> int:
        """A console user; returns its id."""
        user = add_user(self.session, NewUser(email, name, role, skills=("service",)), PASSWORD)
        self.session.flush()
        return user.id


@pytest.fixture
def stream(app: Flask) -> Callable[[], Stream]:
    """Build an event stream; commit with ``stream.session.commit()``."""
    sessions: list[Session] = []

    def make() -> Stream:
        session = session_factory(app)()
        sessions.append(session)
        return Stream(session)

    yield make  # type: ignore[misc]
    for session in sessions:
        session.close()


def left_queue_events(
    left_at: float, reason: str = "hangup", waited: int | None = None, queue: str = "service"
):
    """Events of a caller who joined the queue at 30 s and left at ``left_at`` s (hung up, or a callback)."""
    data: dict[str, Any] = {"queue": queue, "reason": reason}
    if waited is not None:
        data["waited"] = waited
    return [(30, "queued", {"queue": queue}), (left_at, "left_queue", data)]


def answered(
    wait: float, talk: int, agent_id: int, queue: str = "service", wrapup_after: float | None = None
):
    """Events of a caller who waited ``wait`` s, then talked ``talk`` s (offsets from queue entry at 30 s)."""
    events: list[tuple[float, str, dict[str, Any]]] = [
        (30, "queued", {"queue": queue}),
        (30 + wait, "connected", {"queue": queue, "agent_id": agent_id, "waited": int(wait)}),
        (30 + wait + talk, "agent_call_ended", {"queue": queue, "talk": talk}),
    ]
    if wrapup_after is not None:
        events.append(
            (30 + wait + talk + wrapup_after, "wrapup", {"agent_id": agent_id, "disposition": "resolved"})
        )
    return events
