"""Privacy operations as units of work, for the CLI, the API, the console and the workers."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.db import transaction
from ivr.models._types import utcnow
from ivr.privacy.audit import record_access
from ivr.privacy.models import Erasure
from ivr.privacy.operations import (
    ErasureReport,
    customers_of,
    delete_twilio_recordings,
    erase_subject,
    export_subject,
    finish_pending_erasures,
    subject_hash,
)
from ivr.privacy.retention import PurgeReport, purge, purge_order
from ivr.privacy.subjects import find_subject

log = logging.getLogger(__name__)

#: Rows per table and kind in one purge transaction (SQLite has one writer: keep it short).
PURGE_BATCH = 2000


def export_person(
    sessions: sessionmaker[Session], config: Mapping[str, Any], key: str, value: str | int, actor: str
) -> dict[str, Any]:
    """Everything about a person, as JSON-ready data; the export is audited."""
    with sessions() as session, transaction(session):
        subject = find_subject(session, key, value)
        data = export_subject(session, subject)
        for customer_id in customers_of(subject):
            record_access(session, actor, "export", customer_id, what=f"{len(data['tables'])} tables")
    return data


def erase_person(
    sessions: sessionmaker[Session], config: Mapping[str, Any], key: str, value: str | int, actor: str
) -> ErasureReport:
    """Erase a person everywhere, then ask Twilio to delete their recordings (retried on failure)."""
    hashed = subject_hash(str(config["SECRET_KEY"]), key, value)
    with sessions() as session, transaction(session):
        subject = find_subject(session, key, value)
        report = erase_subject(session, subject, actor, hashed)
    failed = delete_twilio_recordings(config, report.recording_sids)
    with sessions() as session, transaction(session):
        erasure = session.scalars(
            select(Erasure).where(Erasure.subject_hash == hashed).order_by(Erasure.id.desc())
        ).first()
        if erasure is not None and not report.already_erased:
            erasure.pending_recording_sids = failed
    return report


def purge_due(
    sessions: sessionmaker[Session],
    config: Mapping[str, Any],
    now: datetime | None = None,
    dry_run: bool = False,
) -> PurgeReport:
    """Delete what is past its retention; finish erasures that waited for live calls."""
    moment = now or utcnow()
    days = config["RETENTION_DAYS"]
    if dry_run:
        with sessions() as session:
            return purge(session, days, moment, dry_run=True)
    # Twilio first: a recording Twilio would not delete keeps its row, and is tried again next time.
    with sessions() as session:
        due = purge(session, days, moment, dry_run=True).recording_sids
        session.rollback()
    failed = set(delete_twilio_recordings(config, due))
    report = PurgeReport()
    # Table by table, children first, in short transactions: webhooks wait for the writer lock
    # at most one batch long.
    for name in purge_order():
        cursors: dict[str, int] = {}
        while True:
            with sessions() as session, transaction(session):
                batch = purge(
                    session, days, moment, keep_recordings=failed, limit=PURGE_BATCH, only=name, after=cursors
                )
            cursors.update(batch.cursors)
            for kind, tables in batch.counts.items():
                for table, n in tables.items():
                    report.add(kind, table, n)
            if not batch.counts:
                break
    with sessions() as session, transaction(session):
        for table, n in finish_pending_erasures(session).items():
            report.add("erasures", table, n)
        retry = []
        for erasure in session.scalars(select(Erasure)).all():
            if erasure.pending_recording_sids:
                retry.append(erasure)
    for erasure_row in retry:
        still = delete_twilio_recordings(config, list(erasure_row.pending_recording_sids))
        with sessions() as session, transaction(session):
            found = session.get(Erasure, erasure_row.id)
            if found is not None:
                found.pending_recording_sids = still
    return report


@dataclass
class PurgeSchedule:
    """Runs the purge inside a worker loop every ``interval``; any one worker may do it."""

    sessions: sessionmaker[Session]
    config: Mapping[str, Any]
    interval: timedelta = timedelta(hours=1)
    last: datetime | None = None

    @classmethod
    def from_config(cls, sessions: sessionmaker[Session], config: Mapping[str, Any]) -> PurgeSchedule | None:
        """The schedule ``IVR_PURGE_INTERVAL_HOURS`` asks for; None when it is 0 (cron runs it)."""
        hours = float(config.get("PURGE_INTERVAL_HOURS", 1))
        return cls(sessions, config, timedelta(hours=hours)) if hours > 0 else None

    def maybe_run(self, now: datetime) -> PurgeReport | None:
        """Purge if the interval has passed since this worker's last run."""
        if self.last is not None and now - self.last < self.interval:
            return None
        self.last = now
        try:
            report = purge_due(self.sessions, self.config, now)
        except Exception:  # the worker's own job must go on
            log.exception("privacy purge failed")
            return None
        total = sum(n for tables in report.counts.values() for n in tables.values())
        if total:
            log.info("privacy purge: %d rows deleted or anonymised", total)
        return report
