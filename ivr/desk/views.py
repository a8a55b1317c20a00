"""The console at ``/console/``: sign-in with a second factor, the agent's desk."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import cast
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    session,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy.orm import Session

from callbacks.queue import CallbackError, list_queue
from callbacks.settings import Settings as CallbackSettings
from ivr.db import after_commit, get_session, session_factory, unit_of_work
from ivr.desk import auth, i18n, routing, telephony
from ivr.desk import callbacks as desk_callbacks
from ivr.desk.events import POLL_SECONDS, events_for
from ivr.desk.forms import (
    CallbackDoneForm,
    CodeForm,
    EmptyForm,
    HoldForm,
    PresenceForm,
    SignInForm,
    TransferForm,
    WrapupForm,
)
from ivr.desk.i18n import gettext as _
from ivr.desk.models import Task, User
from ivr.desk.presence import PresenceError, choose_activity
from ivr.desk.queues import free_colleagues, known_queues
from ivr.desk.routing import client_identity, lock_task
from ivr.desk.screen import call_screen, current_task, fingerprint
from ivr.desk.service import run_dispatch
from ivr.desk.settings import DeskSettings
from ivr.desk.softphone import SDK, TOKEN_TTL, SoftphoneSettings, access_token
from ivr.desk.users import check_credentials, check_totp, record_sign_in, sign_in_blocked
from ivr.desk.voicemails import open_count
from ivr.desk.wrapup import WrapupError, dispositions, record_wrapup

bp = Blueprint("desk", __name__, url_prefix="/console", template_folder="templates", static_folder="static")

#: How long the step between password and code may take.
PENDING_SECONDS = 300
#: A live stream ends after this long; the browser reconnects by itself (EventSource).
STREAM_SECONDS = 55
#: Streams per process at once; each holds a worker thread (docs/desk.md).
MAX_STREAMS = int(os.environ.get("IVR_DESK_MAX_STREAMS", "32"))
_streams = threading.BoundedSemaphore(MAX_STREAMS)
#: A comment line this often: writing is how a stream learns that its browser has gone.
KEEPALIVE_SECONDS = 2.0
_open_streams = [0]
_open_lock = threading.Lock()


def open_streams() -> int:
    """How many live streams this process is serving right now."""
    with _open_lock:
        return _open_streams[0]


def _count_stream(delta: int) -> None:
    with _open_lock:
        _open_streams[0] += delta


@bp.record_once
def _setup(state: object) -> None:
    app = state.app  # type: ignore[attr-defined]
    auth.init_app(app)
    i18n.init_app(app)


@bp.after_request
def console_headers(response: Response) -> Response:
    """Console pages are never cached or framed."""
    # Console pages show personal data: never cache them, never frame them.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _client_address() -> str:
    return request.remote_addr or "-"


def _safe_next(target: str | None) -> str:
    """Only same-site paths: ``?next=`` must not send users to another host."""
    parts = urlsplit(target or "")
    if target and not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
        return target
    return url_for("desk.home")


@bp.route("/login", methods=["GET", "POST"])
def sign_in() -> ResponseReturnValue:
    """E-mail and password; users with a second factor continue to the code page."""
    form = SignInForm()
    if not form.validate_on_submit():
        return render_template("desk/sign_in.html", form=form), 400 if request.method == "POST" else 200
    email, password = form.email.data or "", form.password.data or ""
    with unit_of_work() as db:
        if sign_in_blocked(db, email, _client_address()):
            flash(_("Too many failed attempts. Please wait 15 minutes and try again."), "error")
            return render_template("desk/sign_in.html", form=form), 429
        user = check_credentials(db, email, password, _client_address())
        if user is None:
            flash(_("E-mail or password is wrong."), "error")
            return render_template("desk/sign_in.html", form=form), 401
        if user.totp_secret is None:
            record_sign_in(db, user, email)
    session.clear()
    if user.totp_secret is not None:
        session["pending"] = {"user": user.get_id(), "at": time.time(), "next": request.args.get("next")}
        return redirect(url_for("desk.second_factor"))
    login_user(user)
    return redirect(_safe_next(request.args.get("next")))


@bp.route("/login/code", methods=["GET", "POST"])
def second_factor() -> ResponseReturnValue:
    """The authenticator code of a supervisor or admin."""
    pending = session.get("pending")
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        session.pop("pending", None)
        return redirect(url_for("desk.sign_in"))
    form = CodeForm()
    if not form.validate_on_submit():
        return render_template("desk/code.html", form=form), 400 if request.method == "POST" else 200
    with unit_of_work() as db:
        user = auth.load_user(pending["user"])
        if user is None:
            session.pop("pending", None)
            return redirect(url_for("desk.sign_in"))
        if sign_in_blocked(db, user.email, _client_address()):
            flash(_("Too many failed attempts. Please wait 15 minutes and try again."), "error")
            return render_template("desk/code.html", form=form), 429
        if not check_totp(user, form.code.data or ""):
            check_credentials(db, user.email, "", _client_address())  # counts as a failed attempt
            flash(_("The code is wrong or was used already."), "error")
            return render_template("desk/code.html", form=form), 401
        record_sign_in(db, user, user.email)
    target = pending.get("next")
    session.clear()
    login_user(user)
    return redirect(_safe_next(target))


@bp.post("/logout")
@login_required
def sign_out() -> ResponseReturnValue:
    """End the session."""
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("desk.home"))
    logout_user()
    session.clear()
    return redirect(url_for("desk.sign_in"))


@bp.get("/")
@auth.role_required("agent")
def home() -> ResponseReturnValue:
    """The agent's desk: own state, the call in front of them, the callback queue."""
    user = cast(User, current_user)
    queue = list_queue(get_session(), limit=50)
    form = PresenceForm(activity=user.activity if user.activity in ("available", "break") else "offline")
    return render_template(
        "desk/home.html",
        user=user,
        form=form,
        queue=queue,
        sign_out=EmptyForm(),
        call=_call_panel(get_session(), user),
        callback=desk_callbacks.my_callback(get_session(), user),
        callback_form=CallbackDoneForm(),
        take_form=EmptyForm(),
        softphone=SoftphoneSettings.from_config(current_app.config) is not None and SDK.exists(),
        voicemails=open_count(get_session(), user),
    )


