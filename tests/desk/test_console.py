"""Signing in to the console, the second factor, and the agent's own state."""

from __future__ import annotations

import pyotp
from sqlalchemy import select

from ivr.cli import main
from ivr.desk.models import AgentActivity, User
from tests.desk.conftest import PASSWORD, csrf_token, post_form, sign_in


def test_console_needs_sign_in(client):
    resp = client.get("/console/")
    assert resp.status_code == 302
    assert "/console/login" in resp.headers["Location"]


def test_agent_signs_in_and_sees_the_desk_in_german(client, create_user):
    create_user()
    resp = sign_in(client, "Anna@Shop.example")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/console/")
    page = client.get("/console/").get_data(as_text=True)
    assert "Mein Status" in page and "Abgemeldet" in page
    assert "Es warten keine Rückrufe." in page


def test_the_console_speaks_english_when_the_browser_asks(client, create_user):
    create_user()
    sign_in(client, "anna@shop.example")
    page = client.get("/console/", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert "My state" in page and "Offline" in page


def test_a_form_without_its_csrf_token_is_refused(client, create_user):
    create_user()
    resp = client.post("/console/login", data={"email": "anna@shop.example", "password": PASSWORD})
    assert resp.status_code == 400
    assert client.get("/console/").status_code == 302  # not signed in


def test_wrong_password_does_not_say_whether_the_address_exists(client, create_user):
    create_user()
    wrong = sign_in(client, "anna@shop.example", "not the password at all")
    unknown = sign_in(client, "nobody@shop.example", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert "E-Mail oder Passwort ist falsch." in wrong.get_data(as_text=True)
    assert "E-Mail oder Passwort ist falsch." in unknown.get_data(as_text=True)


def test_sign_in_is_throttled_after_five_failures(client, create_user):
    create_user()
    for _ in range(5):
        assert sign_in(client, "anna@shop.example", "guess guess guess").status_code == 401
    resp = sign_in(client, "anna@shop.example")  # even the right password now waits
    assert resp.status_code == 429
    assert "Zu viele Fehlversuche" in resp.get_data(as_text=True)


def test_admin_needs_the_authenticator_code(client, create_user):
    admin = create_user("chef@shop.example", role="admin", name="Chef")
    resp = sign_in(client, admin["email"])
    assert resp.headers["Location"].endswith("/console/login/code")
    assert client.get("/console/").status_code == 302  # password alone is not enough
    assert post_form(client, "/console/login/code", {"code": "000000"}).status_code == 401
    code = pyotp.TOTP(admin["totp_secret"]).now()
    resp = post_form(client, "/console/login/code", {"code": code})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/console/")
    assert client.get("/console/").status_code == 200


def test_a_used_code_cannot_be_replayed(app, create_user):
    admin = create_user("chef@shop.example", role="supervisor", name="Chef")
    code = pyotp.TOTP(admin["totp_secret"]).now()
    first, second = app.test_client(), app.test_client()
    sign_in(first, admin["email"])
    assert post_form(first, "/console/login/code", {"code": code}).status_code == 302
    sign_in(second, admin["email"])
    assert post_form(second, "/console/login/code", {"code": code}).status_code == 401


def test_next_never_leads_to_another_site(app, create_user):
    create_user()
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        client = app.test_client()
        html = client.get("/console/login").get_data(as_text=True)
        resp = client.post(
            f"/console/login?next={target}",
            data={"email": "anna@shop.example", "password": PASSWORD, "csrf_token": csrf_token(html)},
        )
        assert resp.headers["Location"] in ("/console/", "http://localhost/console/"), target


def test_agent_goes_available_and_the_change_is_logged(client, create_user, session):
    user = create_user()
    sign_in(client, user["email"])
    resp = post_form(client, "/console/presence", {"activity": "available"}, page="/console/")
    assert resp.status_code == 302
    page = client.get("/console/").get_data(as_text=True)
    assert 'data-testid="activity">Verfügbar' in page
    post_form(client, "/console/presence", {"activity": "break", "reason": "Mittag"}, page="/console/")
    logged = session.scalars(select(AgentActivity).where(AgentActivity.user_id == user["id"])).all()
    assert [(a.activity, a.reason) for a in logged] == [("available", None), ("break", "Mittag")]


def test_an_agent_cannot_choose_to_be_busy(client, create_user, session):
    user = create_user()
    sign_in(client, user["email"])
    post_form(client, "/console/presence", {"activity": "busy"}, page="/console/")
    assert session.get(User, user["id"]).activity == "offline"


def test_disabling_a_user_ends_their_session(client, create_user, runner):
    create_user()
    sign_in(client, "anna@shop.example")
    assert client.get("/console/").status_code == 200
    result = runner.invoke(main, ["users", "disable", "anna@shop.example"])
    assert result.exit_code == 0, result.output
    assert client.get("/console/").status_code == 302
    assert sign_in(client, "anna@shop.example").status_code == 401


def test_users_cli_add_list_and_reset(runner, client):
    result = runner.invoke(
        main,
        ["users", "add", "Ben@Shop.example", "--name", "Ben", "--languages", "de,en", "--skills", "returns"],
        input="a long enough passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert "added agent ben@shop.example" in result.output and "password" not in result.output
    again = runner.invoke(main, ["users", "add", "ben@shop.example", "--name", "Ben"], input="x" * 20 + "\n")
    assert again.exit_code == 1 and "exists already" in again.output and "Traceback" not in again.output
    short = runner.invoke(main, ["users", "add", "c@shop.example", "--name", "C"], input="short\n")
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    listed = runner.invoke(main, ["users", "list"])
    assert "ben@shop.example\tBen\tagent\tde,en\treturns\toffline" in listed.output
    reset = runner.invoke(main, ["users", "reset-password", "ben@shop.example", "--generate-password"])
    new_password = reset.output.split("password (shown only now): ")[1].strip()
    assert sign_in(client, "ben@shop.example", "a long enough passphrase").status_code == 401
    assert sign_in(client, "ben@shop.example", new_password).status_code == 302


def test_adding_an_admin_prints_the_authenticator_link_once(runner):
    result = runner.invoke(
        main,
        ["users", "add", "chef@shop.example", "--name", "Chef", "--role", "admin", "--generate-password"],
    )
    assert result.exit_code == 0, result.output
    assert "otpauth://totp/Hotline:chef%40shop.example?secret=" in result.output
    listed = runner.invoke(main, ["users", "list", "--json"])
    assert "secret" not in listed.output and "password" not in listed.output
