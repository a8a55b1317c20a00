"""The webhook for a recorded spoken answer: recognise first, then advance the call."""

from __future__ import annotations

from flask import Blueprint, current_app, request
from sqlalchemy import select

from ivr.db import session_factory, unit_of_work
from ivr.models import Call
from ivr.privacy.recordings import note_recording
from ivr.understanding.service import heard_before, recognise_recording, store_heard
from ivr.webhooks import advance, caller_input, twilio_webhook

bp = Blueprint("understanding", __name__, url_prefix="/twilio")


@bp.post("/heard")
@twilio_webhook
def heard() -> str:
    """<Record> of an ask_intent node: fetch and recognise before the call's state is locked."""
    data = caller_input()
    call_sid = request.form.get("CallSid")
    if call_sid and data.recording_url and not data.digits:
        recognise_once(call_sid, data.recording_url)
        with unit_of_work() as session:  # used only to route: deleted at Twilio by the next purge
            note_recording(session, call_sid, "speech", data.recording_url, data.recording_duration)
    return advance(data)


def recognise_once(call_sid: str, url: str) -> None:
    """Recognise the recording unless a retried webhook already did; keep it for the node."""
    config = current_app.config
    with session_factory()() as session:  # reads only: slow work must not hold the write lock
        token = session.scalar(select(Call.variables).where(Call.call_sid == call_sid)) or {}
        token = token.get("listen_token")
        if not token or heard_before(session, call_sid, token) is not None:
            return
    result = recognise_recording(config, url, call_sid)
    with unit_of_work() as session:
        store_heard(session, call_sid, token, result)
