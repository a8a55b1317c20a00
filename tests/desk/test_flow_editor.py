"""The flow editor at /console/flows: only admins, the CLI's verbs, a test call through the webhooks."""

from __future__ import annotations

import re
from html import unescape

import pyotp
import pytest
from sqlalchemy import func, select

from callbacks.models import CallbackRequest
from ivr.desk.models import Task
from ivr.flows.store import SHIPPED_FLOWS, flow_versions
from ivr.models import Customer, Interaction
from tests.desk.conftest import csrf_token, post_form, sign_in

HOTLINE = (SHIPPED_FLOWS / "hotline.yaml").read_text(encoding="utf-8")
GREETING = "Guten Tag und willkommen beim Kundenservice."


def sign_in_admin(client, create_user, email: str = "chef@shop.example", role: str = "admin") -> None:
    """Password, then the authenticator code."""
    user = create_user(email, role=role, name="Chef")
    sign_in(client, email)
    code = pyotp.TOTP(user["totp_secret"]).now()
    assert post_form(client, "/console/login/code", {"code": code}).status_code == 302


@pytest.fixture
def admin(client, create_user):
    """A client signed in as an admin (chef@shop.example)."""
    sign_in_admin(client, create_user)
    return client


def text(resp) -> str:
    return unescape(resp.get_data(as_text=True))


def edit(client, source: str, action: str):
    return post_form(client, "/console/flows/hotline", {"source": source, "action": action})


@pytest.mark.parametrize("role", ["agent", "supervisor"])
def test_only_admins_reach_the_flow_editor(app, client, create_user, role):
    if role == "agent":
        create_user("anna@shop.example", role="agent")
        sign_in(client, "anna@shop.example")
    else:
        sign_in_admin(client, create_user, "sup@shop.example", role)
    assert "/console/flows" not in client.get("/console/").get_data(as_text=True)
    for path in ("/console/flows/", "/console/flows/hotline", "/console/flows/hotline/v1/diff"):
        assert client.get(path).status_code == 403, path
    assert client.post("/console/flows/hotline", data={"source": "x", "action": "publish"}).status_code == 403
    for path in ("/console/flows/hotline/v1/rollback", "/console/flows/hotline/test"):
        assert client.post(path).status_code == 403, path
    assert app.test_client().get("/console/flows/").status_code == 302  # signed out: to the sign-in page


def test_the_list_shows_live_versions_and_the_answering_flow(admin):
    page = text(admin.get("/console/flows/"))
    row = re.search(r'data-testid="flow-hotline">(.*?)</tr>', page, re.S)
    assert row, page
    assert "v1" in row.group(1) and "shipped" in row.group(1) and "<strong>ja</strong>" in row.group(1)
    assert 'href="/console/flows/"' in text(admin.get("/console/"))  # linked from the header


def test_validate_shows_each_problem_at_its_line_and_keeps_the_text(admin, session):
    broken = HOTLINE.replace("    next: notice\n", "    next: notise\n", 1)
    line = broken.splitlines().index("    next: notise") + 1
    resp = edit(admin, broken.replace("\n", "\r\n"), "validate")  # as browsers send a textarea
    page = text(resp)
    assert resp.status_code == 422
    assert (
        f"hotline.yaml:{line}</a>: node 'greeting': unknown target 'notise' (did you mean 'notice'?)" in page
    )
    problem = re.search(rf'data-testid="problem-line-{line}">(.*?)</div>', page, re.S)
    assert problem and "notise" in problem.group(1)
    assert f'<li id="line-{line}" value="{line}"><code>    next: notise</code>' in page
    assert "next: notise" in page.split('<textarea id="source"')[1]  # nothing lost
    resp = edit(admin, broken, "publish")
    assert resp.status_code == 422 and "Nicht veröffentlicht" in text(resp)
    assert len(flow_versions(session, "hotline")) == 1


def test_publish_records_the_admin_and_new_calls_hear_it(admin, session, phone):
    resp = edit(admin, HOTLINE.replace("\n", "\r\n"), "publish")
    assert resp.status_code == 302
    assert "Unverändert: v1" in text(admin.get("/console/flows/hotline"))
    assert edit(admin, HOTLINE.replace(GREETING, "Hallo beim Testshop."), "validate").status_code == 200
    assert len(flow_versions(session, "hotline")) == 1  # validating publishes nothing
    resp = edit(admin, HOTLINE.replace(GREETING, "Hallo beim Testshop."), "publish")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/console/flows/hotline")
    page = text(admin.get("/console/flows/hotline"))
    assert "hotline v2 veröffentlicht" in page
    session.rollback()
    v2 = flow_versions(session, "hotline")[-1]
    assert (v2.version, v2.author) == (2, "chef@shop.example")
    assert "Hallo beim Testshop." in phone().dial().heard[0]


def test_a_post_without_the_csrf_token_changes_nothing(admin, session):
    resp = admin.post("/console/flows/hotline", data={"source": HOTLINE + "\n# x\n", "action": "publish"})
    assert resp.status_code == 400
    assert admin.post("/console/flows/hotline/v1/rollback").status_code == 400
    assert len(flow_versions(session, "hotline")) == 1


