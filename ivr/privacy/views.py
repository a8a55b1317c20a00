"""Twilio's recording status callback, and the console's privacy audit page for supervisors."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from ivr.db import get_session, unit_of_work
from ivr.desk import auth
from ivr.privacy.audit import audit_entries
from ivr.privacy.recordings import note_recording
from ivr.webhooks import twilio_webhook

bp = Blueprint("privacy", __name__, template_folder="templates")

PAGE = 100


@bp.post("/twilio/recording")
@twilio_webhook
def recording() -> str:
    """A consented conversation recording is ready: keep its sid so retention and erasure reach it."""
    form = request.form
    call_sid, sid = form.get("CallSid"), form.get("RecordingSid")
    if call_sid and sid and form.get("RecordingStatus", "completed") == "completed":
        with unit_of_work() as session:
            note_recording(
                session,
                call_sid,
                "conversation",
                form.get("RecordingUrl"),
                _int(form.get("RecordingDuration")),
                sid,
            )
    return "<Response/>"


@bp.get("/console/privacy/audit")
@auth.role_required("supervisor")
def audit() -> ResponseReturnValue:
    """Who read, exported or erased whose data, newest first."""
    before = request.args.get("before", type=int)
    entries = audit_entries(get_session(), limit=PAGE + 1, before_id=before)
    more = len(entries) > PAGE
    return render_template("privacy/audit.html", entries=entries[:PAGE], more=more)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None
