"""``ivr privacy``: purge what is due, export or erase a person."""

from __future__ import annotations

import json
from typing import IO

import click
from flask import current_app
from flask.cli import with_appcontext

from ivr.db import session_factory
from ivr.privacy.subjects import NotAnIdentifier, parse_identifier


@click.group()
def privacy() -> None:
    """Retention, export and erasure of personal data (DSGVO)."""


def _person(identifier: str) -> tuple[str, str | int]:
    try:
        return parse_identifier(identifier, current_app.config["DEFAULT_REGION"])
    except NotAnIdentifier as exc:
        raise click.ClickException(str(exc)) from None


@privacy.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what is due, delete nothing.")
@with_appcontext
def purge_command(dry_run: bool) -> None:
    """Delete (or anonymise) what is past its retention and print the counts per kind."""
    from ivr.privacy.service import purge_due

    config = current_app.config
    report = purge_due(session_factory(), config, config["CLOCK"](), dry_run=dry_run)
    verb = "due" if dry_run else "purged"
    if not report.counts:
        click.echo(f"nothing {verb}")
    for kind, tables in sorted(report.counts.items()):
        days = config["RETENTION_DAYS"].get(kind)
        after = f" (kept {days} days)" if days else ""
        click.echo(f"{kind}{after}: " + ", ".join(f"{n} {t}" for t, n in sorted(tables.items())) + f" {verb}")


@privacy.command("export")
@click.argument("identifier")
@click.option("--output", "-o", type=click.File("w"), default="-", help="Write the JSON here.")
@with_appcontext
def export_command(identifier: str, output: IO[str]) -> None:
    """Everything stored about a person (PHONE, EMAIL or CUSTOMER_ID) as JSON (Art. 15/20)."""
    from ivr.privacy.service import export_person

    key, value = _person(identifier)
    data = export_person(session_factory(), current_app.config, key, value, "cli")
    output.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


@privacy.command("erase")
@click.argument("identifier")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def erase_command(identifier: str, yes: bool) -> None:
    """Erase a person (PHONE, EMAIL or CUSTOMER_ID) everywhere, keeping anonymous counts (Art. 17)."""
    from ivr.privacy.service import erase_person

    key, value = _person(identifier)
    if not yes:
        click.confirm("Erase everything stored about this person? This cannot be undone", abort=True)
    report = erase_person(session_factory(), current_app.config, key, value, "cli")
    if report.already_erased:
        click.echo("already erased; nothing left to erase")
        return
    if not report.counts:
        click.echo("nothing stored about this person")
    for table, n in sorted(report.counts.items()):
        click.echo(f"{table}: {n}")
    if report.recording_sids:
        click.echo(f"asked Twilio to delete {len(report.recording_sids)} recordings")
    if report.live_call_sids:
        live = len(report.live_call_sids)
        click.echo(f"{live} live calls: what keeps them running is erased after they end (next purge)")
