"""Console fixtures: users made through the real operations, a browser-like client with CSRF."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ivr.db import session_factory
from ivr.desk.users import NewUser, add_user

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


def post_form(client: FlaskClient, path: str, data: dict[str, str], page: str | None = None) -> Any:
    """Submit a form as a browser does: load the page, take its CSRF token, post."""
    html = client.get(page or path, follow_redirects=True).get_data(as_text=True)
    return client.post(path, data={**data, "csrf_token": csrf_token(html)})


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    """Sign in with e-mail and password."""
    return post_form(client, "/console/login", {"email": email, "password": password})
