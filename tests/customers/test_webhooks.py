"""Outbound webhooks: written with the change, signed, retried with backoff, never sent to private hosts."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from ivr.config import ConfigError, webhook_urls
from ivr.customers.outbox import MAX_ATTEMPTS, WebhookSettings, deliver_due, retry_delay
from ivr.db import session_factory
from ivr.desk.models import Task
from ivr.desk.users import NewUser, add_user
from ivr.desk.wrapup import DEFAULT_DISPOSITIONS, record_wrapup
from ivr.models import Interaction, WebhookDelivery
from ivr.models._types import utcnow

SECRET = "whsec-0123456789abcdef"
TICKET = {"channel": "email", "subject": "Rechnung fehlt", "customer": {"email": "erika@example.de"}}


@pytest.fixture
def hooks(app, receiver):
    """Webhooks configured to the local receiver (a loopback address, so explicitly allowed)."""
    state, url = receiver
    app.config.update(WEBHOOK_URLS=[url], WEBHOOK_SECRET=SECRET, WEBHOOK_ALLOW_PRIVATE=True)
    return state


def deliver(app, later=timedelta(0)):
    return deliver_due(session_factory(app), WebhookSettings.from_config(app.config), utcnow() + later)


def verify(secret, headers, body, tolerance=300):
    """The receiver's check, as docs/history-api.md shows it."""
    fields = dict(part.split("=", 1) for part in headers["Hotline-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{fields['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"]) and abs(time.time() - int(fields["t"])) <= tolerance


def test_a_new_interaction_is_delivered_signed(app, client, hooks, history_key):
    created = client.post("/api/interactions", json=TICKET, headers=history_key)
    assert created.status_code == 201
    assert hooks.received == []  # nothing is sent from the request itself
    assert deliver(app) == 1
    [hit] = hooks.received
    assert verify(SECRET, hit["headers"], hit["body"])
    assert not verify("another-secret-123456", hit["headers"], hit["body"])
    assert not verify(SECRET, hit["headers"], hit["body"] + b" ")
    assert hit["headers"]["Hotline-Event"] == "interaction.created"
    assert hit["json"]["event"] == "interaction.created"
    assert hit["json"]["data"]["interaction_id"] == created.json["id"]
    assert hit["json"]["data"]["subject"] == "Rechnung fehlt"
    assert "erika@example.de" not in hit["body"].decode()  # the customer is referred to by id only
    assert deliver(app) == 0  # delivered once


def test_a_replayed_idempotent_request_emits_nothing_twice(app, client, hooks, history_key):
    for _ in range(2):
        client.post("/api/interactions", json=TICKET, headers={**history_key, "Idempotency-Key": "mail-1"})
    assert deliver(app) == 1 and len(hooks.received) == 1


def test_failed_deliveries_are_retried_with_backoff_then_given_up(app, client, session, hooks, history_key):
    hooks.statuses = [500, 503]
    client.post("/api/interactions", json=TICKET, headers=history_key)
    assert deliver(app) == 0
    assert deliver(app, later=retry_delay(1) - timedelta(seconds=5)) == 0  # not due yet
    assert len(hooks.received) == 1
    assert deliver(app, later=retry_delay(1) + timedelta(seconds=5)) == 0
    assert deliver(app, later=retry_delay(1) + retry_delay(2) + timedelta(seconds=10)) == 1
    assert len(hooks.received) == 3
    event_ids = {h["json"]["id"] for h in hooks.received}
    assert len(event_ids) == 1  # one event, so receivers can drop duplicates
    row = session.scalars(select(WebhookDelivery)).one()
    assert row.attempts == 3 and row.delivered_at is not None and row.last_error is None

    hooks.statuses = [500] * MAX_ATTEMPTS
    client.post("/api/interactions", json={**TICKET, "subject": "noch eine"}, headers=history_key)
    later = timedelta(0)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        deliver(app, later)
        later += retry_delay(attempt) + timedelta(seconds=1)
    session.rollback()
    failed = session.scalars(select(WebhookDelivery).where(WebhookDelivery.delivered_at.is_(None))).one()
    assert failed.failed_at is not None and failed.attempts == MAX_ATTEMPTS
    assert failed.last_error == "the receiver answered 500"
    assert deliver(app, later + timedelta(days=30)) == 0


def test_private_and_loopback_hosts_are_refused(app, client, session, receiver, history_key):
    state, url = receiver
    app.config.update(WEBHOOK_URLS=[url], WEBHOOK_SECRET=SECRET, WEBHOOK_ALLOW_PRIVATE=False)
    client.post("/api/interactions", json=TICKET, headers=history_key)
    assert deliver(app) == 0
    assert state.received == []
    row = session.scalars(select(WebhookDelivery)).one()
    assert "private, loopback or reserved" in row.last_error
    for target in (
        "http://10.0.0.8/h",
        "http://169.254.169.254/latest",
        "http://[::1]:8080/h",
        "http://0.0.0.0/",
    ):
        from ivr.customers.outbox import post

        assert "refused" in post(target, b"{}", "x", "y", WebhookSettings.from_config(app.config))


