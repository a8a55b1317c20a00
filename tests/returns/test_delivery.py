"""The label by SMS and e-mail, the signed shop webhook: sent by the worker, retried, in the history."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from ivr.db import session_factory
from ivr.returns.delivery import deliver_due
from ivr.returns.messages import verify
from ivr.returns.models import ReturnDelivery, ReturnRequest
from tests.conftest import OPEN_HOURS
from tests.returns.conftest import CALLER, LANDLINE, SMS_FROM, delivered, history_events, register_by_phone
from tests.returns.servers import shop_server, smtp_server

SECRET = "shop-secret-for-tests"


def _return(session) -> ReturnRequest:
    session.rollback()
    return session.scalars(select(ReturnRequest)).one()


def _deliver(app, at=OPEN_HOURS) -> int:
    return deliver_due(session_factory(app), app.config, at)


def test_label_link_goes_out_by_sms_through_twilio_and_is_in_the_history(
    app, phone, create_order, session, fake_twilio
):
    create_order("4711", **delivered())
    caller = register_by_phone(phone)
    assert _deliver(app) == 1
    row = _return(session)
    [sms] = fake_twilio.messages
    assert (sms["To"], sms["From"]) == (CALLER, SMS_FROM)
    assert sms["Body"] == (
        f"Ihre Rücksendung {row.return_number} ist angemeldet. "
        f"Ihr Rücksendeetikett: https://shop.example/returns/label/{row.label_token}"
    )
    assert fake_twilio.hosts == ["api.twilio.test"]  # the configured REST edge, as for calls
    assert (row.state, row.label_sent_at) == ("label_sent", OPEN_HOURS)
    [event] = history_events(session, caller.call_sid, "return_delivery")
    assert event == {"return_number": row.return_number, "kind": "sms", "attempt": 1, "result": "sent"}
    assert _deliver(app, OPEN_HOURS + timedelta(hours=1)) == 0  # sent once


def test_sms_is_retried_with_backoff_after_a_twilio_error(app, phone, create_order, session, fake_twilio):
    create_order("4711", **delivered())
    caller = register_by_phone(phone, language="en")
    fake_twilio.message_failures = [503, 429]
    _deliver(app)
    assert _deliver(app, OPEN_HOURS + timedelta(seconds=10)) == 0  # not due yet
    _deliver(app, OPEN_HOURS + timedelta(seconds=31))
    _deliver(app, OPEN_HOURS + timedelta(minutes=3))
    [sms] = fake_twilio.messages
    assert sms["Body"].startswith("Your return ") and "Your return label: https://shop.example" in sms["Body"]
    results = [
        (e["attempt"], e["result"]) for e in history_events(session, caller.call_sid, "return_delivery")
    ]
    assert results == [(1, "retry"), (2, "retry"), (3, "sent")]
    first = history_events(session, caller.call_sid, "return_delivery")[0]
    assert first["error"] == "Twilio answered 503 (error 20500)"
    assert first["next_attempt_at"] == (OPEN_HOURS + timedelta(seconds=30)).isoformat()


def test_label_goes_by_email_for_a_landline(app, phone, create_order, session):
    create_order("4711", **delivered(phone=LANDLINE))
    with smtp_server() as (port, mailbox):
        app.config.update(
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=port,
            SMTP_FROM="service@shop.example",
            RETURNS_LABEL_URL="https://shop.example/l/{token}",
        )
        mailbox.reject = [451]  # greylisted once
        caller = register_by_phone(phone, LANDLINE)
        _deliver(app)
        assert mailbox.messages == []
        _deliver(app, OPEN_HOURS + timedelta(seconds=30))
    row = _return(session)
    [(sender, recipients, message)] = mailbox.messages
    assert (sender, recipients) == ("service@shop.example", ["erika@example.de"])
    assert message["Subject"] == f"Ihre Rücksendung {row.return_number}"
    body = message.get_content()
    assert f"Rücksendung {row.return_number} zur Bestellung 4711 angemeldet" in body
    assert f"https://shop.example/l/{row.label_token}" in body
    assert row.state == "label_sent"
    results = [e["result"] for e in history_events(session, caller.call_sid, "return_delivery")]
    assert results == ["retry", "sent"]


def test_a_refused_address_is_not_retried(app, phone, create_order, session):
    create_order("4711", **delivered(phone=LANDLINE))
    with smtp_server() as (port, mailbox):
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
        mailbox.reject = [550]
        caller = register_by_phone(phone, LANDLINE)
        _deliver(app)
        assert _deliver(app, OPEN_HOURS + timedelta(days=1)) == 0
    [event] = history_events(session, caller.call_sid, "return_delivery")
    assert (event["result"], event["error"]) == ("failed", "SMTP server answered 550")
    assert _return(session).state == "registered"


def test_shop_webhook_is_signed_and_retried(app, phone, create_order, session, fake_twilio):
    create_order("4711", **delivered())
    with shop_server() as (url, shop):
        app.config.update(RETURNS_WEBHOOK_URL=url, RETURNS_WEBHOOK_SECRET=SECRET)
        shop.statuses = [500]
        caller = register_by_phone(phone)
        _deliver(app)
        _deliver(app, OPEN_HOURS + timedelta(seconds=30))
    row = _return(session)
    assert len(shop.received) == 2
    for headers, body in shop.received:
        assert verify(SECRET, headers["X-Hotline-Timestamp"], body, headers["X-Hotline-Signature"])
        assert not verify(
            "another secret", headers["X-Hotline-Timestamp"], body, headers["X-Hotline-Signature"]
        )
    assert shop.received[0][0]["X-Hotline-Delivery"] == shop.received[1][0]["X-Hotline-Delivery"]
    payload = json.loads(shop.received[1][1])
    assert payload["return_number"] == row.return_number
    assert (payload["order_number"], payload["items"], payload["reason"]) == (
        "4711",
        ["Wanderschuhe"],
        "wrong_size",
    )
    raw = shop.received[1][1].decode()
    for personal in (CALLER, "Mustermann", "10115", "erika@"):
        assert personal not in raw
    events = history_events(session, caller.call_sid, "return_delivery")
    shop_results = [(e["attempt"], e["result"]) for e in events if e["kind"] == "shop"]
    assert shop_results == [(1, "retry"), (2, "sent")]


@pytest.mark.parametrize("url", ["http://shop.example/hook", "ftp://127.0.0.1/x"])
def test_shop_webhook_leaves_the_machine_only_over_https(app, phone, create_order, session, fake_twilio, url):
    create_order("4711", **delivered())
    app.config.update(RETURNS_WEBHOOK_URL=url, RETURNS_WEBHOOK_SECRET=SECRET)
    register_by_phone(phone)
    _deliver(app)
    session.rollback()
    shop = session.scalars(select(ReturnDelivery).where(ReturnDelivery.kind == "shop")).one()
    assert (shop.state, shop.last_error) == ("failed", "the shop webhook must be an https:// URL")


def test_a_claimed_delivery_is_sent_by_one_worker_only(app, phone, create_order, session, fake_twilio):
    from ivr.returns.delivery import claim_due

    create_order("4711", **delivered())
    register_by_phone(phone)
    sessions = session_factory(app)
    with sessions() as first:
        assert len(claim_due(first, OPEN_HOURS)) == 1
        first.commit()
    with sessions() as second:
        assert claim_due(second, OPEN_HOURS) == []  # leased
        assert len(claim_due(second, OPEN_HOURS + timedelta(minutes=3))) == 1  # the lease ran out
        second.commit()


def test_no_personal_data_in_logs(app, phone, create_order, caplog, fake_twilio):
    caplog.set_level(logging.DEBUG)
    create_order("4711", **delivered())
    register_by_phone(phone)
    _deliver(app)
    assert "return delivery" in caplog.text
    for secret in (CALLER, "Mustermann", "erika@example.de", "10115", "Wanderschuhe"):
        assert secret not in caplog.text


def test_the_worker_command_drains_the_queue(app, runner, phone, create_order, fake_twilio):
    from ivr.cli import main

    create_order("4711", **delivered())
    register_by_phone(phone)
    result = runner.invoke(main, ["returns", "worker", "--drain"])
    assert result.exit_code == 0, result.output
    assert "1 messages attempted" in result.output
    assert len(fake_twilio.messages) == 1
