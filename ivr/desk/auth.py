"""Console sessions: Flask-Login, cookie settings, and role checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, Request, abort
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import LoginManager, current_user, login_required

from ivr.db import get_session
from ivr.desk.models import User

F = TypeVar("F", bound=Callable[..., Any])

#: Paths only Twilio posts to: no console session belongs there.
TWILIO_PATHS = ("/twilio/", "/desk/twilio/")

login_manager = LoginManager()
login_manager.login_view = "desk.sign_in"
login_manager.login_message = ""
login_manager.session_protection = "strong"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The signed-in user, if the session's epoch is still current and the user enabled."""
    ident, _, epoch = user_id.partition(".")
    if not (ident.isdigit() and epoch.isdigit()):
        return None
    user = get_session().get(User, int(ident))
    if user is None or user.disabled or user.session_epoch != int(epoch):
        return None
    return user


class ConsoleSessions(SecureCookieSessionInterface):
    """Signed cookie sessions, not opened for Twilio's webhooks.

    Flask opens (and at the end saves) the session of every request; a webhook never has one,
    and doing so cost about 150 Python calls of a webhook's 3,500 (docs/benchmarks.md).
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """A null session (readable, empty) on Twilio's paths; the cookie's elsewhere."""
        if request.path.startswith(TWILIO_PATHS):
            return None  # Flask then uses its null session
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    """Sessions for the console: HttpOnly, SameSite, Secure behind HTTPS, 12 hours at most."""
    app.session_interface = ConsoleSessions()
    public = app.config.get("PUBLIC_URL") or ""
    app.config.setdefault("SESSION_COOKIE_SECURE", public.startswith("https://"))
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", timedelta(hours=12))
    login_manager.init_app(app)


def role_required(role: str) -> Callable[[F], F]:
    """Signed in with ``role`` or a higher one; others get 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not cast(User, current_user).has_role(role):
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate
