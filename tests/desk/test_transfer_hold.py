"""An agent hands a caller on (to a queue or a free colleague) and puts them on hold.

Only Twilio's REST API is faked (behind twilio's ``HttpClient`` seam); every webhook Twilio
would send is sent signed, as Twilio sends it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select

from ivr.desk.models import Task
from ivr.history import customer_history
from tests.conftest import OPEN_HOURS, twiml
from tests.desk.conftest import CALLER, activity, agent_leg, post_form, url_path


def _talking(phone, fake, available_agent, twilio_post) -> tuple[Any, dict[str, Any], Any]:
    """Anna (service) talks to a caller who pressed 0; Ben (returns) is free."""
    anna = available_agent("anna@shop.example", skills=("service",))
    ben = available_agent("ben@shop.example", name="Ben", skills=("returns",), phone="+4930999999")
    caller = phone(CALLER)
    caller.dial()
    caller.press("0")
    [placed] = fake.calls
    agent_leg(twilio_post, placed)
    [(_sid, form)] = fake.updates
    twilio_post(url_path(form["Url"]), CallSid=caller.call_sid, From=CALLER)
    return caller, {"anna": anna, "ben": ben}, placed


def test_transfer_to_another_queue_keeps_the_callers_place_and_context(
    app, phone, fake, available_agent, twilio_post, session
):
    caller, agents, first_leg = _talking(phone, fake, available_agent, twilio_post)
    anna = agents["anna"]
    task = session.scalar(select(Task))
    assert (
        post_form(
            anna["browser"],
            "/console/transfer",
            {"task": str(task.id), "target": "queue:returns"},
            page="/console/",
        ).status_code
        == 302
    )

    # The caller is moved out of the conference into the returns queue; Ben's phone rings.
    moved_sid, moved = fake.updates[-1]
    assert moved_sid == caller.call_sid and urlparse(moved["Url"]).path == "/desk/twilio/transfer"
    assert [c.to for c in fake.calls] == ["+4930123456", "+4930999999"]
    assert activity(session, anna["email"]) == "wrapup"
    assert activity(session, agents["ben"]["email"]) == "offered"
    session.rollback()  # a new snapshot of what the requests committed
    old, new = session.scalars(select(Task).order_by(Task.id)).all()
    assert (old.status, old.end_reason) == ("completed", "transferred")
    assert (new.status, new.queue, new.offered_to) == ("offered", "returns", agents["ben"]["id"])
    assert new.arrived_at == old.arrived_at and new.call_sid == caller.call_sid

    waiting = twiml(twilio_post(url_path(moved["Url"]), CallSid=caller.call_sid, From=CALLER))
    assert "verbinde Sie weiter" in waiting.find("Say").text
    enqueue = waiting.find("Enqueue")
    assert enqueue.text == "returns" and "/twilio/step" in enqueue.get("action")

    # The conference ended with the caller leaving: Anna's leg ends, nothing else changes.
    agent_leg(twilio_post, first_leg, "completed")
    assert activity(session, anna["email"]) == "wrapup"

    # Ben answers: the caller is moved into Ben's conference, with the caller's context.
    ben_leg = fake.calls[-1]
    agent_leg(twilio_post, ben_leg)
    assert urlparse(fake.updates[-1][1]["Url"]).path == "/desk/twilio/caller"
    ben_page = agents["ben"]["browser"].get("/console/").get_data(as_text=True)
    assert 'data-testid="caller-number"' in ben_page and "call-connected" in ben_page
    assert 'data-testid="transferred-by">Anna<' in ben_page

    # Anna's wrap-up suggests "transferred" and lands in the history.
    page = anna["browser"].get("/console/").get_data(as_text=True)
    assert '<option value="transferred" selected>' in page
    post_form(
        anna["browser"],
        "/console/wrapup",
        {"task": str(old.id), "disposition": "transferred", "note": "zu Retouren"},
        page="/console/",
    )
    assert activity(session, anna["email"]) == "available"
    [entry] = customer_history(session, CALLER)
    kinds = [e["kind"] for e in entry["events"]]
    assert kinds.index("transferred") < kinds.index("wrapup")
    transferred = next(e for e in entry["events"] if e["kind"] == "transferred")
    assert transferred["data"]["to_queue"] == "returns" and transferred["data"]["agent"] == "Anna"


def test_transfer_to_a_free_colleague_rings_them_and_not_a_busy_one(
    app, phone, fake, available_agent, twilio_post, session
):
    caller, agents, _leg = _talking(phone, fake, available_agent, twilio_post)
    anna, ben = agents["anna"], agents["ben"]
    task = session.scalar(select(Task))
    post_form(ben["browser"], "/console/presence", {"activity": "break", "reason": "Pause"}, page="/console/")
    refused = post_form(
        anna["browser"],
        "/console/transfer",
        {"task": str(task.id), "target": f"agent:{ben['id']}"},
        page="/console/",
    )
    assert refused.status_code == 302
    assert activity(session, anna["email"]) == "busy"  # nothing happened
    assert len(fake.calls) == 1

    post_form(ben["browser"], "/console/presence", {"activity": "available"}, page="/console/")
    post_form(
        anna["browser"],
        "/console/transfer",
        {"task": str(task.id), "target": f"agent:{ben['id']}"},
        page="/console/",
    )
    assert [c.to for c in fake.calls][-1] == "+4930999999"
    assert activity(session, ben["email"]) == "offered"
    session.rollback()  # a new snapshot of what the requests committed
    new = session.scalars(select(Task).order_by(Task.id.desc())).first()
    assert new.queue == "service" and new.offered_to == ben["id"]


def test_only_the_agent_on_the_call_can_transfer_it(app, phone, fake, available_agent, twilio_post, session):
    _caller, agents, _leg = _talking(phone, fake, available_agent, twilio_post)
    task = session.scalar(select(Task))
    updates = len(fake.updates)
    post_form(
        agents["ben"]["browser"],
        "/console/transfer",
        {"task": str(task.id), "target": "queue:returns"},
        page="/console/",
    )
    assert len(fake.updates) == updates
    session.rollback()  # a new snapshot of what the requests committed
    assert session.scalar(select(Task.status).where(Task.id == task.id)) == "connected"
    # An unknown queue is refused too.
    post_form(
        agents["anna"]["browser"],
        "/console/transfer",
        {"task": str(task.id), "target": "queue:nowhere"},
        page="/console/",
    )
    assert len(fake.updates) == updates


def test_hold_and_resume_use_the_conference_and_count_hold_time_apart(
    app, phone, fake, available_agent, twilio_post, session
):
    now = [OPEN_HOURS]
    app.config["CLOCK"] = lambda: now[0]
    caller, agents, leg = _talking(phone, fake, available_agent, twilio_post)
    anna = agents["anna"]
    task = session.scalar(select(Task))
    fake.conferences[f"task-{task.id}"] = "CF" + "1" * 32

    post_form(anna["browser"], "/console/hold", {"task": str(task.id), "hold": "on"}, page="/console/")
    [(conference, held_call, form)] = fake.participant_updates
    assert (conference, held_call) == ("CF" + "1" * 32, caller.call_sid)
    assert form["Hold"] == "true" and urlparse(form["HoldUrl"]).path == "/desk/twilio/hold"
    assert 'data-testid="on-hold"' in anna["browser"].get("/console/").get_data(as_text=True)
    music = twiml(twilio_post("/desk/twilio/hold", CallSid=caller.call_sid))
    assert "Bitte bleiben Sie dran" in music.find("Say").text

    now[0] = OPEN_HOURS + timedelta(seconds=45)
    post_form(anna["browser"], "/console/hold", {"task": str(task.id), "hold": "off"}, page="/console/")
    assert fake.participant_updates[-1][2]["Hold"] == "false"
    now[0] = OPEN_HOURS + timedelta(seconds=100)
    agent_leg(twilio_post, leg, "completed")
    session.rollback()  # a new snapshot of what the requests committed
    assert session.get(Task, task.id).context["held_seconds"] == 45
    [entry] = customer_history(session, CALLER)
    holds = [e for e in entry["events"] if e["kind"] in ("hold", "unhold")]
    assert [e["kind"] for e in holds] == ["hold", "unhold"] and holds[1]["data"]["held"] == 45


def test_hold_of_a_call_that_has_ended_changes_nothing(
    app, phone, fake, available_agent, twilio_post, session
):
    _caller, agents, _leg = _talking(phone, fake, available_agent, twilio_post)
    task = session.scalar(select(Task))
    # No conference in progress at Twilio (it just ended): the agent is told, nothing is recorded.
    page = post_form(
        agents["anna"]["browser"], "/console/hold", {"task": str(task.id), "hold": "on"}, page="/console/"
    )
    assert page.status_code == 302
    session.rollback()  # a new snapshot of what the requests committed
    assert "on_hold_since" not in session.get(Task, task.id).context


def test_forged_hold_music_request_is_refused(client):
    assert client.post("/desk/twilio/hold", data={"CallSid": "CA1"}).status_code == 403
