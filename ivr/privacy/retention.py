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
    # Returns done (refunded) or not touched for half a year; returns in progress stay.
    "returns": 180,
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
    #: ``table:kind`` → the last id a limited purge handled.
    cursors: dict[str, int] = field(default_factory=dict)

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
    limit: int | None = None,
    only: str | None = None,
    after: Mapping[str, int] | None = None,
) -> PurgeReport:
    """Delete or anonymise every row past its kind's retention (children before parents).

    ``keep_recordings``: RecordingSids Twilio has not deleted yet; their rows stay for next time.
    ``limit``: at most this many rows per table and kind (short transactions; call again until
    nothing is left). ``only``: this table alone. ``after``: per ``table:kind``, the highest id
    an earlier batch looked at (``report.cursors``): each batch reads on from there by index.
    """
    report = PurgeReport()
    registry = entries()
    for table in reversed(Base.metadata.sorted_tables):
        entry = registry.get(table.name)
        if entry is None or entry.age is None or (only is not None and table.name != only):
            continue
        for kind, due in _due(entry, table, days, now):
            if entry.keep is not None:
                due = and_(due, ~entry.keep(table))
            if table.name == "recordings" and keep_recordings:
                due = and_(due, table.c.recording_sid.not_in(sorted(keep_recordings)))
            due = and_(due, _changes(entry, table))
            if dry_run:
                if table.name == "recordings":
                    sids = session.scalars(select(table.c.recording_sid).where(due)).all()
                    report.recording_sids.extend(s for s in sids if s)
                report.add(
                    kind, table.name, session.scalar(select(func.count()).select_from(table).where(due)) or 0
                )
                continue
            (pk,) = table.primary_key.columns
            cursor = f"{table.name}:{kind}"
            start = (after or {}).get(cursor)
            if start is not None:
                due = and_(due, pk > start)
            ids = session.scalars(select(pk).where(due).order_by(pk).limit(limit)).all()
            if not ids:
                continue
            report.cursors[cursor] = ids[-1]
            if entry.anonymise is None:
                session.execute(delete(table).where(pk.in_(ids)))
            else:
                session.execute(update(table).where(pk.in_(ids)).values(**entry.anonymise))
            report.add(kind, table.name, len(ids))
    return report


def purge_order() -> list[str]:
    """The tables the purge visits, children before parents."""
    registry = entries()
    return [t.name for t in reversed(Base.metadata.sorted_tables) if t.name in registry]


def _due(entry: PersonalTable, table: Table, days: Mapping[str, int], now: datetime) -> list[tuple[str, Any]]:
    """(kind, condition) pairs selecting the table's rows past their retention."""
    age = table.c[entry.age or ""]
    if entry.kind_column is None:
        assert entry.kind is not None
        return [(entry.kind, age < now - timedelta(days=days[entry.kind]))]
    column = table.c[entry.kind_column]
    due = [
        (kind, and_(column == value, age < now - timedelta(days=days[kind])))
        for value, kind in entry.kinds_by_value.items()
    ]
    if entry.kind is not None:  # every other value
        listed = sorted(entry.kinds_by_value)
        due.append((entry.kind, and_(column.not_in(listed), age < now - timedelta(days=days[entry.kind]))))
    return due


def _changes(entry: PersonalTable, table: Table) -> Any:
    """Rows an anonymisation would still change (so a second purge counts nothing)."""
    if entry.anonymise is None:
        return ~false()
    return or_(*(table.c[c].is_not(None) for c in entry.anonymise))