def test_diff_against_live_and_roll_back_after_confirming(admin, session, phone):
    edit(admin, HOTLINE.replace(GREETING, "Hallo beim Testshop."), "publish")
    diff = text(admin.get("/console/flows/hotline/v1/diff"))
    assert '<span class="del">-        Guten Tag und willkommen beim Kundenservice.</span>' in diff
    assert '<span class="add">+        Hallo beim Testshop.</span>' in diff
    confirm = admin.get("/console/flows/hotline/v1/rollback")
    assert confirm.status_code == 200 and "Auf v1 zurücksetzen" in text(confirm)
    assert len(flow_versions(session, "hotline")) == 2  # asking changed nothing
    resp = admin.post("/console/flows/hotline/v1/rollback", data={"csrf_token": csrf_token(text(confirm))})
    assert resp.status_code == 302
    assert "Zurückgesetzt: v3 veröffentlicht" in text(admin.get("/console/flows/hotline"))
    session.rollback()
    v3 = flow_versions(session, "hotline")[-1]
    assert (v3.version, v3.author, v3.source) == (3, "chef@shop.example", HOTLINE)
    assert GREETING in phone().dial().heard[0]
    assert "haben denselben Inhalt" in text(admin.get("/console/flows/hotline/v1/diff"))
    assert admin.get("/console/flows/hotline/v9/diff").status_code == 404
    assert admin.get("/console/flows/nosuchflow").status_code == 404


def test_a_version_shows_its_source(admin):
    page = text(admin.get("/console/flows/hotline/v1"))
    assert "<li><code>start: greeting</code></li>" in page


def test_the_graph_starts_at_the_start_node_with_every_edge_labelled(admin):
    page = text(admin.get("/console/flows/hotline"))
    graph = page.split('data-testid="graph">')[1].split("</ol>")[0]
    nodes = re.findall(r'<li id="node-([\w-]+)">', graph)
    assert nodes[:3] == ["greeting", "notice", "main_menu"]
    menu = graph.split('id="node-main_menu"')[1].split('<li id="node-')[0]
    assert re.search(r'<span class="edge">key 1</span> → <a href="#node-order_status">', menu)
    assert re.search(r'<span class="edge">on_failure</span> → <a href="#node-agent_hours">', menu)
    assert re.search(r'<span class="edge">speech_next</span> → <a href="#node-ask_why">', menu)
    hours = graph.split('id="node-agent_hours"')[1].split('<li id="node-')[0]
    assert '<span class="edge">open</span>' in hours and '<span class="edge">closed</span>' in hours


def test_a_validated_draft_shows_its_own_graph(admin):
    draft = HOTLINE.replace("    next: main_menu\n", "    next: returns\n", 1)  # the notice's "hold the line"
    page = text(edit(admin, draft, "validate"))
    assert "Graph des geprüften Entwurfs" in page and "Gültig:" in page
    notice = page.split('<li id="node-notice">')[1].split('<li id="node-')[0]
    assert '<span class="edge">next</span> → <a href="#node-returns">' in notice


def _start(client, name: str = "hotline"):
    return post_form(client, f"/console/flows/{name}/test", {}, page=f"/console/flows/{name}")


def _press(client, action: str, **fields: str):
    return post_form(
        client,
        "/console/flows/hotline/test/input",
        {"action": action, **fields},
        page="/console/flows/hotline",
    )


def test_a_test_call_hears_the_prompts_and_stays_out_of_the_history(admin, session):
    resp = _start(admin)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("#test-call")
    page = text(admin.get("/console/flows/hotline"))
    transcript = page.split('data-testid="transcript"')[1]
    assert GREETING in transcript and "drücken Sie die 1" in transcript
    assert _press(admin, "press", keys="3").status_code == 302
    page = text(admin.get("/console/flows/hotline"))
    assert "Sie: 3" in page and "Rückruf" in page
    assert _press(admin, "say", speech="ja bitte").status_code == 302
    assert 'Sie: "ja bitte"' in text(admin.get("/console/flows/hotline"))
    assert _press(admin, "dial", result="completed").status_code == 302  # not waiting for a dial
    assert "Der Anruf wartet nicht darauf." in text(admin.get("/console/flows/hotline"))
    assert _press(admin, "hangup").status_code == 302
    assert "Der Anruf ist beendet." in text(admin.get("/console/flows/hotline"))

    assert _start(admin).status_code == 302
    _press(admin, "press", keys="1")
    _start(admin)  # again: ends it

    session.rollback()
    first, second, third = session.scalars(select(Interaction).order_by(Interaction.id)).all()
    assert [first.status, second.status, third.status] == ["completed", "completed", "in-progress"]
    call = first
    assert (call.channel, call.from_number, call.customer_id) == ("test", "client:flow-test", None)
    started = next(e for e in call.events if e.kind == "call_started")
    assert started.data["test"] is True and started.data["flow"] == "hotline"
    assert session.scalar(select(func.count()).select_from(Customer)) == 0


def test_a_test_call_of_a_flow_that_does_not_answer_calls(admin, session):
    other = HOTLINE.replace("name: hotline", "name: testline").replace(GREETING, "Hier ist die Testlinie.")
    resp = edit(admin, other, "publish")
    assert resp.headers["Location"].endswith("/console/flows/testline")
    _start(admin, "testline")
    assert "Hier ist die Testlinie." in text(admin.get("/console/flows/testline"))


def test_a_test_call_rings_no_agent_and_queues_no_callback(admin, session, available_agent, fake):
    available_agent()
    _start(admin)
    _press(admin, "press", keys="3")
    _press(admin, "press", keys="030123456")
    _press(admin, "press", keys="1")
    _press(admin, "press", keys="1")
    page = text(admin.get("/console/flows/hotline"))
    assert "Wir rufen Sie in Kürze unter der Nummer null drei null" in page  # heard as a caller would
    session.rollback()
    assert session.scalar(select(func.count()).select_from(CallbackRequest)) == 0  # nobody calls back

    _start(admin)
    _press(admin, "press", keys="0")
    page = text(admin.get("/console/flows/hotline"))
    assert "Verbindung zu service." in page
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Task)) == 0 and fake.calls == []  # no agent rung
    assert _press(admin, "queue", result="hangup").status_code == 302
    assert "Der Anruf ist beendet." in text(admin.get("/console/flows/hotline"))
