"""``ivr returns``: the delivery worker, CSV import of the shop's return progress, the list."""

from __future__ import annotations

import csv
import io
import json
import signal
from typing import Any, BinaryIO

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from ivr.db import get_session, session_factory, transaction
from ivr.models._types import utcnow
from ivr.returns.delivery import run_pass, run_worker
from ivr.returns.models import STATES, ReturnRequest
from ivr.returns.records import FIELDS, InvalidReturn, create_from_shop, return_as_dict

#: A returns CSV is small (the shop's daily changes); bigger files are refused unread.
MAX_CSV_BYTES = 20 * 1024 * 1024


@click.group()
def returns() -> None:
    """Returns registered by phone or reported by the shop."""


@returns.command("worker")
@click.option("--drain", is_flag=True, help="Exit when nothing is due instead of polling.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between polls when idle.")
@with_appcontext
def returns_worker(drain: bool, interval: float) -> None:
    """Send label SMS and e-mails and the shop webhook, retrying with backoff (run one or more)."""
    sessions, config = session_factory(), dict(current_app.config)
    if drain:
        sent = 0
        while batch := run_pass(sessions, config):
            sent += batch
        click.echo(f"{sent} messages attempted")
        return
    stopping = False

    def stop(*_args: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo("returns worker started")
    run_worker(sessions, config, interval, lambda: stopping)


@returns.command("import")
@click.argument("file", type=click.File("rb"))
@with_appcontext
def returns_import(file: BinaryIO) -> None:
    """Create or update returns from a CSV file (``return_number,order_number,state,...``)."""
    data = file.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise click.ClickException(f"{file.name}: larger than {MAX_CSV_BYTES} bytes")
    try:
        reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
    except UnicodeDecodeError:
        raise click.ClickException(f"{file.name}: not UTF-8 text") from None
    unknown = set(reader.fieldnames or ()) - set(FIELDS)
    if unknown or "return_number" not in (reader.fieldnames or ()):
        raise click.ClickException(
            f"{file.name}: the header must name return_number and only {', '.join(FIELDS)}"
        )
    stored, errors = 0, 0
    session = get_session()
    for line, row in enumerate(reader, start=2):
        record: dict[str, Any] = {k: v for k, v in row.items() if k and v not in (None, "")}
        if "items" in record:
            record["items"] = [part.strip() for part in record["items"].split(";") if part.strip()]
        try:
            with transaction(session):
                create_from_shop(session, dict(current_app.config), record, utcnow())
            stored += 1
        except InvalidReturn as exc:
            errors += 1
            click.echo(f"{file.name}:{line}: {exc}", err=True)
    click.echo(f"{stored} returns stored, {errors} rows with errors")
    if errors and not stored:
        raise SystemExit(1)


@returns.command("list")
@click.option("--state", "states", multiple=True, type=click.Choice(STATES), help="Default: all.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def returns_list(states: tuple[str, ...], as_json: bool) -> None:
    """The newest returns first (at most 200)."""
    query = select(ReturnRequest).order_by(ReturnRequest.created_at.desc()).limit(200)
    if states:
        query = query.where(ReturnRequest.state.in_(states))
    rows = [return_as_dict(r) for r in get_session().scalars(query)]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for r in rows:
        click.echo(f"{r['return_number']}\t{r['order_number']}\t{r['state']}\t{r['created_at'][:10]}")
