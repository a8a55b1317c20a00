"""``ivr users``: console users (agents, supervisors, admins)."""

from __future__ import annotations

import json
import secrets
import sys
import time

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.db import unit_of_work
from ivr.desk.models import ROLES, User
from ivr.desk.users import (
    NewUser,
    UserError,
    add_user,
    disable_user,
    find_user,
    provisioning_uri,
    set_password,
)
from ivr.phone import normalize_phone


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip().lower() for part in value.split(",") if part.strip())


def _password(generate: bool) -> tuple[str, bool]:
    """The password from stdin, or a generated one (then printed once)."""
    if generate or sys.stdin.isatty():
        return secrets.token_urlsafe(15), True
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        return secrets.token_urlsafe(15), True
    return password, False


@click.group()
def users() -> None:
    """Console users: agents, supervisors and admins."""


@users.command("add")
@click.argument("email")
@click.option("--name", required=True, help="The name shown to colleagues.")
@click.option("--role", type=click.Choice(ROLES), default="agent", show_default=True)
@click.option("--languages", default="de", show_default=True, help="Comma-separated, e.g. de,en.")
@click.option("--skills", default="", help="Comma-separated departments, e.g. returns,service.")
@click.option("--phone", default=None, help="The agent's phone, when calls ring a phone.")
@click.option("--generate-password", is_flag=True, help="Generate a password instead of reading stdin.")
@with_appcontext
def users_add(
    email: str, name: str, role: str, languages: str, skills: str, phone: str | None, generate_password: bool
) -> None:
    """Add a user; the password is read from stdin, or generated and printed once."""
    number = None
    if phone:
        number = normalize_phone(phone, current_app.config["DEFAULT_REGION"])
        if number is None:
            raise click.ClickException(f"'{phone}' is not a phone number")
    password, generated = _password(generate_password)
    new = NewUser(email, name, role, _split(languages) or ("de",), _split(skills), number)
    try:
        with unit_of_work() as session:
            user = add_user(session, new, password)
            uri = provisioning_uri(user) if user.totp_secret else None
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"added {user.role} {user.email}")
    if generated:
        click.echo(f"password (shown only now): {password}")
    if uri:
        click.echo("second factor: add this to an authenticator app (shown only now):")
        click.echo(uri)


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def users_list(as_json: bool) -> None:
    """List users with role, skills and state."""
    with unit_of_work() as session:
        rows = [u.as_dict() for u in session.scalars(select(User).order_by(User.email))]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        state = "disabled" if row["disabled"] else row["activity"]
        click.echo(
            f"{row['email']}\t{row['name']}\t{row['role']}\t{','.join(row['languages'])}"
            f"\t{','.join(row['skills']) or '-'}\t{state}"
        )


def _user(session: Session, email: str) -> User:
    user = find_user(session, email)
    if user is None:
        raise click.ClickException(f"no user {email}")
    return user


@users.command("disable")
@click.argument("email")
@with_appcontext
def users_disable(email: str) -> None:
    """Disable a user: sessions end, no sign-in, no calls."""
    with unit_of_work() as session:
        disable_user(_user(session, email))
    click.echo(f"disabled {email}")


@users.command("reset-password")
@click.argument("email")
@click.option("--generate-password", is_flag=True, help="Generate a password instead of reading stdin.")
@with_appcontext
def users_reset_password(email: str, generate_password: bool) -> None:
    """Set a new password (stdin, or generated and printed once); open sessions end."""
    password, generated = _password(generate_password)
    try:
        with unit_of_work() as session:
            set_password(_user(session, email), password)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"password of {email} changed")
    if generated:
        click.echo(f"password (shown only now): {password}")


@click.group()
def desk() -> None:
    """Routing of callers to agents."""


@desk.command("worker")
@click.option("--once", is_flag=True, help="One routing pass, then exit.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between passes.")
@with_appcontext
def desk_worker(once: bool, interval: float) -> None:
    """Route continuously: end wrap-ups, re-offer lost offers, offer waiting callers."""
    from ivr.db import session_factory
    from ivr.desk.telephony import dispatch
    from ivr.privacy.service import PurgeSchedule

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    purge = PurgeSchedule.from_config(session_factory(app), app.config)
    while True:
        offered = dispatch(session_factory(app), app.config, app.config["CLOCK"]())
        if purge is not None and not once:
            purge.maybe_run(app.config["CLOCK"]())
        if once:
            click.echo(f"offered {offered} callers")
            return
        time.sleep(interval)
