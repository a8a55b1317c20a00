"""``ivr customers`` (find, merge) and ``ivr webhooks`` (the delivery worker)."""

from __future__ import annotations

import json
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from ivr.customers.matching import CustomerError, customer_as_dict, merge_customers, search_customers
from ivr.db import session_factory, unit_of_work


@click.group()
def customers() -> None:
    """Customers shared by all channels."""


@customers.command("find")
@click.argument("text")
@with_appcontext
def customers_find(text: str) -> None:
    """Customers whose phone, e-mail, order number or name matches TEXT (as JSON)."""
    with unit_of_work() as session:
        found = [
            customer_as_dict(session, c)
            for c in search_customers(session, text, current_app.config["DEFAULT_REGION"])
        ]
    click.echo(json.dumps(found, indent=2, ensure_ascii=False))


@customers.command("merge")
@click.argument("keep", type=click.IntRange(min=1))
@click.argument("other", type=click.IntRange(min=1))
@with_appcontext
def customers_merge(keep: int, other: int) -> None:
    """Merge customer OTHER into KEEP: both histories, orders and callbacks stay, under KEEP."""
    try:
        with unit_of_work() as session:
            merge_customers(session, keep, other, by="cli")
    except CustomerError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"merged customer {other} into {keep}")


@customers.command("prune")
@with_appcontext
def customers_prune() -> None:
    """Forget idempotency keys after 24 h and sent webhook events after 7 days (cron: hourly)."""
    keys, events = prune()
    click.echo(f"deleted {keys} idempotency keys and {events} sent webhook events")


def prune() -> tuple[int, int]:
    """One pruning pass in its own unit of work."""
    from ivr.customers.idempotency import prune_keys
    from ivr.customers.outbox import prune_sent
    from ivr.models._types import utcnow

    with unit_of_work() as session:
        now = utcnow()
        return prune_keys(session, now), prune_sent(session, now)


#: The webhook worker prunes this often.
PRUNE_EVERY = 3600.0


@click.group()
def webhooks() -> None:
    """Outbound webhooks of the customer history."""


@webhooks.command("worker")
@click.option("--once", is_flag=True, help="One delivery pass, then exit.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between passes.")
@with_appcontext
def webhooks_worker(once: bool, interval: float) -> None:
    """Deliver due events to IVR_WEBHOOK_URLS, retrying failures with backoff."""
    from ivr.customers.outbox import WebhookSettings, deliver_due

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    settings = WebhookSettings.from_config(app.config)
    if settings is None:
        raise click.ClickException("no webhooks configured: set IVR_WEBHOOK_URLS and IVR_WEBHOOK_SECRET")
    pruned_at = 0.0
    while True:
        if time.monotonic() - pruned_at >= PRUNE_EVERY:
            prune()
            pruned_at = time.monotonic()
        delivered = deliver_due(session_factory(app), settings)
        if once:
            click.echo(f"delivered {delivered} events")
            return
        time.sleep(interval)
