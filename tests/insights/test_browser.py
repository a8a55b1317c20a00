"""The supervisor pages in a real browser (Debian's Chromium driven by Playwright)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pyotp

from ivr.desk import routing
from tests.desk.conftest import PASSWORD
from tests.desk.test_browser import live_server, page, playwright_api, pytestmark  # noqa: F401
from tests.insights.conftest import answered


def sign_in_supervisor(page, create_user):  # noqa: F811
    boss = create_user("chef@shop.example", role="supervisor", name="Chef")
    page.get_by_label("E-Mail").fill(boss["email"])
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.get_by_label("Code").fill(pyotp.TOTP(boss["totp_secret"]).now())
    page.get_by_role("button", name="Bestätigen").click()


def test_the_wallboard_shows_a_new_caller_within_a_second(app, live_server, page, create_user, session):  # noqa: F811
    expect = playwright_api.expect
    page.goto("/console/wallboard")
    sign_in_supervisor(page, create_user)
    expect(page.get_by_role("heading", name="Wallboard")).to_be_visible()
    page.wait_for_function("document.body.dataset.boardUpdated")  # the live stream is open

    routing.enqueue(session, "CA" + "7" * 32, "service", "de", app.config["CLOCK"]() - timedelta(seconds=30))
    session.commit()
    changed = time.monotonic()

    expect(page.get_by_test_id("waiting-service")).to_have_text("1", timeout=1000)
    assert time.monotonic() - changed < 1.5  # pushed, not polled by a reload
    expect(page.get_by_role("heading", name="Warteschlangen")).to_be_visible()
    page.close()


def test_the_report_draws_its_chart_and_compares_periods(app, live_server, page, create_user, stream):  # noqa: F811
    expect = playwright_api.expect
    s = stream()
    agent = s.agent()
    t0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
    s.call(t0, "+4915100000001", intent="delivery", events=answered(10, 100, agent))
    s.call(t0 + timedelta(days=2), "+4915100000002", outcome="self_service")
    s.call(t0 - timedelta(days=7), "+4915100000003", events=answered(60, 100, agent))
    s.session.commit()

    page.goto("/console/reports?from=2026-05-04&to=2026-05-10&by=day")
    sign_in_supervisor(page, create_user)

    expect(page.get_by_role("heading", name="Berichte")).to_be_visible()
    expect(page.get_by_test_id("now-contacts")).to_have_text("2")
    expect(page.get_by_test_id("before-contacts")).to_have_text("1")
    expect(page.locator("#report-chart")).to_have_attribute("data-points", "7", timeout=15_000)
    tip = page.locator("[data-figure=service_level] abbr").get_attribute("title")
    assert "innerhalb von 20 s" in tip
    page.get_by_label("Gruppieren nach").select_option("intent")
    page.get_by_role("button", name="Anzeigen").click()
    expect(page.locator("#report-chart")).to_have_attribute("data-points", "2", timeout=15_000)
    with page.expect_download() as download:
        page.get_by_test_id("csv").click()
    assert download.value.suggested_filename == "kpis-2026-05-04-2026-05-10.csv"
    page.close()
