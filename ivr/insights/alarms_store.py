"""Alarms in the database: count the windows, run the detector, store each alarm once."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Float, Index, String, UniqueConstraint, and_, case, exists, func, literal, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from ivr.db import Base
from ivr.insights.alarms import (
    ABANDONED,
    FAILED_SELF_SERVICE,
    TOTAL,
    DetectorSettings,
    Finding,
    detect,
)
from ivr.models import Interaction, InteractionEvent
from ivr.models._types import JSONType, UTCDateTime, utcnow

#: ``left_queue`` reasons that mean the caller hung up while waiting (or while an agent's phone rang).
HANGUPS = ("hangup", "caller gone")
#: ``route`` reasons that mean the IVR gave up on a caller it could not understand.
GAVE_UP = ("retries exhausted", "not understood", "attempts used up")
#: Windows beside each daily baseline window (earlier or later that day) that help estimate
#: how much a subject's share varies.
NEARBY = (timedelta(hours=2), timedelta(hours=1), -timedelta(hours=1), -timedelta(hours=2))


class Alarm(Base):
    """A subject that was out of line in a window; ``sent_at`` once the webhook and e-mail went out."""

    __tablename__ = "alarms"
    __table_args__ = (UniqueConstraint("subject", "window_start", name="uq_alarms_subject_window"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Which test fired: ``count`` or ``share``.
    kind: Mapped[str] = mapped_column(String(20))
    #: An intent label, ``abandoned`` or ``failed_self_service``.
    subject: Mapped[str] = mapped_column(String(60))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    observed: Mapped[float] = mapped_column(Float)
    expected: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The channels (``webhook``, ``email``) it reached: a retry sends only to the others.
    delivered: Mapped[list[str]] = mapped_column(JSONType, default=list)
    #: Why the last delivery failed (no personal data: alarms hold counts only).
    send_error: Mapped[str | None] = mapped_column(String(300))

    def as_dict(self) -> dict[str, Any]:
        """The alarm as JSON-ready data (for the API, the webhook and the wallboard)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "subject": self.subject,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "observed": self.observed,
            "expected": self.expected,
            "score": self.score,
            "details": self.details,
            "created_at": self.created_at.isoformat(),
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
        }


Index("ix_alarms_window_end", Alarm.window_end)


@dataclass(frozen=True)
class Windows:
    """The window under test and where its baselines lie."""

    length: timedelta = timedelta(hours=1)
    #: Windows end on multiples of this (a run every 5 minutes still tests 15-minute steps).
    step: timedelta = timedelta(minutes=15)
    weeks: int = 4
    days: int = 6

    def current(self, now: datetime) -> tuple[datetime, datetime]:
        """The last complete window before ``now``: (start, end)."""
        epoch = datetime(2000, 1, 3, tzinfo=UTC)  # a Monday: steps line up across time zones
        steps = (now - epoch) // self.step
        end = epoch + steps * self.step
        return end - self.length, end


def window_counts(session: Session, start: datetime, end: datetime) -> Counter[str]:
    """Inbound calls that started in ``[start, end)``: all, per intent, abandoned, failed self-service."""
    ev = InteractionEvent
    reason = ev.data["reason"].as_string()

    def has(*condition: Any) -> Any:
        # Per call, through the (interaction_id, seq) index: the cost follows the window's calls.
        return exists().where(ev.interaction_id == Interaction.id, *condition)

    abandoned = has(ev.kind == "left_queue", reason.in_(HANGUPS))
    # Lost in the IVR: it gave up on the caller, or they hung up there after it misunderstood them.
    lost = or_(
        has(ev.kind == "route", reason.in_(GAVE_UP)),
        and_(
            Interaction.outcome == "abandoned",
            has(ev.kind.in_(("no_input", "no_match"))),
            ~has(ev.kind == "queued"),
        ),
    )

    def count(condition: Any) -> Any:
        return func.sum(case((condition, literal(1)), else_=literal(0)))

    rows = session.execute(
        select(Interaction.intent, func.count(), count(abandoned), count(lost))
        .where(
            Interaction.channel == "voice",
            Interaction.direction == "inbound",
            Interaction.started_at >= start,
            Interaction.started_at < end,
        )
        .group_by(Interaction.intent)
    ).all()
    counts: Counter[str] = Counter()
    for intent, n, hung_up, failed in rows:
        counts[TOTAL] += int(n)
        if intent:
            counts[intent] += int(n)
        counts[ABANDONED] += int(hung_up or 0)
        counts[FAILED_SELF_SERVICE] += int(failed or 0)
    return counts


def evaluate(
    session: Session, now: datetime, windows: Windows, detector: DetectorSettings
) -> tuple[tuple[datetime, datetime], list[Finding]]:
    """The current window and what is out of line in it."""
    start, end = windows.current(now)
    window = window_counts(session, start, end)
    # Windows before the first recorded call are no history: they would all count as zero.
    first = session.scalar(select(func.min(Interaction.started_at)).where(Interaction.channel == "voice"))

    def history(shifts: list[timedelta]) -> list[Counter[str]]:
        known = [s for s in shifts if first is not None and start - s >= first]
        return [window_counts(session, start - s, end - s) for s in known]

    weekly = history([timedelta(weeks=w) for w in range(1, windows.weeks + 1)])
    daily = history([timedelta(days=d) for d in range(1, windows.days + 1)])
    nearby = history([timedelta(days=d) + shift for d in range(1, windows.days + 1) for shift in NEARBY])
    subjects = sorted({k for counts in (window, *weekly, *daily) for k in counts if k != TOTAL})
    return (start, end), detect(window, weekly, daily, detector, subjects, nearby)


def store_alarms(
    session: Session, window: tuple[datetime, datetime], findings: list[Finding], now: datetime
) -> list[int]:
    """Store new alarms; a subject alarmed in an overlapping window is not alarmed again."""
    start, end = window
    stored = []
    for finding in findings:
        earlier = session.scalar(
            select(Alarm.id).where(Alarm.subject == finding.subject, Alarm.window_end > start).limit(1)
        )
        if earlier is not None:
            continue
        dialect = session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        new_id = session.scalar(
            insert(Alarm)
            .values(
                kind=finding.kind,
                subject=finding.subject,
                window_start=start,
                window_end=end,
                observed=finding.observed,
                expected=finding.expected,
                score=finding.score,
                details=finding.details,
                delivered=[],
                created_at=now,
            )
            # Two workers checking the same window at once: the second stores nothing.
            .on_conflict_do_nothing(index_elements=["subject", "window_start"])
            .returning(Alarm.id)
        )
        if new_id is not None:
            stored.append(int(new_id))
    return stored


def recent_alarms(session: Session, since: datetime, limit: int = 50) -> list[dict[str, Any]]:
    """Alarms whose window ended after ``since``, newest first (for the wallboard and the API)."""
    rows = session.scalars(
        select(Alarm).where(Alarm.window_end > since).order_by(Alarm.window_end.desc(), Alarm.id).limit(limit)
    )
    return [alarm.as_dict() for alarm in rows]
