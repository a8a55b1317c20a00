"""The data-subject rights: export everything about a person (Art. 15/20), erase them (Art. 17)."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioException, TwilioRestException

from ivr.db import Base
from ivr.models._types import utcnow
from ivr.privacy.audit import record_access
from ivr.privacy.models import Erasure
from ivr.privacy.registry import Subject, entries

log = logging.getLogger(__name__)


def export_subject(session: Session, subject: Subject) -> dict[str, Any]:
    """Every registered table's rows of the person, as JSON-ready data (recordings as links)."""
    registry = entries()
    tables: dict[str, list[dict[str, Any]]] = {}
    for table in Base.metadata.sorted_tables:
        entry = registry.get(table.name)
        if entry is None or not entry.searchable:
            continue
        query = select(table).where(entry.rows_of(table, subject)).order_by(*table.primary_key)
        rows = session.execute(query)
        found = [{k: _plain(v) for k, v in row._mapping.items()} for row in rows]
        if found:
            tables[table.name] = found
    return {"generated_at": utcnow().isoformat(), "tables": tables}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


@dataclass
class ErasureReport:
    """What an erasure did: rows per table, and the recordings Twilio is asked to delete."""

    counts: dict[str, int] = field(default_factory=dict)
    recording_sids: list[str] = field(default_factory=list)
    live_call_sids: list[str] = field(default_factory=list)
    already_erased: bool = False


def subject_hash(secret: str, key: str, value: str | int) -> str:
    """A keyed hash of the identifier asked for: recognises a repeated request, names nobody."""
    return hmac.new(secret.encode(), f"{key}:{value}".encode(), hashlib.sha256).hexdigest()


def erase_subject(session: Session, subject: Subject, actor: str, hashed: str) -> ErasureReport:
    """Delete or anonymise the person's rows in every registered table; idempotent.

    Interactions stay, anonymised, so the KPIs keep their counts. Rows that keep a live call
    running (its state, its place in a queue) stay until the call ends; the next purge
    finishes them (``finish_pending_erasures``).
    """
    report = ErasureReport(live_call_sids=sorted(subject.live_call_sids))
    report.counts = _erase_rows(session, subject, spare_live=True, report=report)
    if not report.counts and session.scalar(select(Erasure.id).where(Erasure.subject_hash == hashed)):
        report.already_erased = True
        return report
    session.add(
        Erasure(
            requested_by=actor,
            subject_hash=hashed,
            counts=report.counts,
            pending_call_sids=report.live_call_sids,
            pending_recording_sids=report.recording_sids,
        )
    )
    for customer_id in customers_of(subject):
        record_access(session, actor, "erase", customer_id, what=f"{sum(report.counts.values())} rows")
    session.flush()
    return report


def customers_of(subject: Subject) -> list[int | None]:
    """The customer ids an audit entry is written for (one without, when there is no customer)."""
    return [*sorted(subject.customer_ids)] or [None]


def _erase_rows(
    session: Session, subject: Subject, spare_live: bool, report: ErasureReport
) -> dict[str, int]:
    registry = entries()
    counts: dict[str, int] = {}
    recordings = Base.metadata.tables.get("recordings")
    if recordings is not None:
        where = registry["recordings"].rows_of(recordings, subject)
        sids = session.scalars(select(recordings.c.recording_sid).where(where)).all()
        report.recording_sids.extend(sid for sid in sids if sid)
    # Children before parents: deleting a row never leaves a reference to it behind.
    for table in reversed(Base.metadata.sorted_tables):
        entry = registry.get(table.name)
        if entry is None or not entry.searchable:
            continue
        where = entry.rows_of(table, subject, spare_live=spare_live)
        if entry.anonymise is None:
            result = session.execute(delete(table).where(where))
        else:
            changed = [table.c[c].is_not(None) for c in entry.anonymise]
            result = session.execute(update(table).where(where, or_(*changed)).values(**entry.anonymise))
        if result.rowcount:  # type: ignore[attr-defined]
            counts[table.name] = result.rowcount  # type: ignore[attr-defined]
    return counts


def finish_pending_erasures(session: Session) -> dict[str, int]:
    """Erase what live calls kept, once those calls have ended; returns rows per table."""
    from ivr.models import Interaction

    totals: dict[str, int] = {}
    for erasure in session.scalars(select(Erasure).order_by(Erasure.id)).all():
        sids = list(erasure.pending_call_sids or [])
        if not sids:
            continue
        rows = session.execute(
            select(Interaction.id, Interaction.call_sid).where(
                Interaction.call_sid.in_(sids), Interaction.ended_at.is_not(None)
            )
        ).all()
        if not rows:
            continue
        ended = {r.call_sid for r in rows}
        subject = Subject(interaction_ids=frozenset(r.id for r in rows), call_sids=frozenset(ended))
        report = ErasureReport()
        counts = _erase_rows(session, subject, spare_live=False, report=report)
        erasure.pending_call_sids = [s for s in sids if s not in ended]
        erasure.pending_recording_sids = [*erasure.pending_recording_sids, *report.recording_sids]
        for name, n in counts.items():
            totals[name] = totals.get(name, 0) + n
    return totals


def delete_twilio_recordings(config: Mapping[str, Any], sids: list[str]) -> list[str]:
    """Ask Twilio to delete recordings; returns the sids that could not be deleted (to retry)."""
    if not sids:
        return []
    from ivr.desk.telephony import rest_client

    client = rest_client(config)
    failed = []
    for sid in sids:
        try:
            client.recordings(sid).delete()
        except TwilioRestException as exc:
            if exc.status != 404:  # 404: already gone
                log.warning("Twilio did not delete recording %s: %s", sid, exc.status)
                failed.append(sid)
        except (TwilioException, OSError) as exc:
            log.warning("Twilio did not delete recording %s: %s", sid, type(exc).__name__)
            failed.append(sid)
    return failed
