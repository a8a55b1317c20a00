"""``ivr agents`` and ``ivr callbacks``: manage agents, work the queue, run the dialer."""

from __future__ import annotations

import json
import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from callbacks.claiming import claim_for_agent
from callbacks.dialer import CredentialsRejected, Dialer
from callbacks.models import OPEN, STATES
from callbacks.numbers import check_callback_number
from callbacks.queue import (
    CallbackError,
    NewRequest,
    cancel_request,
    complete_request,
    list_queue,
    request_as_dict,
    request_callback,
)
from callbacks.settings import Settings
from callbacks.telephony import make_client
from ivr.db import session_factory, unit_of_work
from ivr.models.agent import Agent
from ivr.phone import normalize_phone


@click.group()
def agents() -> None:
    """Agents who take callbacks."""


@agents.command("add")
@click.argument("name")
@click.argument("phone")
@with_appcontext
def agents_add(name: str, phone: str) -> None:
    """Add an agent with the phone number the dialer rings."""
    number = normalize_phone(phone, current_app.config["DEFAULT_REGION"])
    if number is None:
        raise click.ClickException(f"'{phone}' is not a phone number")
    try:
        with unit_of_work() as session:
            session.add(Agent(name=name, phone=number))
    except IntegrityError:
        raise click.ClickException(f"an agent named '{name}' exists already") from None
    click.echo(f"added agent {name} ({number})")


@agents.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def agents_list(as_json: bool) -> None:
    """List agents and whether they are on a callback."""
    with unit_of_work() as session:
        rows = [
            {"name": a.name, "phone": a.phone, "active": a.active, "busy_with": a.busy_request_id}
            for a in session.scalars(select(Agent).order_by(Agent.name))
        ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        state = "inactive" if not row["active"] else f"on #{row['busy_with']}" if row["busy_with"] else "free"
        click.echo(f"{row['name']}\t{row['phone']}\t{state}")


@click.group()
def callbacks() -> None:
    """The callback queue."""


@callbacks.command("list")
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATES), help="Default: open ones.")
@click.option("--phone", help="Only this number.")
@click.option("--limit", default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def callbacks_list(statuses: tuple[str, ...], phone: str | None, limit: int, as_json: bool) -> None:
    """List requests, most urgent first (priority, then due time)."""
    number = normalize_phone(phone, current_app.config["DEFAULT_REGION"]) if phone else None
    with unit_of_work() as session:
        rows = [request_as_dict(r) for r in list_queue(session, statuses or OPEN, number, limit)]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for r in rows:
        click.echo(
            f"#{r['id']}\t{r['status']}\tP{r['priority']}\tdue {r['due_at']}\t{r['phone']}\t"
            f"{r['window']}\t{r['reason'] or ''}"
        )


@callbacks.command("request")
@click.argument("phone")
@click.option("--window", type=click.Choice(["asap", "morning", "afternoon"]), default="asap")
@click.option("--reason", help="Why the customer wants a call.")
@with_appcontext
def callbacks_request(phone: str, window: str, reason: str | None) -> None:
    """Queue a callback by hand (an e-mail or chat asked for one)."""
    settings = Settings.from_config(current_app.config)
    check = check_callback_number(phone, current_app.config["DEFAULT_REGION"], settings.allowed_regions)
    if check.e164 is None:
        raise click.ClickException(f"'{phone}' cannot be called back ({check.problem})")
    with unit_of_work() as session:
        result = request_callback(
            session,
            NewRequest(check.e164, source="cli", window=window, reason=reason),
            current_app.config["CLOCK"](),
            settings,
        )
        click.echo(
            f"{result.outcome}: #{result.request.id if result.request else '-'} "
            f"from {result.call_at.isoformat() if result.call_at else '-'}"
        )
    if not result.accepted:
        sys.exit(1)


@callbacks.command("claim")
@click.option("--agent", "agent_name", required=True, help="The agent who will call.")
@with_appcontext
def callbacks_claim(agent_name: str) -> None:
    """Claim the most urgent due request for an agent who calls by hand."""
    settings = Settings.from_config(current_app.config)
    try:
        with unit_of_work() as session:
            request = claim_for_agent(session, agent_name, current_app.config["CLOCK"](), settings.dial_lease)
            claimed = request_as_dict(request) if request else None
    except CallbackError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(claimed, indent=2, ensure_ascii=False) if claimed else "nothing is due")


@callbacks.command("complete")
@click.argument("request_id", type=int)
@click.option("--note", help="What came of it.")
@with_appcontext
def callbacks_complete(request_id: int, note: str | None) -> None:
    """Mark a callback done, with an outcome note."""
    try:
        with unit_of_work() as session:
            complete_request(session, request_id, note, current_app.config["CLOCK"]())
    except CallbackError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"callback {request_id} completed")


@callbacks.command("cancel")
@click.argument("request_id", type=int)
@click.option("--reason", default="cancelled", show_default=True)
@with_appcontext
def callbacks_cancel(request_id: int, reason: str) -> None:
    """Withdraw a waiting request."""
    try:
        with unit_of_work() as session:
            cancel_request(session, request_id, reason)
    except CallbackError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"callback {request_id} cancelled")


@callbacks.command("worker")
@click.option("--drain", is_flag=True, help="Exit when nothing is due instead of polling.")
@with_appcontext
def callbacks_worker(drain: bool) -> None:
    """Dial due callbacks agent-first through Twilio's REST API (run several for more throughput)."""
    config = current_app.config
    settings = Settings.from_config(config)
    if not config.get("PUBLIC_URL") or not settings.caller_id:
        raise click.ClickException("set IVR_PUBLIC_URL and IVR_CALLBACK_CALLER_ID: Twilio needs both")
    dialer = Dialer(
        session_factory(),
        make_client(config),
        settings,
        config["PUBLIC_URL"],
        settings.caller_id,
        clock=config["CLOCK"],
    )
    click.echo(f"worker {dialer.name} started")
    try:
        placed = dialer.run(drain=drain)
    except CredentialsRejected as exc:
        raise click.ClickException(f"Twilio rejected the account credentials: {exc}") from None
    click.echo(f"placed {placed} calls")
