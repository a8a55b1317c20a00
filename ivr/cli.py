"""The ``ivr`` command line: serve, migrate, manage flows, inspect history, simulate calls."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from ivr import create_app
from ivr.config import ConfigError
from ivr.db import unit_of_work
from ivr.flows.definition import parse_flow
from ivr.flows.store import latest_version, list_flows, publish_flow
from ivr.flows.yamlsource import FlowError
from ivr.phone import normalize_phone
from ivr.simulator import simulate

ROOT = Path(__file__).resolve().parent.parent


def create_cli_app() -> Flask:
    """The app for a command; a bad setting stops the command with its message, not a traceback."""
    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group(
    cls=FlaskGroup,
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
    """Migrate, publish the shipped flows, and run the service under gunicorn."""
    from ivr.setup import prepare_instance

    published = prepare_instance(current_app)
    click.echo(f"database ready; flows: {', '.join(published) or 'none'}")
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


@main.group()
def flows() -> None:
    """Call-flow definitions."""


@flows.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def flows_validate(files: tuple[str, ...]) -> None:
    """Check flow files; print each problem as file:line: reason."""
    import ivr.plugins  # noqa: F401  (node kinds of every capability)

    failed = False
    for name in files:
        try:
            flow = parse_flow(Path(name).read_text(encoding="utf-8"), name)
        except FlowError as exc:
            failed = True
            for line in exc.lines():
                click.echo(line, err=True)
        else:
            click.echo(f"{name}: ok ({flow.name}, {len(flow.nodes)} nodes)")
    if failed:
        sys.exit(1)


@flows.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--author", default=lambda: os.environ.get("USER", "cli"), help="Recorded as the author.")
@with_appcontext
def flows_import(file: str, author: str) -> None:
    """Publish a flow file as a new version (new calls use it; live calls keep theirs)."""
    try:
        with unit_of_work() as session:
            version = publish_flow(session, Path(file).read_text(encoding="utf-8"), file, author)
            click.echo(f"published {version.name} v{version.version} ({version.checksum[:12]})")
    except FlowError as exc:
        for line in exc.lines():
            click.echo(line, err=True)
        sys.exit(1)


@flows.command("export")
@click.argument("name")
@with_appcontext
def flows_export(name: str) -> None:
    """Print the newest published version of a flow."""
    with unit_of_work() as session:
        version = latest_version(session, name)
        if version is None:
            raise click.ClickException(f"no flow named '{name}'")
        click.echo(version.source, nl=False)


@flows.command("list")
@with_appcontext
def flows_list() -> None:
    """List flows with their newest version."""
    with unit_of_work() as session:
        for v in list_flows(session):
            created = f"{v.created_at:%Y-%m-%d %H:%M}"
            click.echo(f"{v.name}\tv{v.version}\t{created}\t{v.author}\t{v.checksum[:12]}")


@main.command()
@click.argument("phone")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def history(phone: str, as_json: bool) -> None:
    """Show a customer's interactions, newest first."""
    from ivr.history import customer_history

    number = normalize_phone(phone, current_app.config["DEFAULT_REGION"])
    if number is None:
        raise click.ClickException(f"'{phone}' is not a phone number")
    with unit_of_work() as session:
        entries = customer_history(session, number)
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


main.add_command(simulate)

# --- capability commands
from callbacks.cli import agents, callbacks  # noqa: E402
from ivr.orders.cli import apikeys, orders  # noqa: E402

main.add_command(orders)
main.add_command(agents)
main.add_command(callbacks)  # noqa: E702
main.add_command(apikeys)
from speech.cli import intent_cli, numbers_cli, speech_cli  # noqa: E402

main.add_command(intent_cli, "intent")
main.add_command(numbers_cli, "numbers")
main.add_command(speech_cli, "speech")


if __name__ == "__main__":
    main()
