"""Retention per kind of data: what is older than its kind's limit is deleted or anonymised."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, delete, false, func, or_, select, update
from sqlalchemy.orm import Session

from ivr.config import ConfigError
from ivr.db import Base
from ivr.privacy.registry import RETENTION_KINDS, PersonalTable, entries

#: Days each kind is kept: short for what a caller said, longer for what a customer may ask about.
DEFAULT_RETENTION_DAYS: dict[str, int] = {
    "recordings": 30,
    # Recorded answers that were only recognised to route the call: gone at Twilio within a day.
    "speech_recordings": 1,
    "voicemails": 30,
    "transcripts": 90,
    "traces": 90,
    "callbacks": 90,
    "surveys": 365,
    "orders": 180,
    "security": 30,
    "history": 730,
}
assert set(DEFAULT_RETENTION_DAYS) == set(RETENTION_KINDS)


def retention_days(env: Mapping[str, str]) -> dict[str, int]:
    """``IVR_RETENTION_<KIND>_DAYS`` per kind, else the default; a bad value stops start-up."""
    days = dict(DEFAULT_RETENTION_DAYS)
    for kind in RETENTION_KINDS:
        name = f"IVR_RETENTION_{kind.upper()}_DAYS"
        raw = env.get(name, "").strip()
        if not raw:
            continue
        if not raw.isdigit() or int(raw) <= 0:
            raise ConfigError(f"{name} must be a number of days above zero, not {raw!r}")
        days[kind] = int(raw)
    return days


@dataclass
class PurgeReport:
    """Rows deleted or anonymised per retention kind and table; Twilio recordings to delete."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    recording_sids: list[str] = field(default_factory=list)

    def add(self, kind: str, table: str, n: int) -> None:
        """Count ``n`` rows of ``table`` under ``kind``."""
        if n:
            self.counts.setdefault(kind, {})
            self.counts[kind][table] = self.counts[kind].get(table, 0) + n


def purge(
    session: Session,
    days: Mapping[str, int],
    now: datetime,
    dry_run: bool = False,
    keep_recordings: Collection[str] = (),
) -> PurgeReport:
    """Delete or anonymise every row past its kind's retention (children before parents).

    ``keep_recordings``: RecordingSids Twilio has not deleted yet; their rows stay for next time.
    """
    report = PurgeReport()
    registry = entries()
    for table in reversed(Base.metadata.sorted_tables):
        entry = registry.get(table.name)
        if entry is None or entry.age is None:
            continue
        for kind, due in _due(entry, table, days, now):
            if entry.keep is not None:
                due = and_(due, ~entry.keep(table))
            if table.name == "recordings":
                if keep_recordings:
                    due = and_(due, table.c.recording_sid.not_in(sorted(keep_recordings)))
                sids = session.scalars(select(table.c.recording_sid).where(due)).all()
                report.recording_sids.extend(s for s in sids if s)
            if dry_run:
                counting = select(func.count()).select_from(table).where(due, _changes(entry, table))
                n = session.scalar(counting) or 0
            elif entry.anonymise is None:
                n = session.execute(delete(table).where(due)).rowcount  # type: ignore[attr-defined]
            else:
                statement = update(table).where(due, _changes(entry, table)).values(**entry.anonymise)
                n = session.execute(statement).rowcount  # type: ignore[attr-defined]
            report.add(kind, table.name, n)
    return report


def _due(entry: PersonalTable, table: Table, days: Mapping[str, int], now: datetime) -> list[tuple[str, Any]]:
    """(kind, condition) pairs selecting the table's rows past their retention."""
    age = table.c[entry.age or ""]
    if entry.kind_column is None:
        assert entry.kind is not None
        return [(entry.kind, age < now - timedelta(days=days[entry.kind]))]
    column = table.c[entry.kind_column]
    return [
        (kind, and_(column == value, age < now - timedelta(days=days[kind])))
        for value, kind in entry.kinds_by_value.items()
    ]


def _changes(entry: PersonalTable, table: Table) -> Any:
    """Rows an anonymisation would still change (so a second purge counts nothing)."""
    if entry.anonymise is None:
        return ~false()
    return or_(*(table.c[c].is_not(None) for c in entry.anonymise))
