"""Voicemails on the console (``/console/voicemails``): list per queue, playback, assign, done."""

from __future__ import annotations

from typing import cast

import requests
from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from ivr.db import get_session, unit_of_work
from ivr.desk import auth
from ivr.desk import voicemails as vm
from ivr.desk.forms import EmptyForm, VoicemailAssignForm, VoicemailDoneForm
from ivr.desk.i18n import gettext as _
from ivr.desk.models import User
from ivr.desk.views import console_headers
from ivr.understanding.recordings import RecordingRefused, RecordingUnavailable, fetch_recording

bp = Blueprint("voicemails", __name__, url_prefix="/console/voicemails", template_folder="templates")
bp.after_request(console_headers)


def _colleagues() -> list[User]:
    return list(get_session().scalars(select(User).where(User.disabled.is_(False)).order_by(User.name)))


@bp.get("/")
@auth.role_required("agent")
def index() -> ResponseReturnValue:
    """Open voicemails of the user's queues (``?done=1``: the ones dealt with)."""
    user = cast(User, current_user)
    done = request.args.get("done") == "1"
    assign = VoicemailAssignForm()
    assign.assignee.choices = (
        [(str(u.id), u.name) for u in _colleagues()] if user.has_role("supervisor") else []
    )
    return render_template(
        "desk/voicemails.html",
        rows=vm.voicemail_list(get_session(), user, done=done),
        done=done,
        user=user,
        assign=assign,
        done_form=VoicemailDoneForm(),
        sign_out=EmptyForm(),
    )


@bp.get("/<int:voicemail_id>/audio")
@auth.role_required("agent")
def audio(voicemail_id: int) -> ResponseReturnValue:
    """The recording, fetched by us with the account's credentials (the browser never sees them)."""
    found = vm.visible_voicemail(get_session(), cast(User, current_user), voicemail_id)
    if found is None:
        abort(404)
    url = found.recording_url
    if not url.rsplit("/", 1)[-1].count("."):
        url += ".mp3"  # Twilio serves the recording as MP3 under the same URL with .mp3
    config = current_app.config
    http: requests.Session | None = config.get("RECORDING_HTTP")
    try:
        data = fetch_recording(url, config, session=http, max_bytes=vm.MAX_AUDIO_BYTES)
    except (RecordingRefused, RecordingUnavailable) as exc:
        current_app.logger.warning("voicemail %s not playable: %s", voicemail_id, exc)
        return Response(_("The recording cannot be played right now."), status=502, mimetype="text/plain")
    mimetype = "audio/mpeg" if url.endswith(".mp3") else "audio/wav"
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": "inline"})


@bp.post("/<int:voicemail_id>/assign")
@auth.role_required("agent")
def assign(voicemail_id: int) -> ResponseReturnValue:
    """Take the voicemail (agents) or give it to a colleague (supervisors)."""
    user = cast(User, current_user)
    form = VoicemailAssignForm()
    form.assignee.choices = (
        [(str(u.id), u.name) for u in _colleagues()] if user.has_role("supervisor") else []
    )
    if not form.validate_on_submit():
        flash(_("The form had expired; please try again."), "error")
        return redirect(url_for("voicemails.index"))
    raw = form.assignee.data or ""
    assignee = int(raw) if raw.isdigit() and user.has_role("supervisor") else user.id
    try:
        with unit_of_work() as db:
            vm.assign(db, user, voicemail_id, assignee, current_app.config["CLOCK"]())
    except vm.VoicemailError as exc:
        flash(_(str(exc)), "error")
    return redirect(url_for("voicemails.index"))


@bp.post("/<int:voicemail_id>/done")
@auth.role_required("agent")
def done(voicemail_id: int) -> ResponseReturnValue:
    """The voicemail has been dealt with (a note goes into the customer history)."""
    form = VoicemailDoneForm()
    if not form.validate_on_submit():
        flash(_("The form had expired; please try again."), "error")
        return redirect(url_for("voicemails.index"))
    try:
        with unit_of_work() as db:
            vm.mark_done(
                db,
                cast(User, current_user),
                voicemail_id,
                form.note.data or "",
                current_app.config["CLOCK"](),
            )
    except vm.VoicemailError as exc:
        flash(_(str(exc)), "error")
        return redirect(url_for("voicemails.index"))
    flash(_("Saved in the customer history."), "info")
    return redirect(url_for("voicemails.index"))
