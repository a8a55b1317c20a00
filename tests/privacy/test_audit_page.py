"""The console's privacy audit: supervisors and admins see who read whose data; agents do not."""

from __future__ import annotations

from ivr.cli import main
from tests.desk.conftest import sign_in
from tests.desk.test_flow_editor import sign_in_admin
from tests.privacy.conftest import ANNA, seed


def test_supervisor_sees_exports_and_erasures_without_personal_data(
    app, client, create_user, runner, session, fake_twilio
):
    seed(session, ANNA)
    session.commit()
    assert runner.invoke(main, ["privacy", "export", ANNA.email]).exit_code == 0
    assert runner.invoke(main, ["privacy", "erase", ANNA.email, "--yes"]).exit_code == 0
    sign_in_admin(client, create_user, "lea@shop.example", role="supervisor")
    page = client.get("/console/privacy/audit", headers={"Accept-Language": "de"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Datenschutz-Protokoll" in html and "exportiert" in html and "gelöscht" in html
    for trace in ANNA.traces:
        assert trace not in html


def test_agents_may_not_see_the_audit(client, create_user):
    create_user("tom@shop.example", role="agent")
    sign_in(client, "tom@shop.example")
    assert client.get("/console/privacy/audit").status_code == 403
    client.get("/console/logout")


def test_signed_out_visitors_are_sent_to_sign_in(app):
    resp = app.test_client().get("/console/privacy/audit")
    assert resp.status_code == 302 and "/console/login" in resp.headers["Location"]


def test_an_agent_offered_a_call_is_audited_as_reading_the_callers_data(
    phone, fake, available_agent, session
):
    from sqlalchemy import select

    from ivr.models import Customer
    from ivr.privacy.models import AuditEntry

    agent = available_agent()
    caller = phone(ANNA.phone)
    caller.dial()
    assert caller.press("0").verb == "Enqueue"
    customer_id = session.scalar(select(Customer.id).where(Customer.phone == ANNA.phone))
    [entry] = session.scalars(select(AuditEntry)).all()
    assert (entry.actor, entry.action, entry.customer_id, entry.what) == (
        f"user:{agent['id']}",
        "read",
        customer_id,
        "call screen",
    )


def test_reading_the_history_on_the_command_line_is_audited(runner, session, phone):
    from sqlalchemy import select

    from ivr.privacy.models import AuditEntry

    caller = phone(ANNA.phone)
    caller.dial()
    caller.hang_up()
    assert runner.invoke(main, ["history", ANNA.phone]).exit_code == 0
    [entry] = session.scalars(select(AuditEntry)).all()
    assert (entry.actor, entry.action, entry.what) == ("cli", "read", "history")
