"""Customer search in a real browser: type, search, open the customer, see every channel."""

from __future__ import annotations

from tests.desk.conftest import PASSWORD
from tests.desk.test_browser import CHROMIUM, live_server, page, playwright_api, pytestmark  # noqa: F401
from tests.desk.test_customer_search import _erika


def test_an_agent_finds_a_customer_and_sees_all_channels(app, live_server, page, create_user, session):  # noqa: F811
    customer_id = _erika(session)
    create_user("anna@shop.example")
    expect = playwright_api.expect

    page.goto("/console/")
    page.get_by_label("E-Mail").fill("anna@shop.example")
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.get_by_role("link", name="Kunden").click()
    page.get_by_label("Telefon, E-Mail, Bestellnummer oder Name").fill("0151 12345678")
    page.get_by_role("button", name="Suchen").click()
    expect(page.get_by_test_id("results")).to_contain_text("Erika Mustermann")
    assert "12345678" not in page.url  # the search was posted: nothing typed is in the address

    page.get_by_role("link", name="Erika Mustermann").click()
    expect(page).to_have_url(f"{live_server}/console/customers/{customer_id}")
    rows = page.get_by_test_id("contact")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Ticket")
    expect(rows.nth(1)).to_contain_text("Rechnung fehlt")
    expect(rows.nth(2)).to_contain_text("Anruf")
    expect(rows.nth(0)).to_contain_text("<script>alert(1)</script>")  # shown as text, not run
