"""The console at ``/console/``: sign-in with a second factor, the agent's desk."""

from __future__ import annotations

import time
from typing import cast
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user

from callbacks.queue import list_queue
from ivr.db import after_commit, get_session, unit_of_work
from ivr.desk import auth, i18n
from ivr.desk.forms import CodeForm, EmptyForm, PresenceForm, SignInForm
from ivr.desk.i18n import gettext as _
from ivr.desk.models import User
from ivr.desk.presence import PresenceError, choose_activity
from ivr.desk.service import run_dispatch
from ivr.desk.users import check_credentials, check_totp, record_sign_in, sign_in_blocked

bp = Blueprint("desk", __name__, url_prefix="/console", template_folder="templates", static_folder="static")

#: How long the step between password and code may take.
PENDING_SECONDS = 300


@bp.record_once
def _setup(state: object) -> None:
    app = state.app  # type: ignore[attr-defined]
    auth.init_app(app)
    i18n.init_app(app)


@bp.after_request
def _no_store(response: Response) -> Response:
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
    """The agent's desk: own state and the callback queue."""
    user = cast(User, current_user)
    queue = list_queue(get_session(), limit=50)
    form = PresenceForm(activity=user.activity if user.activity in ("available", "break") else "offline")
    return render_template("desk/home.html", user=user, form=form, queue=queue, sign_out=EmptyForm())


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


@bp.get("/language/<code>")
def language(code: str) -> ResponseReturnValue:
    """Switch the console's language (kept in a cookie)."""
    response = redirect(_safe_next(request.referrer and urlsplit(request.referrer).path))
    if code in i18n.LANGUAGES:
        response.set_cookie("lang", code, max_age=365 * 86400, samesite="Lax", httponly=True)
    return response