def _call_panel(session: Session, user: User) -> str:
    """The rendered panel of the agent's current call (empty when there is none)."""
    task = current_task(session, user)
    if task is None:
        return render_template("desk/_call.html", screen=None, user=user)
    form = WrapupForm(task=str(task.id))
    form.disposition.choices = list(dispositions(current_app.config))
    transfer = hold = None
    if task.status == "connected":
        transfer = TransferForm(task=str(task.id))
        transfer.target.choices = [(f"queue:{q}", q) for q in known_queues(session)] + [
            (f"agent:{u.id}", u.name) for u in free_colleagues(session, user.id)
        ]
        held = task.context.get("on_hold_since") is not None
        hold = HoldForm(task=str(task.id), hold="off" if held else "on")
    return render_template(
        "desk/_call.html",
        screen=call_screen(session, task),
        user=user,
        wrapup=form,
        transfer=transfer,
        hold=hold,
    )


@bp.get("/events")
@auth.role_required("agent")
def events() -> ResponseReturnValue:
    """Server-sent events: the agent's panel is pushed whenever their state or call changes."""
    user_id = cast(User, current_user).id

    def render(session: Session) -> str | None:
        user = session.get(User, user_id)
        if user is None:
            return None
        html = _call_panel(session, user)
        state = render_template("desk/_state.html", user=user)
        voicemails = open_count(session, user)
        return json.dumps({"call": html, "state": state, "voicemails": voicemails})

    return live_stream("desk", lambda session: fingerprint(session, user_id), render, user_id)


def live_stream(
    event: str,
    look: Callable[[Session], object],
    render: Callable[[Session], str | None],
    user_id: int | None = None,
) -> ResponseReturnValue:
    """A bounded server-sent event stream: ``render`` is pushed whenever ``look`` changes.

    ``look`` must be cheap (it runs four times a second); ``render`` returning None ends the stream.
    With ``user_id`` the stream wakes when that user's screen is notified (PostgreSQL NOTIFY),
    otherwise it looks every ``POLL_SECONDS``.
    """
    if not _streams.acquire(blocking=False):
        return Response("retry: 5000\n\n", status=503, mimetype="text/event-stream")
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    hub = events_for(session_factory(app).kw["bind"])

    def stream() -> Iterator[str]:
        _count_stream(1)
        try:
            yield "retry: 2000\n\n"
            seen: object = None
            first = True
            started = time.monotonic()
            last_sent = started
            version = hub.version(user_id) if user_id is not None else (0, 0)
            while time.monotonic() - started < STREAM_SECONDS:
                with session_factory(app)() as session:
                    now_seen = look(session)
                    if first or now_seen != seen:
                        first, seen = False, now_seen
                        data = render(session)
                        if data is None:
                            return
                        yield _sse(event, data)
                        last_sent = time.monotonic()
                if time.monotonic() - last_sent > KEEPALIVE_SECONDS:
                    yield ": keep-alive\n\n"
                    last_sent = time.monotonic()
                # Pushed (PostgreSQL NOTIFY) or, without a listener, the next poll.
                if user_id is None:
                    time.sleep(POLL_SECONDS)
                else:
                    version = hub.wait(user_id, version, KEEPALIVE_SECONDS)
        finally:
            _count_stream(-1)
            _streams.release()

    return Response(
        stream_with_context(stream()), mimetype="text/event-stream", headers={"X-Accel-Buffering": "no"}
    )


