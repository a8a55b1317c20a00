"""The ``ivr`` command line: serve, migrate, manage flows, inspect history, simulate calls."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy.exc import DBAPIError

from ivr import create_app
from ivr.config import ConfigError
from ivr.db import unit_of_work
from ivr.flows.cli import flows
from ivr.phone import normalize_phone
from ivr.simulator import simulate

ROOT = Path(__file__).resolve().parent.parent


def create_cli_app() -> Flask:
    """The app for a command; a bad setting stops the command with its message, not a traceback."""
    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _missing_schema(exc: DBAPIError) -> bool:
    """Whether a database error means the tables were never created (SQLite or PostgreSQL)."""
    return "no such table" in str(exc.orig) or getattr(exc.orig, "sqlstate", None) == "42P01"


class HotlineGroup(FlaskGroup):
    """Flask's command group, turning "the schema is not there yet" into advice, not a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except DBAPIError as exc:
            if not _missing_schema(exc):
                raise
            raise click.ClickException(
                "the database has no tables yet: run `ivr db upgrade` first (`ivr serve` does it on start)"
            ) from None


@click.group(
    cls=HotlineGroup,
    create_app=create_cli_app,
    add_default_commands=False,
    load_dotenv=False,
    set_debug_flag=False,
    add_version_option=False,
)
def main() -> None:
    """Hotline: Twilio voice support for online shops."""


# Flask's generic options (--app, --env-file, --debug) mean nothing for this one app.
main.params = [p for p in main.params if p.name not in {"app", "env_file", "debug"}]


@main.command()
@click.option("--port", default=8000, show_default=True, help="TCP port to listen on.")
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to bind.")
@with_appcontext
def serve(port: int, host: str) -> None:
    """Migrate, seed missing shipped flows, check the answering flow, run under gunicorn."""
    from ivr.setup import SetupError, prepare_instance

    try:
        notes = prepare_instance(current_app)
    except SetupError as exc:
        raise click.ClickException(str(exc)) from None
    for note in notes:
        click.echo(note)
    click.echo(_install_front_end())
    click.echo(f"Twilio voice webhook: POST http://{host}:{port}/twilio/voice")
    os.execvp(
        sys.executable,
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(ROOT / "gunicorn.conf.py"),
            "--chdir",
            str(ROOT),
            "--bind",
            f"{host}:{port}",
            "wsgi:app",
        ],
    )


def _install_front_end() -> str:
    """The console's pinned npm packages (the softphone SDK); a failure only disables the softphone."""
    import subprocess

    from ivr.desk.softphone import install_sdk

    try:
        return install_sdk()
    except (OSError, subprocess.CalledProcessError) as exc:
        return f"could not install the softphone SDK ({exc}); agents' phones still ring"


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Apply all migrations."""
    from ivr.migrate import upgrade

    upgrade(current_app.config["DATABASE_URL"])
    click.echo("database is up to date")


@main.command()
@click.argument("phone")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def history(phone: str, as_json: bool) -> None:
    """Show a customer's interactions, newest first."""
    from ivr.history import customer_history
    from ivr.privacy.audit import audit_history_read

    number = normalize_phone(phone, current_app.config["DEFAULT_REGION"])
    if number is None:
        raise click.ClickException(f"'{phone}' is not a phone number")
    with unit_of_work() as session:
        entries = customer_history(session, number)
        audit_history_read(session, number)
    if as_json:
        click.echo(json.dumps(entries, indent=2, ensure_ascii=False))
        return
    for entry in entries:
        click.echo(
            f"{entry['started_at']}  {entry['call_sid']}  {entry['status']}  "
            f"{entry['duration'] or '-'}s  {entry['outcome'] or ''}"
        )
        for event in entry["events"]:
            click.echo(f"    {event['kind']:<14} {json.dumps(event['data'], ensure_ascii=False)}")


main.add_command(flows)
main.add_command(simulate)

# --- capability commands
from callbacks.cli import agents, callbacks  # noqa: E402
from ivr.customers.cli import customers, webhooks  # noqa: E402
from ivr.desk.cli import desk, users  # noqa: E402
from ivr.insights.alarms_cli import alarms  # noqa: E402
from ivr.insights.cli import kpis  # noqa: E402
from ivr.orders.cli import apikeys, orders  # noqa: E402
from ivr.privacy.cli import privacy  # noqa: E402
from ivr.returns.cli import returns  # noqa: E402

main.add_command(orders)
main.add_command(agents)
main.add_command(callbacks)  # noqa: E702
main.add_command(apikeys)
main.add_command(users)
main.add_command(desk)
main.add_command(customers)
main.add_command(webhooks)
main.add_command(returns)
main.add_command(kpis)
main.add_command(alarms)
main.add_command(privacy)
from speech.cli import intent_cli, numbers_cli, speech_cli  # noqa: E402

main.add_command(intent_cli, "intent")
main.add_command(numbers_cli, "numbers")
main.add_command(speech_cli, "speech")


if __name__ == "__main__":
    main()
