"""Console fixtures: users made through the real operations, a browser-like client with CSRF."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ivr.db import session_factory
from ivr.desk.models import User
from ivr.desk.users import NewUser, add_user
from tests.callbacks.fakes import FakeTwilio, PlacedCall
from tests.conftest import AUTH_TOKEN

PASSWORD = "correct horse battery staple"


@pytest.fixture
def create_user(app: Flask) -> Callable[..., dict[str, Any]]:
    """Create a console user; returns its e-mail, password and TOTP secret."""

    def create(email: str = "anna@shop.example", role: str = "agent", **kwargs: Any) -> dict[str, Any]:
        with session_factory(app)() as session:
            user = add_user(session, NewUser(email, kwargs.pop("name", "Anna"), role, **kwargs), PASSWORD)
            session.commit()
            return {"id": user.id, "email": email, "password": PASSWORD, "totp_secret": user.totp_secret}

    return create


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def hidden_value(html: str, name: str) -> str:
    """The value of a hidden form field on a page."""
    found = re.search(rf'name="{name}" type="hidden" value="([^"]*)"', html)
    assert found, f"the page has no hidden field {name}"
    return found.group(1)


def post_form(client: FlaskClient, path: str, data: dict[str, str], page: str | None = None) -> Any:
    """Submit a form as a browser does: load the page, take its CSRF token, post."""
    html = client.get(page or path, follow_redirects=True).get_data(as_text=True)
    return client.post(path, data={**data, "csrf_token": csrf_token(html)})


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    """Sign in with e-mail and password."""
    return post_form(client, "/console/login", {"email": email, "password": password})


CALLER = "+4915112345678"


@pytest.fixture
def fake(app: Flask) -> FakeTwilio:
    """Twilio's REST edge, answering as its documentation says."""
    edge = FakeTwilio(AUTH_TOKEN)
    app.config["TWILIO_HTTP_CLIENT"] = edge
    return edge


@pytest.fixture
def available_agent(app, create_user, client) -> Callable[..., dict[str, Any]]:
    """An agent who signed in and went available on the console."""

    def make(email: str = "anna@shop.example", **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("skills", ("service",))
        kwargs.setdefault("phone", "+4930123456")
        user = create_user(email, **kwargs)
        browser = app.test_client()
        sign_in(browser, email)
        assert (
            post_form(browser, "/console/presence", {"activity": "available"}, page="/console/").status_code
            == 302
        )
        return {**user, "browser": browser}

    return make


def agent_leg(twilio_post, placed: PlacedCall, status: str | None = None) -> Any:
    """Twilio fetching the agent leg's TwiML (answered), or posting its final status."""
    if status is None:
        return twilio_post(url_path(placed.url), CallSid=placed.sid, CallStatus="in-progress")
    return twilio_post(url_path(placed.status_callback), CallSid=placed.sid, CallStatus=status)


def url_path(url: str) -> str:
    parts = urlparse(url)
    return f"{parts.path}?{parts.query}"


def activity(session, email: str) -> str:
    session.rollback()  # a new snapshot: SQLite (WAL) and PostgreSQL read what has been committed
    return session.scalar(select(User.activity).where(User.email == email))
