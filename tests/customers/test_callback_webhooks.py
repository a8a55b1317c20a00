"""A callback the hotline made is a call too: its end is announced with ``call.ended``."""

from __future__ import annotations

from datetime import timedelta

from ivr.customers.outbox import WebhookSettings, deliver_due
from ivr.db import session_factory
from ivr.models._types import utcnow
from tests.callbacks.test_dialing import (  # noqa: F401  (fixtures)
    clock,
    customer_leg,
    dialer,
    fake,
    requested,
    sleeps,
    webhook,
)

SECRET = "whsec-0123456789abcdef"


def test_a_finished_callback_sends_call_ended(app, requested, dialer, fake, twilio_post, receiver):  # noqa: F811
    state, url = receiver
    app.config.update(WEBHOOK_URLS=[url], WEBHOOK_SECRET=SECRET, WEBHOOK_ALLOW_PRIVATE=True)
    dialer().run(drain=True)
    [call] = fake.calls
    customer_leg(twilio_post, call, "completed")
    assert (
        deliver_due(session_factory(app), WebhookSettings.from_config(app.config), utcnow() + timedelta(1))
        == 1
    )
    [hit] = state.received
    assert hit["json"]["event"] == "call.ended"
    data = hit["json"]["data"]
    assert (data["call_sid"], data["outcome"], data["status"]) == (call.sid, "callback", "completed")
    # Twilio repeating the status callback sends nothing twice.
    webhook(twilio_post, call.status_callback, call, CallStatus="completed", CallDuration="42")
    assert (
        deliver_due(session_factory(app), WebhookSettings.from_config(app.config), utcnow() + timedelta(2))
        == 0
    )
    assert len(state.received) == 1
