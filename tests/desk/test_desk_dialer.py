"""Console users are the dialer's agents: one click calls agent first; presence decides who is rung.

Only Twilio's REST API is faked (behind twilio's ``HttpClient`` seam); the webhooks of the
callback legs are sent signed, as Twilio sends them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from callbacks.dialer import Dialer
from callbacks.settings import Settings
from callbacks.telephony import make_client
from ivr.db import session_factory
from ivr.desk.models import AgentActivity
from ivr.models.agent import Agent
from tests.callbacks.fakes import ACCOUNT_SID
from tests.callbacks.test_dialing import agent_answers, customer_leg
from tests.conftest import OPEN_HOURS
from tests.desk.conftest import CALLER, activity, post_form, sign_in
from tests.desk.test_callbacks_desk import ask_for_callback, requests

CALLER_ID = "+4930555000"


def test_one_click_rings_the_agent_first_then_the_customer_and_records_the_outcome(
    app, phone, fake, create_user, client, runner, twilio_post, session
):
    app.config["CALLBACK_CALLER_ID"] = CALLER_ID
    ask_for_callback(phone)
    anna = create_user(phone="+4930123456", skills=("service",))
    sign_in(client, anna["email"])
    post_form(client, "/console/callbacks/next", {}, page="/console/")
    page = client.get("/console/").get_data(as_text=True)
    request_id = page.split('name="request" value="')[1].split('"')[0]

    assert (
        post_form(client, "/console/callbacks/call", {"request": request_id}, page="/console/").status_code
        == 302
    )
    [call] = fake.calls
    assert (call.to, call.from_) == ("+4930123456", CALLER_ID)  # the agent first
    assert call.url.startswith("http://localhost/callbacks/agent?")
    assert activity(session, anna["email"]) == "busy"  # routing offers her no inbound caller now
    assert 'data-testid="callback-dialing"' in client.get("/console/").get_data(as_text=True)

    brief = agent_answers(twilio_post, call)
    assert (brief.find("Dial").findtext("Number") or "").strip() == CALLER  # then the customer
    customer_leg(twilio_post, call, "completed")
    [row] = requests(runner, "completed")
    assert row["attempts"] == 1
    assert activity(session, anna["email"]) == "available"
    logged = session.scalars(
        select(AgentActivity.activity).where(AgentActivity.user_id == anna["id"]).order_by(AgentActivity.id)
    ).all()
    assert logged[-2:] == ["busy", "available"]
    # Completing the completed request from the desk does not overwrite it.
    assert 'data-testid="my-callback"' not in client.get("/console/").get_data(as_text=True)


def test_a_request_cannot_be_called_by_someone_who_did_not_take_it(app, phone, fake, create_user, runner):
    ask_for_callback(phone)
    create_user("anna@shop.example", phone="+4930123456")
    create_user("ben@shop.example", name="Ben", phone="+4930999999")
    anna, ben = app.test_client(), app.test_client()
    sign_in(anna, "anna@shop.example")
    sign_in(ben, "ben@shop.example")
    post_form(anna, "/console/callbacks/next", {}, page="/console/")
    [row] = requests(runner, "claimed")
    post_form(ben, "/console/callbacks/call", {"request": str(row["id"])}, page="/console/")
    assert fake.calls == []
    assert requests(runner, "claimed")[0]["id"] == row["id"]


def test_every_console_user_has_one_linked_dialer_profile(app, create_user, session):
    user = create_user("carla@shop.example", name="Carla", phone=None)
    [agent] = session.scalars(select(Agent)).all()
    assert (agent.user_id, agent.name, agent.phone) == (
        user["id"],
        "carla@shop.example",
        f"client:agent-{user['id']}",
    )


def test_the_dialer_rings_a_console_user_only_while_available_on_the_desk(
    app, phone, fake, create_user, client, runner, session
):
    ask_for_callback(phone)
    anna = create_user(phone="+4930123456", skills=("service",))
    settings = replace(Settings.from_config(app.config), caller_id=CALLER_ID)
    config = {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": app.config["TWILIO_AUTH_TOKEN"]}
    dialer = Dialer(
        session_factory(app),
        make_client(config, fake),
        settings,
        "http://localhost",
        CALLER_ID,
        name="worker",
        clock=lambda: app.config["CLOCK"](),
        sleep=lambda _s: None,
    )
    assert dialer.run_once() == 0  # offline on the desk: not rung
    assert fake.calls == []
    sign_in(client, anna["email"])
    post_form(client, "/console/presence", {"activity": "available"}, page="/console/")
    app.config["CLOCK"] = lambda: OPEN_HOURS + timedelta(minutes=1)  # the no-agent pause is over
    assert dialer.run_once() == 1
    assert [c.to for c in fake.calls] == ["+4930123456"]
    assert activity(session, anna["email"]) == "busy"
    assert requests(runner, "dialing")
