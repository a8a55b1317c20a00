"""``ivr flows``: validate, import, list, history, export, diff and roll back call flows."""

from __future__ import annotations

import difflib
import getpass
import json
import sys
from typing import NoReturn

import click
from flask import current_app
from flask.cli import with_appcontext

from ivr.db import unit_of_work
from ivr.flows.definition import parse_flow
from ivr.flows.store import (
    FlowLookupError,
    Published,
    flow_version,
    flow_versions,
    list_flows,
    publish,
    rollback_flow,
)
from ivr.flows.yamlsource import FlowError, read_flow_file
from ivr.models import FlowVersion


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers)
        return "cli"


author_option = click.option(
    "--author", default=_os_user, show_default="your login name", help="Recorded as the author."
)


@click.group()
def flows() -> None:
    """Call-flow definitions and their published versions."""


def _fail(exc: FlowError) -> NoReturn:
    for line in exc.lines():
        click.echo(line, err=True)
    sys.exit(1)


@flows.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def flows_validate(files: tuple[str, ...]) -> None:
    """Check flow files; print every problem as file:line: reason."""
    import ivr.plugins  # noqa: F401  (node kinds of every capability)

    failed = False
    for name in files:
        try:
            flow = parse_flow(read_flow_file(name), name)
        except FlowError as exc:
            failed = True
            for line in exc.lines():
                click.echo(line, err=True)
        else:
            click.echo(f"{name}: ok ({flow.name}, {len(flow.nodes)} nodes)")
    if failed:
        sys.exit(1)


def _say_published(result: Published, verb: str = "published") -> None:
    v = result.version
    if result.created:
        click.echo(f"{verb} {v.name} v{v.version} ({v.checksum[:12]}); new calls use it")
    else:
        click.echo(f"unchanged: {v.name} v{v.version} already has this content")


@flows.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@author_option
@with_appcontext
def flows_import(file: str, author: str) -> None:
    """Publish a flow file as a new version (new calls use it; live calls keep theirs)."""
    try:
        source = read_flow_file(file)
        with unit_of_work() as session:
            result = publish(session, source, file, author)
    except FlowError as exc:
        _fail(exc)
    _say_published(result)


@flows.command("export")
@click.argument("name")
@click.option("--version", "number", type=int, default=None, help="A version (default: the live one).")
@with_appcontext
def flows_export(name: str, number: int | None) -> None:
    """Print the source of a flow version."""
    with unit_of_work() as session:
        try:
            version = flow_version(session, name, number)
        except FlowLookupError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(version.source, nl=False)


def _row(v: FlowVersion, live: bool) -> dict[str, object]:
    return {
        "name": v.name,
        "version": v.version,
        "author": v.author,
        "created_at": v.created_at.isoformat(),
        "checksum": v.checksum,
        "live": live,
    }


@flows.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def flows_list(as_json: bool) -> None:
    """List flows with their live version; mark the one that answers incoming calls."""
    answering = current_app.config["FLOW_NAME"]
    with unit_of_work() as session:
        rows = [{**_row(v, True), "answers_calls": v.name == answering} for v in list_flows(session)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        mark = "\tanswers calls" if r["answers_calls"] else ""
        click.echo(
            f"{r['name']}\tv{r['version']}\t{str(r['created_at'])[:16].replace('T', ' ')}"
            f"\t{r['author']}\t{str(r['checksum'])[:12]}\tlive{mark}"
        )


@flows.command("history")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def flows_history(name: str, as_json: bool) -> None:
    """Every version of a flow, oldest first: version, author, time, checksum, which is live."""
    with unit_of_work() as session:
        try:
            versions = flow_versions(session, name)
        except FlowLookupError as exc:
            raise click.ClickException(str(exc)) from None
        rows = [_row(v, v is versions[-1]) for v in versions]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        created = str(r["created_at"])[:16].replace("T", " ")
        live = "\tlive" if r["live"] else ""
        click.echo(f"v{r['version']}\t{created}\t{r['author']}\t{str(r['checksum'])[:12]}{live}")


@flows.command("diff")
@click.argument("name")
@click.argument("a", type=int)
@click.argument("b", type=int)
@with_appcontext
def flows_diff(name: str, a: int, b: int) -> None:
    """Unified diff of the sources of versions A and B."""
    with unit_of_work() as session:
        try:
            old, new = flow_version(session, name, a), flow_version(session, name, b)
        except FlowLookupError as exc:
            raise click.ClickException(str(exc)) from None
        lines = difflib.unified_diff(
            old.source.splitlines(keepends=True),
            new.source.splitlines(keepends=True),
            fromfile=f"{name} v{a}",
            tofile=f"{name} v{b}",
        )
        text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    click.echo(text or f"v{a} and v{b} have the same content\n", nl=False)


@flows.command("rollback")
@click.argument("name")
@click.option(
    "--to", "to", type=int, default=None, help="The version to go back to (default: the previous content)."
)
@author_option
@with_appcontext
def flows_rollback(name: str, to: int | None, author: str) -> None:
    """Publish an earlier version's content as a new version (live calls keep theirs)."""
    try:
        with unit_of_work() as session:
            result = rollback_flow(session, name, to, author)
    except FlowLookupError as exc:
        raise click.ClickException(str(exc)) from None
    except FlowError as exc:
        _fail(exc)
    _say_published(result, "rolled back: published")
