"""Every request is dialled exactly once: concurrent workers, and a worker killed holding claims."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from callbacks.claiming import claim_due, start_attempt
from callbacks.dialer import Dialer, unit_of_work
from callbacks.models import COMPLETED, QUEUED, CallbackRequest
from callbacks.outcomes import agent_answered, agent_call_ended, customer_answered, customer_dial_result
from callbacks.settings import Settings
from callbacks.telephony import make_client
from tests.callbacks.fakes import ACCOUNT_SID, FakeTwilio, PlacedCall

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "secret-token"
CONFIG = {
    "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
    "TWILIO_AUTH_TOKEN": TOKEN,
    "TWILIO_API_BASE_URL": "http://127.0.0.1:9/twilio-compatible",
}

#: A worker process that claims a batch and then hangs until it is killed.
VICTIM = """
import sys, time
from datetime import UTC, datetime, timedelta
from sqlalchemy.orm import sessionmaker
import ivr.plugins
from callbacks.claiming import claim_due
from ivr.db import make_engine

with sessionmaker(make_engine(sys.argv[1]))() as session:
    ids = claim_due(session, "victim", datetime.now(UTC), int(sys.argv[2]), timedelta(seconds=2))
    session.commit()
print(",".join(map(str, ids)), flush=True)
time.sleep(600)
"""


def carrier(sessions: sessionmaker[Session]) -> Callable[[PlacedCall], None]:
    """Twilio's side of a good call: the agent answers, the customer answers, both hang up."""

    def carry(call: PlacedCall) -> None:
        query = call.query(call.url)
        request_id, attempt, now = int(query["r"]), int(query["a"]), datetime.now(UTC)
        with unit_of_work(sessions) as session:
            agent_answered(session, request_id, attempt, now, timedelta(minutes=5))
            customer_answered(session, request_id, attempt)
            customer_dial_result(session, request_id, attempt, "completed", now)
            agent_call_ended(session, request_id, attempt, call.sid, "completed", 60, now)

    return carry


def claim_and_die(db_url: str, count: int) -> list[int]:
    """Start a worker process that claims ``count`` requests, then kill it (SIGKILL)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", VICTIM, db_url, str(count)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout:
            proc.stdout.close()
    return [int(x) for x in line.strip().split(",") if x]


def completed(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).where(CallbackRequest.status == COMPLETED)) or 0


def test_eight_workers_dial_every_request_exactly_once(
    db_url: str, sessions: sessionmaker[Session], add_agents, add_requests
) -> None:
    """Eight worker processes: nothing dialled twice, nothing lost — even what a killed worker held."""
    n = 10_000 if db_url.startswith("postgresql") else 600
    ids = add_requests(n)
    add_agents(12)
    held = claim_and_die(db_url, 40)
    assert len(held) == 40

    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.callbacks.worker_process", db_url, f"worker-{i}"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(8)
    ]
    # A guard against a hung worker, not a speed limit: a loaded CI machine must not fail the test.
    outputs = [proc.communicate(timeout=900)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 8

    dialled = Counter(r for out in outputs for r in json.loads(out.strip().splitlines()[-1]))
    assert sorted(dialled) == ids  # none lost
    assert dialled.most_common(1)[0][1] == 1  # none twice
    assert set(held) <= set(dialled)  # the dead worker's claims came back
    assert completed(sessions) == n
    assert sum(1 for out in outputs if json.loads(out.strip().splitlines()[-1])) > 1  # work was shared


def test_a_worker_that_died_before_twilio_took_the_call_is_redone_once(
    sessions: sessionmaker[Session], settings: Settings, add_agents, add_requests
) -> None:
    """The attempt was marked but never placed: after the lease the request is dialled once."""
    [request_id] = add_requests(1)
    add_agents(1)
    now = datetime.now(UTC)
    with unit_of_work(sessions) as session:  # the dead worker's last committed steps
        claim_due(session, "dead", now, 1, settings.claim_lease)
    with unit_of_work(sessions) as session:
        start_attempt(session, request_id, "dead", now, settings.dial_lease)

    fake = FakeTwilio(TOKEN, on_call=carrier(sessions))
    soon = Dialer(
        sessions,
        make_client(CONFIG, fake),
        settings,
        "https://h.example",
        "+4930123456789",
        clock=lambda: now + timedelta(minutes=1),
    )
    assert soon.run(drain=True) == 0  # the attempt's lease still runs: nobody redials it
    later = Dialer(
        sessions,
        make_client(CONFIG, fake),
        settings,
        "https://h.example",
        "+4930123456789",
        clock=lambda: now + settings.dial_lease + timedelta(seconds=1),
    )
    assert later.run(drain=True) == 1
    with sessions() as session:
        request = session.get(CallbackRequest, request_id)
        assert request is not None and request.status == COMPLETED and request.attempts == 1
    assert len(fake.calls) == 1


def test_claims_follow_priority_then_due_time(sessions: sessionmaker[Session], add_requests) -> None:
    """The most urgent request is claimed first; a claimed one is not claimed again."""
    add_requests(6)
    now = datetime.now(UTC)
    with unit_of_work(sessions) as session:
        first = claim_due(session, "a", now, 2, timedelta(minutes=1))
        second = claim_due(session, "b", now, 10, timedelta(minutes=1))
    with sessions() as session:
        prio = {r.id: r.priority for r in session.scalars(select(CallbackRequest))}
    assert [prio[i] for i in first] == [2, 2]
    assert not set(first) & set(second) and len(second) == 4
    with unit_of_work(sessions) as session:
        assert claim_due(session, "c", now, 10, timedelta(minutes=1)) == []
        assert session.scalar(select(func.count()).where(CallbackRequest.status == QUEUED)) == 0
