"""Webhooks of one call arriving at the same time, on real threads (run on PostgreSQL in CI)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from ivr.models import Call, Interaction, InteractionEvent
from tests.conftest import AUTH_TOKEN, twiml

CALL = {"From": "+4915112345678", "To": "+4930123456789", "AccountSid": "AC" + "0" * 32}


def post(app: Flask, path: str, **params: str) -> Any:
    """POST a signed webhook with a client of this thread's own."""
    sig = RequestValidator(AUTH_TOKEN).compute_signature(f"http://localhost{path}", params)
    return app.test_client().post(path, data=params, headers={"X-Twilio-Signature": sig})


def together(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run the jobs on as many threads, released at the same moment."""
    start = threading.Barrier(len(jobs))

    def run(job: Callable[[], Any]) -> Any:
        start.wait()
        return job()

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(run, jobs))


def said(resp: Any) -> str:
    return " ".join(s.text or "" for s in twiml(resp).iter("Say"))


def test_twenty_simultaneous_incoming_call_webhooks_start_one_call(app, session):
    sid = "CA" + "a" * 32
    answers = together([lambda: post(app, "/twilio/voice", CallSid=sid, **CALL) for _ in range(20)])
    bodies = {resp.get_data(as_text=True) for resp in answers}
    assert len(bodies) == 1, "every duplicate hears the same greeting"
    assert "technischer Fehler" not in said(answers[0])
    assert twiml(answers[0]).find("Gather").get("action").endswith("n=1&lang=de")
    assert session.scalar(select(func.count()).select_from(Call)) == 1
    assert session.scalar(select(func.count()).select_from(Interaction)) == 1
    kinds = session.scalars(select(InteractionEvent.kind)).all()
    assert kinds.count("call_started") == 1


def test_step_and_final_status_of_the_same_call_both_land(app, session):
    sids = [f"CA{i:032d}" for i in range(12)]
    for sid in sids:
        post(app, "/twilio/voice", CallSid=sid, **CALL)
    jobs: list[Callable[[], Any]] = []
    for sid in sids:
        jobs.append(lambda sid=sid: post(app, "/twilio/step?n=1&lang=de", CallSid=sid, Digits="2", **CALL))
        jobs.append(
            lambda sid=sid: post(
                app, "/twilio/status", CallSid=sid, CallStatus="completed", CallDuration="9", **CALL
            )
        )
    answers = together(jobs)
    for resp in answers[0::2]:  # the steps: the next menu, or a hang-up if the status came first
        assert "technischer Fehler" not in said(resp)
    session.rollback()
    for interaction in session.scalars(select(Interaction)):
        assert interaction.status == "completed" and interaction.duration == 9
        seqs = [e.seq for e in interaction.events]
        assert seqs == list(range(1, len(seqs) + 1))
        assert [e.data for e in interaction.events if e.kind == "status"] == [
            {"status": "completed", "duration": 9}
        ]


def test_simultaneous_duplicate_final_callbacks_log_one_status(app, session):
    sid = "CA" + "b" * 32
    post(app, "/twilio/voice", CallSid=sid, **CALL)
    together(
        [
            lambda: post(app, "/twilio/status", CallSid=sid, CallStatus="completed", CallDuration="5", **CALL)
            for _ in range(8)
        ]
    )
    statuses = session.scalars(select(InteractionEvent).where(InteractionEvent.kind == "status")).all()
    assert [e.data["status"] for e in statuses] == ["completed"]


def test_status_callback_and_incoming_call_of_a_new_call_at_once(app, session):
    sid = "CA" + "c" * 32
    ringing = lambda: post(app, "/twilio/status", CallSid=sid, CallStatus="ringing", **CALL)  # noqa: E731
    answers = together([ringing, *[lambda: post(app, "/twilio/voice", CallSid=sid, **CALL)] * 5])
    assert all("technischer Fehler" not in said(resp) for resp in answers[1:])
    interaction = session.scalars(select(Interaction)).one()
    assert interaction.status == "in-progress"
    assert session.scalar(select(func.count()).select_from(Call)) == 1