def _sse(event: str, data: str) -> str:
    return f"event: {event}\n" + "".join(f"data: {line}\n" for line in data.splitlines()) + "\n"


@bp.post("/wrapup")
@auth.role_required("agent")
def wrapup() -> ResponseReturnValue:
    """The agent records the outcome of their call; then they are free for the next one."""
    form = WrapupForm()
    form.disposition.choices = list(dispositions(current_app.config))
    if not form.validate_on_submit() or not (form.task.data or "").isdigit():
        flash(_("The form had expired; please try again."), "error")
        return redirect(url_for("desk.home"))
    with unit_of_work() as db:
        # The lock order of every writer of a call: interaction, task, then the agent.
        task = lock_task(db, Task.id == int(form.task.data or 0))
        user = db.get(User, cast(User, current_user).id, with_for_update=True, populate_existing=True)
        if user is None or task is None:
            abort(404)
        try:
            record_wrapup(
                db,
                user,
                task,
                form.disposition.data or "",
                form.note.data or "",
                dispositions(current_app.config),
                current_app.config["CLOCK"](),
            )
        except WrapupError as exc:
            flash(_(str(exc)), "error")
            return redirect(url_for("desk.home"))
        if user.activity == "available":
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            after_commit(db, lambda: run_dispatch(app, app.config))
    flash(_("Saved in the customer history."), "info")
    return redirect(url_for("desk.home"))


@bp.post("/transfer")
@auth.role_required("agent")
def transfer() -> ResponseReturnValue:
    """Hand the agent's caller on to a queue or a free colleague; the agent goes to wrap-up."""
    form = TransferForm()
    kind, _sep, target = (form.target.data or "").partition(":")
    if not form.validate_on_submit() or not (form.task.data or "").isdigit():
        flash(_("The form had expired; please try again."), "error")
        return redirect(url_for("desk.home"))
    user_id = cast(User, current_user).id
    with unit_of_work() as db:
        queue = target if kind == "queue" and target in known_queues(db) else None
        to_agent = int(target) if kind == "agent" and target.isdigit() else None
        if queue is None and to_agent is None:
            flash(_("Choose a queue or a colleague."), "error")
            return redirect(url_for("desk.home"))
        try:
            moved = routing.transfer(
                db,
                user_id,
                int(form.task.data or 0),
                current_app.config["CLOCK"](),
                DeskSettings.from_config(current_app.config).wrapup,
                queue=queue,
                to_agent=to_agent,
            )
        except routing.TransferError as exc:
            flash(_(str(exc)), "error")
            return redirect(url_for("desk.home"))
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        after_commit(db, lambda: telephony.transfer_caller(session_factory(app), app.config, moved))
    flash(_("The call has been transferred."), "info")
    return redirect(url_for("desk.home"))


@bp.post("/hold")
@auth.role_required("agent")
def hold() -> ResponseReturnValue:
    """Put the caller on hold (they hear hold music) or take them back."""
    form = HoldForm()
    if (
        not form.validate_on_submit()
        or not (form.task.data or "").isdigit()
        or form.hold.data not in ("on", "off")
    ):
        flash(_("The form had expired; please try again."), "error")
        return redirect(url_for("desk.home"))
    user_id, task_id, on_hold = cast(User, current_user).id, int(form.task.data or 0), form.hold.data == "on"
    try:
        with unit_of_work() as db:
            caller_sid = routing.connected_task(db, user_id, task_id).call_sid
        # Twilio first (no lock held during the request), then the record of it.
        if not telephony.hold_caller(current_app.config, task_id, caller_sid, on_hold):
            flash(_("The call could not be changed; it may have ended."), "error")
            return redirect(url_for("desk.home"))
        with unit_of_work() as db:
            task = routing.connected_task(db, user_id, task_id)
            routing.set_hold(db, task, on_hold, current_app.config["CLOCK"]())
    except routing.TransferError as exc:
        flash(_(str(exc)), "error")
    return redirect(url_for("desk.home"))


