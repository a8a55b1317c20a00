"""The flow editor in a real browser (Debian's Chromium driven by Playwright).

An admin edits a prompt, sees a validation error at its line, fixes it, publishes, and places a
test call that hears the new prompt and answers with a key.
"""

from __future__ import annotations

import pyotp

from ivr.flows.store import SHIPPED_FLOWS
from tests.desk.conftest import PASSWORD
from tests.desk.test_browser import live_server, page, playwright_api, pytestmark  # noqa: F401

HOTLINE = (SHIPPED_FLOWS / "hotline.yaml").read_text(encoding="utf-8")
GREETING = "Guten Tag und willkommen beim Kundenservice."


def test_admin_edits_publishes_and_test_calls_a_flow(app, live_server, page, create_user):  # noqa: F811
    admin = create_user("chef@shop.example", role="admin", name="Chef")
    expect = playwright_api.expect

    page.goto("/console/flows/hotline")
    page.get_by_label("E-Mail").fill(admin["email"])
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.get_by_label("Code").fill(pyotp.TOTP(admin["totp_secret"]).now())
    page.get_by_role("button", name="Bestätigen").click()
    expect(page.get_by_role("heading", name="hotline", exact=True)).to_be_visible()

    editor = page.get_by_label("Ablauf (YAML)")
    assert editor.input_value() == HOTLINE
    edited = HOTLINE.replace(GREETING, "Willkommen beim Testshop.")
    broken = edited.replace("    next: main_menu\n", "    next: main_manu\n", 1)
    line = broken.splitlines().index("    next: main_manu") + 1
    editor.fill(broken)
    page.get_by_role("button", name="Prüfen").click()
    expect(page.get_by_test_id(f"problem-line-{line}")).to_contain_text("unknown target 'main_manu'")
    expect(page.get_by_label("Ablauf (YAML)")).to_have_value(broken)  # nothing lost

    page.get_by_label("Ablauf (YAML)").fill(edited)
    page.get_by_role("button", name="Veröffentlichen").click()
    expect(page.get_by_role("alert")).to_contain_text("hotline v2 veröffentlicht")
    expect(page.get_by_test_id("versions")).to_contain_text("chef@shop.example")

    page.get_by_role("button", name="Testanruf starten").click()
    transcript = page.get_by_test_id("transcript")
    expect(transcript).to_contain_text("Willkommen beim Testshop.")
    page.get_by_label("Tasten").fill("2")
    page.get_by_role("button", name="Drücken").click()
    expect(transcript).to_contain_text("Sie: 2")
    expect(transcript).to_contain_text("Rücksendung")
