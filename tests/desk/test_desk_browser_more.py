"""Voicemails and callbacks on the desk in a real browser (Debian's Chromium via Playwright).

Twilio's REST API is faked at the twilio library's ``HttpClient`` seam, Twilio's media host at
the requests session the service fetches recordings with; every webhook is sent signed.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from ivr.history import customer_history
from tests.callbacks.test_dialing import agent_answers, customer_leg
from tests.desk.conftest import CALLER, PASSWORD
from tests.desk.test_browser import live_server, page  # noqa: F401  (fixtures)
from tests.desk.test_browser import pytestmark as browser_marks
from tests.desk.test_callbacks_desk import ask_for_callback
from tests.desk.test_voicemails import AUDIO, TwilioMedia, _leave_voicemail

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = browser_marks


@pytest.fixture
def media(app) -> TwilioMedia:
    http = requests.Session()
    adapter = TwilioMedia()
    http.mount("https://", adapter)
    app.config["RECORDING_HTTP"] = http
    return adapter


def _sign_in_available(browser_page: Any) -> None:
    browser_page.goto("/console/")
    browser_page.get_by_label("E-Mail").fill("anna@shop.example")
    browser_page.get_by_label("Passwort").fill(PASSWORD)
    browser_page.get_by_role("button", name="Anmelden").click()
    browser_page.get_by_label("Wechseln zu").select_option("available")
    browser_page.get_by_role("button", name="Speichern").click()
    playwright_api.expect(browser_page.get_by_test_id("activity")).to_have_text("Verfügbar")


def test_a_new_voicemail_is_pushed_played_taken_and_done(
    app,
    live_server,  # noqa: F811  (the fixture imported above)
    page,  # noqa: F811
    fake,
    media,
    create_user,
    phone,
    session,
):
    expect = playwright_api.expect
    create_user(skills=("service",), phone="+4930123456")
    _sign_in_available(page)
    expect(page.get_by_test_id("voicemail-badge")).to_have_text("0")

    _leave_voicemail(phone)  # nobody answers; the caller leaves a message for "service"
    expect(page.get_by_test_id("voicemail-badge")).to_have_text("1", timeout=10_000)  # pushed, no reload

    page.get_by_role("link", name="Neue Sprachnachrichten").click()
    item = page.get_by_test_id("voicemail")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("42 s")
    source = page.locator("audio").get_attribute("src")
    assert source is not None and source.startswith("/console/voicemails/")
    assert "twilio" not in page.content()
    played = page.evaluate(
        """async (src) => {
             const r = await fetch(src);
             return [r.status, r.headers.get("content-type"), (await r.arrayBuffer()).byteLength];
           }""",
        source,
    )
    assert played == [200, "audio/mpeg", len(AUDIO)]
    [sent] = media.sent
    assert sent.headers["Authorization"].startswith("Basic ")  # our credentials, from the server

    page.get_by_test_id("take-voicemail").click()
    expect(item).to_contain_text("zugewiesen an Anna")
    page.get_by_label("Notiz").fill("Rückruf vereinbart")
    page.get_by_test_id("voicemail-done").click()
    expect(page.get_by_role("alert")).to_contain_text("In der Kundenhistorie gespeichert.")
    expect(page.get_by_test_id("no-voicemails")).to_be_visible()
    session.rollback()
    [entry] = customer_history(session, CALLER)
    [done] = [e for e in entry["events"] if e["kind"] == "voicemail_done"]
    assert done["data"]["note"] == "Rückruf vereinbart"


def test_callback_from_the_desk_rings_the_agent_first_and_the_outcome_is_recorded(
    app,
    live_server,  # noqa: F811  (the fixture imported above)
    page,  # noqa: F811
    fake,
    create_user,
    phone,
    twilio_post,
    session,
):
    expect = playwright_api.expect
    app.config["CALLBACK_CALLER_ID"] = "+4930555000"
    ask_for_callback(phone)
    create_user(skills=("service",), phone="+4930123456")
    _sign_in_available(page)

    page.get_by_role("button", name="Nächsten Rückruf übernehmen").click()
    mine = page.get_by_test_id("my-callback")
    expect(mine).to_contain_text("+49 1511 2345678")
    expect(page.get_by_test_id("callback-attempts")).to_have_text("0")
    page.get_by_test_id("callback-call").click()
    expect(page.get_by_role("alert")).to_contain_text("Zuerst klingelt Ihr Telefon")
    expect(page.get_by_test_id("callback-dialing")).to_be_visible()
    expect(page.get_by_test_id("activity")).to_have_text("Im Gespräch")

    [call] = fake.calls  # exactly one request to Twilio: the agent's phone, first
    assert (call.to, call.from_) == ("+4930123456", "+4930555000")
    brief = agent_answers(twilio_post, call)
    assert (brief.find("Dial").findtext("Number") or "").strip() == CALLER
    customer_leg(twilio_post, call, "completed")
    assert len(fake.calls) == 1

    page.reload()
    expect(page.get_by_test_id("my-callback")).to_have_count(0)
    expect(page.get_by_test_id("activity")).to_have_text("Verfügbar")
    session.rollback()
    kinds = [e["kind"] for entry in customer_history(session, CALLER) for e in entry["events"]]
    assert "callback_dial" in kinds
