"""Recordings Twilio holds for us: noted with their RecordingSid, so they can be deleted there."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.models import Interaction
from ivr.privacy.models import Recording

RECORDING_SID = re.compile(r"RE[0-9a-fA-F]{32}")


def recording_sid(url: str | None) -> str | None:
    """The RecordingSid in a Twilio recording URL (``…/Recordings/RE….wav``), if any."""
    found = RECORDING_SID.findall(url or "")
    return found[-1] if found else None


def note_recording(
    session: Session, call_sid: str, kind: str, url: str | None, duration: int | None, sid: str | None = None
) -> Recording | None:
    """Keep one recording of a call (once per RecordingSid); None if the call is unknown."""
    sid = sid if sid and RECORDING_SID.fullmatch(sid) else recording_sid(url)
    if sid and session.scalar(select(Recording.id).where(Recording.recording_sid == sid)):
        return None  # Twilio retried the callback
    interaction_id = session.scalar(select(Interaction.id).where(Interaction.call_sid == call_sid))
    if interaction_id is None:
        return None
    row = Recording(
        interaction_id=interaction_id,
        call_sid=call_sid,
        kind=kind,
        recording_sid=sid,
        url=(url or "")[:500] or None,
        duration=duration,
    )
    session.add(row)
    return row
