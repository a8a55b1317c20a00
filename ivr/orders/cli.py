"""``ivr orders import`` and ``ivr apikeys create``."""

from __future__ import annotations

from typing import TextIO

import click
from flask import current_app
from flask.cli import with_appcontext

from ivr.apikeys import create_api_key
from ivr.db import unit_of_work
from ivr.orders.importer import import_csv


@click.group()
def orders() -> None:
    """Orders for the order-status self-service."""


@orders.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
@with_appcontext
def orders_import(file: TextIO) -> None:
    """Upsert orders from a CSV file; bad rows are reported with their line number."""
    with unit_of_work() as session:
        report = import_csv(session, file, current_app.config["DEFAULT_REGION"])
    for line, reason in report.errors:
        click.echo(f"{file.name}:{line}: {reason}", err=True)
    click.echo(report.summary())
    if report.imported == 0 and report.errors:
        raise SystemExit(1)


@click.group()
def apikeys() -> None:
    """API keys for the REST API."""


@apikeys.command("create")
@click.argument("name")
@with_appcontext
def apikeys_create(name: str) -> None:
    """Create an API key for client NAME and print it once."""
    with unit_of_work() as session:
        key = create_api_key(session, name)
    click.echo(f"API key for {name} (shown only now, store it safely):")
    click.echo(key)
