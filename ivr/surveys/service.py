"""The ``survey`` service: whom to invite (1 in N, a daily cap, a cool-down) and whom to credit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from ivr.desk.models import Task
from ivr.models import Interaction, InteractionEvent
from ivr.services import Services

#: Logged when a caller is asked to take part; the daily cap and the cool-down count these.
INVITED = "survey_invited"
#: Logged when 1-in-N sampling passes a caller over; with INVITED it numbers the day's callers.
PASSED = "survey_passed"
#: Logged when the cap or the cool-down rules a caller out (they do not count for sampling).
SKIPPED = "survey_skipped"


@dataclass(frozen=True)
class Sampling:
    """The node's sampling rules."""

    every: int
    daily_cap: int
    cooldown: timedelta
    timezone: str


class SurveyService:
    """Sampling and attribution for one webhook; reads only, the node logs the decision."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.session = services.session

    def decide(self, rules: Sampling, now: datetime) -> str:
        """``invite``, or why not: ``anonymous`` (no caller ID), ``recent`` (asked within the
        cool-down), ``cap`` or ``sampled_out``."""
        interaction = self._interaction()
        if interaction is None or interaction.customer_id is None:
            # Without a caller ID neither the cool-down nor an earlier decline can be honoured,
            # and one person could answer again and again.
            return "anonymous"
        same_caller = Interaction.customer_id == interaction.customer_id
        if self._count((INVITED,), now - rules.cooldown, same_caller):
            return "recent"
        local = now.astimezone(ZoneInfo(rules.timezone))
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if self._count((INVITED,), midnight) >= rules.daily_cap:
            return "cap"
        # Deterministic 1 in N: the day's n-th eligible caller is invited when n ≡ 0 (mod N), so
        # agents cannot influence who is asked and the share is exact, not a dice roll.
        if self._count((INVITED, PASSED), midnight) % rules.every:
            return "sampled_out"
        return "invite"

    def last_agent(self) -> int | None:
        """The console user who last talked to this caller (the task's agent once connected)."""
        return self.session.scalar(
            select(Task.offered_to).where(
                Task.call_sid == self.services.call_sid, Task.connected_at.is_not(None)
            )
        )

    def _interaction(self) -> Interaction | None:
        return self.services.call_interaction()

    def _count(self, kinds: tuple[str, ...], since: datetime, *where: object) -> int:
        """Survey events of real calls (console test calls excluded) since ``since``."""
        query = (
            select(func.count())
            .select_from(InteractionEvent)
            .join(Interaction, Interaction.id == InteractionEvent.interaction_id)
            .where(
                InteractionEvent.kind.in_(kinds),
                InteractionEvent.at >= since,
                Interaction.channel != "test",
                *where,  # type: ignore[arg-type]
            )
        )
        return int(self.session.scalar(query) or 0)


def build_survey(services: Services) -> SurveyService:
    """Factory for ``ctx.services.get("survey")``."""
    return SurveyService(services)
