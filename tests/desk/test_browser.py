"""The agent desk in a real browser (Debian's Chromium driven by Playwright).

A caller presses 0 on a simulated phone that posts signed webhooks over HTTP to a live server;
the signed-in agent's screen shows the offer with the caller's context, pushed, no reload.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from ivr.desk.views import open_streams
from ivr.history import customer_history
from ivr.simulator import OverHttp, Phone
from tests.conftest import AUTH_TOKEN
from tests.desk.conftest import CALLER, PASSWORD, agent_leg

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.browser,
    # CI installs chromium (.ci/run): there a missing browser fails instead of skipping.
    pytest.mark.skipif(
        CHROMIUM is None and not os.environ.get("CI"), reason="Debian's chromium is not installed"
    ),
]
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app served over HTTP on a free loopback port, for the browser and the phone."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    # Live streams notice the closed browser at their next keep-alive; let them end (and give
    # their database connections back) before the app's engine is disposed.
    deadline = time.monotonic() + 15
    while open_streams() and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.fixture
def page(live_server: str) -> Iterator[Any]:
    """A fresh browser page (German, like the shop's agents)."""
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM or "chromium", args=BROWSER_ARGS)
        context = browser.new_context(locale="de-DE", base_url=live_server)
        yield context.new_page()
        context.close()
        browser.close()


def test_agent_sees_the_offer_take_the_call_and_wrap_up(
    app, live_server, page, fake, create_user, twilio_post, session
):
    create_user(skills=("service",), phone="+4930123456")
    expect = playwright_api.expect

    page.goto("/console/")
    page.get_by_label("E-Mail").fill("anna@shop.example")
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.get_by_label("Wechseln zu").select_option("available")
    page.get_by_role("button", name="Speichern").click()
    expect(page.get_by_test_id("activity")).to_have_text("Verfügbar")

    caller = Phone(OverHttp(live_server, AUTH_TOKEN), from_number=CALLER)
    caller.dial()
    caller.press("0")

    call = page.get_by_test_id("call")
    expect(call).to_contain_text("Eingehender Anruf", timeout=10_000)  # pushed, the page is not reloaded
    expect(page.get_by_test_id("caller-number")).to_have_text("+49 1511 2345678")
    expect(page.get_by_test_id("activity")).to_have_text("Klingelt")
    [placed] = fake.calls
    assert placed.to == "+4930123456"

    agent_leg(twilio_post, placed)
    expect(call).to_contain_text("Im Gespräch", timeout=10_000)
    assert [sid for sid, _form in fake.updates] == [caller.call_sid]
    agent_leg(twilio_post, placed, "completed")
    expect(page.get_by_test_id("activity")).to_have_text("Nachbearbeitung", timeout=10_000)

    page.get_by_label("Ergebnis", exact=True).select_option("resolved")
    page.get_by_label("Notiz").fill("Lieferadresse korrigiert")
    page.get_by_role("button", name="Ergebnis speichern").click()
    expect(page.get_by_role("alert")).to_contain_text("In der Kundenhistorie gespeichert.")
    expect(page.get_by_test_id("activity")).to_have_text("Verfügbar")

    [entry] = customer_history(session, CALLER)
    [wrapup] = [e for e in entry["events"] if e["kind"] == "wrapup"]
    assert wrapup["data"]["note"] == "Lieferadresse korrigiert"
