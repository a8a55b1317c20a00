"""The console's customer search and customer view: every channel in one list, for agents only."""

from __future__ import annotations

from datetime import UTC, datetime

from ivr.models import Customer, Interaction, InteractionEvent, Order
from tests.desk.conftest import CALLER, post_form, sign_in


def _erika(session) -> int:
    """A customer who called, wrote an e-mail, opened a ticket and ordered."""
    customer = Customer(phone=CALLER, email="erika@example.de", name="Erika Mustermann")
    session.add(customer)
    session.flush()
    voice = Interaction(
        customer_id=customer.id,
        channel="voice",
        call_sid="CA" + "2" * 32,
        intent="order_status",
        started_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
    )
    session.add_all(
        [
            voice,
            Interaction(
                customer_id=customer.id,
                channel="email",
                subject="Rechnung fehlt",
                started_at=datetime(2026, 11, 21, 9, 0, tzinfo=UTC),
            ),
            Interaction(
                customer_id=customer.id,
                channel="ticket",
                subject="<script>alert(1)</script>",
                summary="Paket beschädigt",
                external_ref="ZD-1001",
                started_at=datetime(2026, 11, 22, 9, 0, tzinfo=UTC),
            ),
            Order(order_number="4711", customer_id=customer.id, status="shipped"),
            InteractionEvent(
                interaction=voice,
                seq=1,
                kind="wrapup",
                data={"agent": "Anna", "disposition": "resolved", "note": "Sendung neu verschickt"},
            ),
            Customer(name="Max Power", email="max@example.de"),
        ]
    )
    session.commit()
    return customer.id


def search(browser, text):
    return post_form(browser, "/console/customers/", {"query": text})


def test_agents_find_customers_by_phone_email_order_or_name(app, create_user, session):
    customer_id = _erika(session)
    create_user("anna@shop.example")
    browser = app.test_client()
    sign_in(browser, "anna@shop.example")
    for text in ("0151 12345678", "+49 151 1234 5678", "ERIKA@example.de", "4711", "muster"):
        page = search(browser, text)
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert f'href="/console/customers/{customer_id}"' in html, text
        assert "Erika Mustermann" in html and "Max Power" not in html
    nothing = search(browser, "Schmidt").get_data(as_text=True)
    assert "Kein Kunde gefunden." in nothing
    # LIKE wildcards are text, not patterns that list everybody.
    assert "Kein Kunde gefunden." in search(browser, "%%").get_data(as_text=True)
    assert search(browser, "x").status_code == 400


def test_the_customer_view_lists_every_channel_newest_first(app, create_user, session):
    customer_id = _erika(session)
    create_user("anna@shop.example")
    browser = app.test_client()
    sign_in(browser, "anna@shop.example")
    page = browser.get(f"/console/customers/{customer_id}")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    channels = [c for c in ("ticket", "email", "voice") if f'data-channel="{c}"' in html]
    assert channels == ["ticket", "email", "voice"]
    assert (
        html.index('data-channel="ticket"')
        < html.index('data-channel="email"')
        < html.index('data-channel="voice"')
    )
    assert "Anruf" in html and "E-Mail" in html and "Ticket" in html and "Rechnung fehlt" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "ZD-1001" in html and "Kontakte über alle Kanäle" in html
    assert "Bestellstatus" in html and "order_status" not in html
    assert "Gelöst" in html and "Sendung neu verschickt" in html
    assert browser.get("/console/customers/424242").status_code == 404
    assert browser.get(f"/console/customers/{customer_id}?cursor=garbage").status_code == 400


def test_customer_pages_need_a_signed_in_agent(client, session):
    customer_id = _erika(session)
    for path in ("/console/customers/", f"/console/customers/{customer_id}"):
        resp = client.get(path)
        assert resp.status_code == 302 and "/console/login" in resp.headers["Location"]
    assert client.post("/console/customers/", data={"query": "4711"}).status_code in (302, 400)


def test_the_call_screen_shows_earlier_contacts_of_all_channels(phone, fake, available_agent, session):
    customer_id = _erika(session)
    agent = available_agent()
    caller = phone(CALLER)
    caller.dial()
    caller.press("0")
    assert fake.calls, caller.heard
    panel = agent["browser"].get("/console/").get_data(as_text=True)
    assert "Frühere Kontakte" in panel
    assert 'data-channel="email"' in panel and "Rechnung fehlt" in panel
    assert 'data-channel="ticket"' in panel
    assert f'href="/console/customers/{customer_id}"' in panel