def test_webhook_settings_are_checked_at_start():
    assert webhook_urls({}) == []
    with pytest.raises(ConfigError, match="IVR_WEBHOOK_SECRET"):
        webhook_urls({"IVR_WEBHOOK_URLS": "https://tickets.example/hook"})
    with pytest.raises(ConfigError, match="http"):
        webhook_urls({"IVR_WEBHOOK_URLS": "ftp://tickets.example/hook", "IVR_WEBHOOK_SECRET": SECRET})
    with pytest.raises(ConfigError, match="user info"):
        webhook_urls({"IVR_WEBHOOK_URLS": "https://a:b@tickets.example/hook", "IVR_WEBHOOK_SECRET": SECRET})


def test_a_self_service_call_sends_call_ended_when_it_ends(app, phone, hooks):
    call = phone("+4915112345678")
    call.dial()
    assert deliver(app) == 0
    call.hang_up()
    call.hang_up()  # Twilio repeats a status callback: still one event
    assert deliver(app) == 1
    [hit] = hooks.received
    data = hit["json"]["data"]
    assert hit["json"]["event"] == "call.ended"
    assert data["call_sid"] == call.call_sid and data["status"] == "completed"
    assert data["outcome"] == "abandoned" and data["disposition"] is None
    assert "+4915112345678" not in hit["body"].decode()


def test_a_call_an_agent_took_waits_for_the_wrap_up(app, phone, session, hooks):
    call = phone("+4915112345678")
    call.dial()
    interaction = session.scalar(select(Interaction).where(Interaction.call_sid == call.call_sid))
    agent = add_user(session, NewUser("anna@shop.example", "Anna"), "correct horse battery staple")
    task = Task(
        call_sid=call.call_sid,
        interaction_id=interaction.id,
        queue="service",
        language="de",
        status="connected",
        offered_to=agent.id,
        connected_at=utcnow(),
    )
    session.add(task)
    session.commit()
    call.hang_up()
    assert deliver(app) == 0  # waits for the agent's outcome
    record_wrapup(session, agent, task, "resolved", "erledigt", DEFAULT_DISPOSITIONS, utcnow())
    session.commit()
    assert deliver(app) == 1
    assert hooks.received[0]["json"]["data"]["disposition"] == "resolved"


def test_without_a_wrap_up_call_ended_goes_out_after_the_wait(app, phone, session, hooks):
    call = phone("+4915112345678")
    call.dial()
    interaction = session.scalar(select(Interaction).where(Interaction.call_sid == call.call_sid))
    session.add(
        Task(
            call_sid=call.call_sid,
            interaction_id=interaction.id,
            queue="service",
            language="de",
            connected_at=utcnow(),
        )
    )
    session.commit()
    call.hang_up()
    assert deliver(app) == 0
    assert deliver(app, later=timedelta(seconds=app.config["WEBHOOK_WRAPUP_WAIT"] + 1)) == 1
    assert hooks.received[0]["json"]["data"]["disposition"] is None


def test_sent_events_are_deleted_after_a_week(app, client, session, hooks, history_key, runner):
    from sqlalchemy import update

    from ivr.cli import main

    client.post("/api/interactions", json=TICKET, headers=history_key)
    client.post("/api/interactions", json={**TICKET, "subject": "zweite"}, headers=history_key)
    deliver(app)
    session.execute(
        update(WebhookDelivery)
        .values(delivered_at=utcnow() - timedelta(days=8))
        .where(WebhookDelivery.id == session.scalar(select(WebhookDelivery.id).limit(1)))
    )
    session.commit()
    result = runner.invoke(main, ["customers", "prune"])
    assert "and 1 sent webhook events" in result.output
    session.rollback()
    assert len(session.scalars(select(WebhookDelivery)).all()) == 1


def test_the_worker_command_delivers_and_refuses_without_configuration(
    app, client, runner, receiver, history_key
):
    from ivr.cli import main

    refused = runner.invoke(main, ["webhooks", "worker", "--once"])
    assert refused.exit_code != 0 and "IVR_WEBHOOK_URLS" in refused.output
    state, url = receiver
    app.config.update(WEBHOOK_URLS=[url], WEBHOOK_SECRET=SECRET, WEBHOOK_ALLOW_PRIVATE=True)
    client.post("/api/interactions", json=TICKET, headers=history_key)
    result = runner.invoke(main, ["webhooks", "worker", "--once"])
    assert result.exit_code == 0 and "delivered 1 events" in result.output
    assert [h["json"]["event"] for h in state.received] == ["interaction.created"]


def test_no_personal_data_in_logs_while_contacts_come_and_webhooks_fail(
    app, client, hooks, history_key, caplog
):
    import logging

    caplog.set_level(logging.DEBUG)
    hooks.statuses = [500]
    body = {
        "channel": "chat",
        "subject": "Lieferadresse 10115 Berlin",
        "customer": {"phone": "0151 12345678", "email": "erika@example.de", "name": "Erika Mustermann"},
    }
    client.post("/api/interactions", json=body, headers=history_key)
    client.post("/api/customers/search", json={"phone": "0151 12345678"}, headers=history_key)
    client.get("/api/customers?phone=%2B4915112345678", headers=history_key)
    deliver(app)
    assert any("webhook delivery" in r.getMessage() for r in caplog.records)  # the failure is logged
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("12345678", "erika", "Mustermann", "10115", "Lieferadresse"):
        assert secret not in logged
