"""The supervisor pages: wallboard (server-rendered and pushed), reports, CSV export, roles."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pyotp

from ivr.desk.models import Task
from tests.desk.conftest import post_form, sign_in
from tests.insights.conftest import answered

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


def supervisor(client, create_user):
    boss = create_user("chef@shop.example", role="supervisor", name="Chef")
    sign_in(client, boss["email"])
    post_form(client, "/console/login/code", {"code": pyotp.TOTP(boss["totp_secret"]).now()})
    return boss


def test_agents_may_not_see_the_supervisor_pages(client, create_user):
    agent = create_user()
    sign_in(client, agent["email"])
    for path in (
        "/console/wallboard",
        "/console/reports",
        "/console/reports.csv?from=2026-05-04&to=2026-05-04",
    ):
        assert client.get(path).status_code == 403, path
    assert client.get("/console/wallboard/events").status_code == 403


def test_report_compares_with_the_previous_period_and_exports_csv(client, create_user, stream):
    s = stream()
    agent = s.agent()
    # this week: 2 calls, one answered after 10 s; the week before: 1 call answered after 60 s
    s.call(T0, "+4915100000001", intent="delivery", events=answered(10, 100, agent))
    s.call(T0 + timedelta(days=1), "+4915100000002", outcome="self_service", intent="order_status")
    s.call(T0 - timedelta(days=7), "+4915100000003", events=answered(60, 100, agent))
    s.session.commit()
    supervisor(client, create_user)

    page = client.get("/console/reports?from=2026-05-04&to=2026-05-10&by=day")
    html = page.get_data(as_text=True)
    export = client.get("/console/reports.csv?from=2026-05-04&to=2026-05-10&by=intent")

    assert page.status_code == 200
    assert 'data-testid="now-contacts">2<' in html and 'data-testid="before-contacts">1<' in html
    assert 'data-testid="now-service_level">100.0 %<' in html
    assert 'data-testid="before-service_level">0.0 %<' in html
    assert "within 20 s" in html or "innerhalb von 20 s" in html  # the definition as a tooltip
    data = json.loads(html.split('id="report-data">')[1].split("</script>")[0])
    assert data["labels"][:2] == ["2026-05-04", "2026-05-05"] and data["calls"][:2] == [1, 1]
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True))))
    assert export.headers["Content-Type"].startswith("text/csv")
    assert rows[0][:3] == ["intent", "contacts", "queued"]
    assert [r[0] for r in rows[1:]] == ["delivery", "order_status", "total"]
    assert rows[-1][1] == "2"


def test_report_refuses_a_bad_period_with_a_message(client, create_user):
    supervisor(client, create_user)
    page = client.get("/console/reports?from=2026-05-10&to=2026-05-04")
    assert page.status_code == 400
    assert 'role="alert"' in page.get_data(as_text=True)


def test_wallboard_shows_waiting_callers_and_pushes_changes(app, client, create_user, session):
    supervisor(client, create_user)
    now = app.config["CLOCK"]()
    session.add(
        Task(call_sid="CA" + "1" * 32, queue="service", language="de", arrived_at=now - timedelta(seconds=95))
    )
    session.commit()

    html = client.get("/console/wallboard").get_data(as_text=True)
    stream = client.get("/console/wallboard/events")
    chunks = stream.response  # the live stream, read as the browser would
    first = ""
    while "event: wallboard" not in first:
        first += next(chunks).decode()
    stream.close()

    assert 'data-testid="waiting-service" class="big">1<' in html
    assert 'data-wait="95"' in html
    payload = json.loads(first.split("data: ", 1)[1].split("\n")[0])
    assert 'data-testid="waiting-service" class="big">1<' in payload["board"]


def test_report_by_agent_names_the_agents(client, create_user, stream):
    s = stream()
    agent = s.agent("bea@shop.example", "Bea Beispiel")
    s.call(T0, "+4915100000001", events=answered(10, 100, agent))
    s.session.commit()
    supervisor(client, create_user)

    html = client.get("/console/reports?from=2026-05-04&to=2026-05-04&by=agent").get_data(as_text=True)

    assert "<tr><td>Bea Beispiel</td>" in html
    assert json.loads(html.split('id="report-data">')[1].split("</script>")[0])["labels"] == ["Bea Beispiel"]


def test_wallboard_shows_the_alarms_of_the_last_day(app, client, create_user, session):
    from ivr.insights.alarms_store import Alarm

    supervisor(client, create_user)
    assert 'data-testid="alarms"' not in client.get("/console/wallboard").get_data(as_text=True)
    now = app.config["CLOCK"]()
    for subject, age in (("complaint", timedelta(minutes=5)), ("delivery_issue", timedelta(days=2))):
        session.add(
            Alarm(
                kind="count",
                subject=subject,
                window_start=now - age - timedelta(hours=1),
                window_end=now - age,
                observed=14,
                expected=3.2,
                score=4.1,
                created_at=now - age,
            )
        )
    session.commit()

    html = client.get("/console/wallboard").get_data(as_text=True)

    assert 'data-testid="alarms"' in html
    assert "complaint:" in html and "14 beobachtet, 3.2 erwartet" in html
    assert "delivery_issue" not in html  # older than a day
