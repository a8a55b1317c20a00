"""A day at the desk, compressed: many agents and callers, routers in parallel threads.

Invariants: a caller is never offered to two agents, an agent never has two callers, nobody is
lost (every caller ends connected-and-completed or gone), and with one router the order is
strict: higher priority first, then longest waiting; among agents, the one idle longest.
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ivr.db import session_factory, transaction
from ivr.desk import routing
from ivr.desk.models import Task, User
from ivr.desk.presence import set_activity
from ivr.desk.users import NewUser, add_user

QUEUES = ("service", "returns")
LANGUAGES = ("de", "en")
START = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def _agents(sessions: sessionmaker[Session], count: int, rng: random.Random) -> None:
    with sessions() as session, transaction(session):
        for n in range(count):
            skills = rng.sample(QUEUES, rng.choice((1, 2)))
            languages = ["de"] + (["en"] if rng.random() < 0.3 else [])
            user = add_user(
                session,
                NewUser(f"agent{n}@shop.example", f"Agent {n}", "agent", tuple(languages), tuple(skills)),
                "simulation passphrase",
            )
            set_activity(session, user, "available", now=START + timedelta(seconds=n))


def _double_bookings(session: Session) -> int:
    busy = (
        select(Task.offered_to)
        .where(Task.status.in_(("offered", "connected")))
        .group_by(Task.offered_to)
        .having(func.count() > 1)
    )
    return len(session.execute(busy).all())


def _run_day(sessions: sessionmaker[Session], callers: int, routers: int, seed: int) -> None:
    lock = threading.Lock()
    clock = [START]
    arrived = [0]
    errors: list[str] = []

    def tick() -> datetime:
        with lock:
            clock[0] += timedelta(seconds=1)
            return clock[0]

    def arrive() -> int | None:
        with lock:
            if arrived[0] == callers:
                return None
            arrived[0] += 1
            return arrived[0]

    def router(worker: int) -> None:
        local = random.Random(seed * 100 + worker)
        idle_rounds = 0
        while idle_rounds < 40:
            now = tick()
            with sessions() as session, transaction(session):
                for _ in range(local.choice((0, 1, 2))):  # callers arrive
                    n = arrive()
                    if n is not None:
                        routing.enqueue(
                            session,
                            f"CA{n:032d}",
                            local.choice(QUEUES),
                            local.choice(LANGUAGES),
                            now,
                            priority=local.choice((0, 0, 0, 1, 2)),
                        )
                offers = routing.route(session, now)
            with sessions() as session, transaction(session):
                for offer in offers:
                    routing.offer_placed(session, offer.task_id, f"AG{offer.task_id}-{now.timestamp()}")
            with sessions() as session:
                if _double_bookings(session):
                    errors.append(f"double booking at {now}")
                ringing = session.scalars(
                    select(Task).where(Task.status.in_(("offered", "connected"))).order_by(Task.id).limit(5)
                ).all()
                waiting = session.scalars(
                    select(Task).where(Task.status == "waiting").order_by(Task.id).limit(2)
                ).all()
            # What happens to ringing and talking calls, each event in its own transaction as a webhook.
            for task in ringing:
                roll = local.random()
                with sessions() as session, transaction(session):
                    if task.status == "offered" and task.agent_call_sid:
                        if roll < 0.7:
                            routing.agent_answered(session, task.agent_call_sid, now)
                        elif roll < 0.85:
                            routing.agent_call_ended(
                                session, task.agent_call_sid, "no-answer", now, timedelta(0)
                            )
                        else:
                            routing.leave(session, task.call_sid, "hangup", now)
                    elif task.status == "connected" and roll < 0.5 and task.agent_call_sid:
                        routing.agent_call_ended(session, task.agent_call_sid, "completed", now, timedelta(0))
            for task in waiting:
                if local.random() < 0.05:
                    with sessions() as session, transaction(session):
                        routing.leave(session, task.call_sid, "hangup", now)
            with sessions() as session, transaction(session):
                routing.end_wrapups(session, now)
            with sessions() as session, transaction(session):
                for user in session.scalars(  # as the console does: the agent's row locked
                    select(User)
                    .where(User.activity.in_(("break", "offline", "available")))
                    .order_by(User.id)
                    .limit(3)
                    .with_for_update(skip_locked=True)
                ):
                    roll = local.random()
                    if user.activity in ("break", "offline") and roll < 0.6:
                        set_activity(session, user, "available", now=now)
                    elif user.activity == "available" and roll < 0.05:
                        set_activity(session, user, local.choice(("break", "offline")), "Pause", now=now)
            with sessions() as session:
                open_tasks = session.scalar(
                    select(func.count())
                    .select_from(Task)
                    .where(Task.status.in_(("waiting", "offered", "connected")))
                )
            done = arrived[0] == callers and open_tasks == 0
            idle_rounds = idle_rounds + 1 if done or not offers else 0

    threads = [threading.Thread(target=router, args=(w,)) for w in range(routers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors[:5]


def _finish(sessions: sessionmaker[Session]) -> None:
    """Everyone still waiting is served by agents who come back, until the queues are empty."""
    now = START + timedelta(days=1)
    for _ in range(2000):
        with sessions() as session, transaction(session):
            for user in session.scalars(
                select(User).where(User.activity.in_(("break", "offline", "wrapup")))
            ):
                set_activity(session, user, "available", now=now)
            for offer in routing.route(session, now):
                routing.offer_placed(session, offer.task_id, f"FIN{offer.task_id}")
            for task in session.scalars(select(Task).where(Task.status == "offered")):
                routing.agent_answered(session, task.agent_call_sid or "", now)
                routing.agent_call_ended(session, task.agent_call_sid or "", "completed", now, timedelta(0))
            left = session.scalar(select(func.count()).select_from(Task).where(Task.status == "waiting"))
        now += timedelta(seconds=1)
        if not left:
            return


@pytest.mark.parametrize("routers", [4])
def test_many_routers_never_double_book_and_lose_nobody(app, routers):
    sessions = session_factory(app)
    _agents(sessions, 50, random.Random(7))
    _run_day(sessions, callers=500, routers=routers, seed=11)
    _finish(sessions)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Task)) == 500
        states = dict(session.execute(select(Task.status, func.count()).group_by(Task.status)).all())
        assert set(states) <= {"completed", "canceled"}, states
        assert states.get("completed", 0) > 250
        # A served caller was offered to exactly one agent at a time and ended with one.
        assert not session.scalars(
            select(Task).where(Task.status == "completed", Task.offered_to.is_(None))
        ).all()
        assert _double_bookings(session) == 0


def test_one_router_serves_priority_then_longest_waiting_then_idle_longest_agent(app):
    sessions = session_factory(app)
    with sessions() as session, transaction(session):
        early = add_user(
            session, NewUser("early@shop.example", "Early", skills=("service",)), "simulation passphrase"
        )
        late = add_user(
            session, NewUser("late@shop.example", "Late", skills=("service",)), "simulation passphrase"
        )
        set_activity(session, late, "available", now=START + timedelta(minutes=5))
        set_activity(session, early, "available", now=START)
        routing.enqueue(session, "CA-old", "service", "de", START + timedelta(minutes=1))
        routing.enqueue(session, "CA-new-urgent", "service", "de", START + timedelta(minutes=3), priority=2)
        routing.enqueue(session, "CA-newest", "service", "de", START + timedelta(minutes=4))
    with sessions() as session, transaction(session):
        offers = routing.route(session, START + timedelta(minutes=6))
    assert [(o.caller_sid, o.user_id) for o in offers] == [("CA-new-urgent", early.id), ("CA-old", late.id)]
