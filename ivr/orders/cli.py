"""``ivr orders import`` and ``ivr apikeys create|list|revoke``."""

from __future__ import annotations

from typing import BinaryIO

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import IntegrityError

from ivr.apikeys import SCOPES, ApiKeyError, create_api_key, list_api_keys, revoke_api_key
from ivr.db import get_session, unit_of_work
from ivr.orders.csv_import import PROGRESS_EVERY, CsvFileError, CsvReport, import_rows, open_csv
from ivr.orders.importer import BATCH_SIZE

#: Duplicate rows listed one by one; beyond this only their number is printed.
SHOWN_DUPLICATES = 20


@click.group()
def orders() -> None:
    """Orders for the order-status self-service."""


@orders.command("import")
@click.argument("file", type=click.File("rb"))
@with_appcontext
def orders_import(file: BinaryIO) -> None:
    """Upsert orders from a CSV file; bad rows are reported with their line number and skipped."""
    name = file.name
    try:
        csv_file = open_csv(file.read())
    except CsvFileError as exc:
        click.echo(f"{name}: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo(f"{name}: {csv_file.describe()}")
    batches = 0

    def progress(report: CsvReport) -> None:
        nonlocal batches
        batches += 1
        if batches % PROGRESS_EVERY == 0:
            click.echo(f"{name}: {report.rows} rows read, {report.stored} orders stored so far", err=True)

    report = import_rows(get_session(), csv_file, current_app.config["DEFAULT_REGION"], progress, BATCH_SIZE)
    for line, reason in sorted(report.errors):
        click.echo(f"{name}:{line}: {reason}", err=True)
    for line, first in report.duplicates[:SHOWN_DUPLICATES]:
        click.echo(
            f"{name}:{line}: repeats the order number of line {first}; the later row is used", err=True
        )
    if len(report.duplicates) > SHOWN_DUPLICATES:
        click.echo(f"{name}: {len(report.duplicates) - SHOWN_DUPLICATES} more duplicate rows", err=True)
    click.echo(report.summary())
    if report.stored == 0 and report.errors:
        raise SystemExit(1)


@click.group()
def apikeys() -> None:
    """API keys for the REST API."""


@apikeys.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(SCOPES),
    help="An API the key may use; repeat for several.",
)
@with_appcontext
def apikeys_create(name: str, scopes: tuple[str, ...]) -> None:
    """Create an API key for client NAME and print it once."""
    try:
        with unit_of_work() as session:
            key = create_api_key(session, name, scopes)
    except ApiKeyError as exc:
        raise click.ClickException(str(exc)) from None
    except IntegrityError:  # created at the same moment by someone else
        raise click.ClickException(f"an API key named '{name}' exists already; choose another name") from None
    click.echo(
        f"API key for {name}, scopes {' '.join(dict.fromkeys(scopes))} (shown only now, store it safely):"
    )
    click.echo(key)


@apikeys.command("list")
@with_appcontext
def apikeys_list() -> None:
    """List the keys: name, scopes, created, last used, revoked (never the key itself)."""
    with unit_of_work() as session:
        keys = list_api_keys(session)
    for key in keys:
        last = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never used"
        state = "revoked" if key.revoked else "active"
        click.echo(
            f"{key.name}\t{','.join(key.scope_names)}\t{key.created_at:%Y-%m-%d %H:%M}\t{last}\t{state}"
        )


@apikeys.command("revoke")
@click.argument("name")
@with_appcontext
def apikeys_revoke(name: str) -> None:
    """Revoke the key of client NAME: requests with it get 401 from now on."""
    try:
        with unit_of_work() as session:
            revoke_api_key(session, name)
    except ApiKeyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"API key '{name}' revoked")
