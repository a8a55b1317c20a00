"""Agents work the returns the shop's webhook would otherwise take, in the console."""

from __future__ import annotations

from html import unescape

from sqlalchemy import select

from ivr.returns.models import ReturnRequest
from tests.desk.conftest import post_form, sign_in
from tests.returns.conftest import CALLER, delivered, register_by_phone


def test_agent_sees_new_returns_and_marks_the_label_sent(
    app, client, create_user, phone, create_order, session
):
    create_order("4711", **delivered(phone="+493012345678", email=""))  # neither SMS nor e-mail possible
    register_by_phone(phone, "+493012345678")
    number = session.scalars(select(ReturnRequest.return_number)).one()
    create_user("anna@shop.example", role="agent")
    sign_in(client, "anna@shop.example")
    page = unescape(client.get("/console/returns/").get_data(as_text=True))
    assert f'data-testid="return-{number}"' in page
    assert "Wanderschuhe" in page and "Rücksendungen, die auf ein Etikett warten" in page
    resp = post_form(client, f"/console/returns/{number}/label-sent", {}, page="/console/returns/")
    assert resp.status_code == 302
    page = unescape(client.get("/console/returns/").get_data(as_text=True))
    assert "Keine Rücksendung wartet." in page
    session.rollback()
    assert session.scalars(select(ReturnRequest.state)).one() == "label_sent"


def test_with_a_shop_webhook_only_returns_without_a_label_way_are_listed(
    app, client, create_user, phone, create_order, fake_twilio
):
    app.config.update(RETURNS_WEBHOOK_URL="https://shop.example/hook", RETURNS_WEBHOOK_SECRET="s")
    create_order("4711", **delivered())
    register_by_phone(phone, CALLER)  # mobile: SMS; the shop gets it by webhook
    create_user("anna@shop.example", role="agent")
    sign_in(client, "anna@shop.example")
    assert "Keine Rücksendung wartet." in unescape(client.get("/console/returns/").get_data(as_text=True))


def test_the_list_needs_a_signed_in_agent(client):
    resp = client.get("/console/returns/")
    assert resp.status_code == 302 and "/console/login" in resp.headers["Location"]
    assert client.post("/console/returns/12345678/label-sent").status_code in (302, 400)
