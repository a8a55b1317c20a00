"""``call.ended`` of a call an agent took carries the agent's wrap-up, sent once it is saved."""

from __future__ import annotations

from sqlalchemy import select

from ivr.customers.outbox import WebhookSettings, deliver_due
from ivr.db import session_factory
from ivr.models import Interaction
from tests.customers.conftest import receiver  # noqa: F401  (the fixture)
from tests.desk.conftest import CALLER, agent_leg, hidden_value, post_form


def test_call_ended_waits_for_the_wrap_up_and_carries_it(
    app,
    phone,
    fake,
    available_agent,
    twilio_post,
    session,
    receiver,  # noqa: F811
):
    state, url = receiver
    app.config.update(WEBHOOK_URLS=[url], WEBHOOK_SECRET="whsec-0123456789abcdef", WEBHOOK_ALLOW_PRIVATE=True)
    settings = WebhookSettings.from_config(app.config)
    agent = available_agent()
    caller = phone(CALLER)
    caller.dial()
    caller.press("0")
    [placed] = fake.calls
    agent_leg(twilio_post, placed)
    agent_leg(twilio_post, placed, "completed")
    caller.hang_up()
    assert deliver_due(session_factory(app), settings) == 0  # the agent is still wrapping up
    page = agent["browser"].get("/console/").get_data(as_text=True)
    post_form(
        agent["browser"],
        "/console/wrapup",
        {"task": hidden_value(page, "task"), "disposition": "follow_up", "note": "Rückruf morgen"},
        page="/console/",
    )
    assert deliver_due(session_factory(app), settings) == 1
    [hit] = state.received
    data = hit["json"]["data"]
    stored = session.scalar(select(Interaction).where(Interaction.call_sid == caller.call_sid))
    assert hit["json"]["event"] == "call.ended"
    assert (data["call_sid"], data["disposition"]) == (caller.call_sid, "follow_up")
    assert (data["outcome"], data["intent"]) == (stored.outcome, stored.intent)
    assert data["outcome"] is not None
    assert "Rückruf morgen" not in hit["body"].decode()  # the agent's note stays in the history
