"""The proactive-service KPI from raw events: how many calls about a known delay end in self-service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.models import Interaction, InteractionEvent

DELAY_REASONS = ("delayed", "overdue")


@dataclass(frozen=True)
class DelayContainment:
    """Calls whose caller pressed 1 on a delay notice, and how many of them the IVR resolved."""

    calls: int
    self_service: int

    @property
    def share(self) -> float | None:
        """``self_service / calls``; None without such calls."""
        return self.self_service / self.calls if self.calls else None


def delay_containment(session: Session, since: datetime, until: datetime) -> DelayContainment:
    """Over calls started in [since, until): those with a ``proactive_notice`` event about a delay
    that the caller accepted (denominator), and of them those whose outcome is ``self_service``."""
    rows = session.execute(
        select(Interaction.id, Interaction.outcome, InteractionEvent.data)
        .join(InteractionEvent, InteractionEvent.interaction_id == Interaction.id)
        .where(
            Interaction.started_at >= since,
            Interaction.started_at < until,
            InteractionEvent.kind == "proactive_notice",
        )
    ).all()
    about_delay = {
        interaction_id: outcome
        for interaction_id, outcome, data in rows
        if data.get("accepted") and data.get("reason") in DELAY_REASONS
    }
    resolved = sum(1 for outcome in about_delay.values() if outcome == "self_service")
    return DelayContainment(len(about_delay), resolved)