@bp.post("/presence")
@auth.role_required("agent")
def presence() -> ResponseReturnValue:
    """The agent changes their own state."""
    form = PresenceForm()
    if form.validate_on_submit():
        with unit_of_work() as db:
            # Read again under the write lock: routing may have changed the state since.
            user = db.get(User, cast(User, current_user).id, with_for_update=True, populate_existing=True)
            if user is None:
                abort(403)
            try:
                choose_activity(db, user, form.activity.data or "", form.reason.data)
                if user.activity == "available":  # a waiting caller may be offered at once
                    app = current_app._get_current_object()  # type: ignore[attr-defined]
                    after_commit(db, lambda: run_dispatch(app, app.config))
            except PresenceError as exc:
                flash(_(str(exc)), "error")
    else:
        flash(_("The form had expired; please try again."), "error")
    return redirect(url_for("desk.home"))


@bp.post("/callbacks/next")
@auth.role_required("agent")
def callback_next() -> ResponseReturnValue:
    """Take the most urgent due callback request."""
    if not EmptyForm().validate_on_submit():
        flash(_("The form had expired; please try again."), "error")
        return redirect(url_for("desk.home"))
    settings = CallbackSettings.from_config(current_app.config)
    with unit_of_work() as db:
        taken = desk_callbacks.take_next(
            db, cast(User, current_user), current_app.config["CLOCK"](), settings.dial_lease
        )
    if taken is None:
        flash(_("No callback is due right now."), "info")
    return redirect(url_for("desk.home"))


@bp.post("/callbacks/call")
@auth.role_required("agent")
def callback_call() -> ResponseReturnValue:
    """Call the customer of the request the agent took, agent first, through the dialer."""
    form = CallbackDoneForm()
    if not form.validate_on_submit() or not (form.request.data or "").isdigit():
        flash(_("The form had expired; please try again."), "error")
        return redirect(url_for("desk.home"))
    settings = CallbackSettings.from_config(current_app.config)
    try:
        with unit_of_work() as db:
            user = db.get(User, cast(User, current_user).id, with_for_update=True, populate_existing=True)
            if user is None:
                abort(403)
            started = desk_callbacks.call_now(
                db, user, int(form.request.data or 0), current_app.config["CLOCK"](), settings.dial_lease
            )
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            base = telephony.public_url(current_app.config, "")
            after_commit(db, lambda: desk_callbacks.place(app, started, base))
    except CallbackError as exc:
        flash(_(str(exc)), "error")
        return redirect(url_for("desk.home"))
    flash(_("Your phone rings first; then the customer is called."), "info")
    return redirect(url_for("desk.home"))


@bp.post("/callbacks/done")
@auth.role_required("agent")
def callback_done() -> ResponseReturnValue:
    """The agent talked to the customer: complete the callback with a note."""
    form = CallbackDoneForm()
    if not form.validate_on_submit() or not (form.request.data or "").isdigit():
        flash(_("The form had expired; please try again."), "error")
        return redirect(url_for("desk.home"))
    try:
        with unit_of_work() as db:
            desk_callbacks.finish(
                db,
                cast(User, current_user),
                int(form.request.data or 0),
                form.note.data or "",
                current_app.config["CLOCK"](),
            )
    except CallbackError as exc:
        flash(_(str(exc)), "error")
        return redirect(url_for("desk.home"))
    flash(_("Saved in the customer history."), "info")
    return redirect(url_for("desk.home"))


@bp.post("/callbacks/back")
@auth.role_required("agent")
def callback_back() -> ResponseReturnValue:
    """The customer could not be reached: the request goes back to the queue."""
    if EmptyForm().validate_on_submit():
        with unit_of_work() as db:
            desk_callbacks.give_back(db, cast(User, current_user))
    return redirect(url_for("desk.home"))


@bp.get("/softphone/token")
@auth.role_required("agent")
def softphone_token() -> ResponseReturnValue:
    """An access token for the agent's browser softphone (404 when none is configured)."""
    settings = SoftphoneSettings.from_config(current_app.config)
    if settings is None:
        return jsonify(error="the softphone is not configured"), 404
    user = cast(User, current_user)
    return jsonify(identity=client_identity(user.id), token=access_token(settings, user), ttl=TOKEN_TTL)


@bp.get("/vendor/twilio.min.js")
@auth.role_required("agent")
def voice_sdk() -> ResponseReturnValue:
    """The Twilio Voice JS SDK as installed from the npm lock file."""
    if not SDK.exists():
        abort(404)
    return send_file(SDK, mimetype="text/javascript", max_age=3600)


@bp.get("/language/<code>")
def language(code: str) -> ResponseReturnValue:
    """Switch the console's language (kept in a cookie)."""
    response = redirect(_safe_next(request.referrer and urlsplit(request.referrer).path))
    if code in i18n.LANGUAGES:
        response.set_cookie("lang", code, max_age=365 * 86400, samesite="Lax", httponly=True)
    return response
