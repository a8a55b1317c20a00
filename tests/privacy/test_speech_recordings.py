"""Answers recorded for Vosk are used only to route: kept as recordings, deleted at Twilio within a day."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from ivr.db import session_factory
from ivr.models._types import utcnow
from ivr.privacy.models import Recording
from ivr.privacy.service import purge_due

SID = "RE" + "e" * 32


def test_a_recorded_answer_is_noted_and_deleted_at_twilio_by_the_next_days_purge(
    vosk_app, phone, session, fake_twilio
):
    fake_twilio.recordings.add(SID)
    caller = phone()
    caller.dial()
    # A host we do not fetch from: recognition refuses it, but Twilio still holds the audio.
    caller.record(f"https://attacker.example/2010-04-01/Accounts/AC0/Recordings/{SID}")
    caller.record(f"https://attacker.example/2010-04-01/Accounts/AC0/Recordings/{SID}")  # asked again
    [row] = session.scalars(select(Recording)).all()
    assert (row.kind, row.recording_sid, row.call_sid) == ("speech", SID, caller.call_sid)
    now = utcnow()  # when the recording was noted
    report = purge_due(session_factory(vosk_app), vosk_app.config, now + timedelta(hours=12))
    assert not report.counts and fake_twilio.deleted_recordings == []  # kept for a day
    report = purge_due(session_factory(vosk_app), vosk_app.config, now + timedelta(days=2))
    assert report.counts == {"speech_recordings": {"recordings": 1}}
    assert fake_twilio.deleted_recordings == [SID]
