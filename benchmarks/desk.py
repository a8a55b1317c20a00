"""The agent desk: routing decision, event to screen, console pages with volume.

    python benchmarks/desk.py routing --agents 50 --waiting 200 --rounds 300
    python benchmarks/desk.py screen --agents 20 --rounds 60
    python benchmarks/desk.py pages --customers 50000 --events 1000000 \
        --database postgresql+psycopg://postgres@127.0.0.1:5432/test

Every sub-measurement takes ``--database`` (default: a new SQLite file; a PostgreSQL URL makes a
scratch database beside it). Twilio's REST API is faked at the twilio library's ``HttpClient``
seam (``tests/callbacks/fakes.py``); the clock is moved into opening hours (a Tuesday morning).
All traffic stays on 127.0.0.1; every loop is bounded in rounds and seconds.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, insert, text, update
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402

from ivr import create_app  # noqa: E402
from ivr.apikeys import create_api_key  # noqa: E402
from ivr.db import session_factory, transaction  # noqa: E402
from ivr.desk import routing  # noqa: E402
from ivr.desk.models import Task, User  # noqa: E402
from ivr.desk.screen import fingerprint  # noqa: E402
from ivr.desk.users import NewUser, add_user  # noqa: E402
from ivr.models import Customer, Interaction, InteractionEvent  # noqa: E402
from ivr.models._types import utcnow  # noqa: E402
from ivr.setup import prepare_instance  # noqa: E402
from ivr.simulator import OverHttp, Phone  # noqa: E402
from tests.callbacks.fakes import ACCOUNT_SID, FakeTwilio  # noqa: E402

TOKEN = "benchmark-token-0123456789abcdef"
PASSWORD = "benchmark password 0123"
#: A Tuesday, 10:00 in Berlin: the hotline is staffed.
OPEN_HOURS = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
#: Per run, so that two engineers' runs on one server never drop each other's database.
SCRATCH = os.environ.get("IVR_BENCH_SCRATCH") or f"ivr_bench_desk_{os.getpid()}"
USER_AGENT = "hotline-desk-benchmark"
QUEUES = ("service", "returns")
LANGUAGES = ("de", "en")


def scratch_postgres(url: str, drop: bool = False) -> str:
    """Create (or drop) this benchmark's scratch database beside the given one; returns its URL."""
    base = make_url(url)
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)"))
        if not drop:
            conn.execute(text(f"CREATE DATABASE {SCRATCH}"))
    engine.dispose()
    return base.set(database=SCRATCH).render_as_string(hide_password=False)


def percentiles(values: list[float]) -> str:
    """p50/p95/p99/max in milliseconds (nearest rank)."""
    ordered = sorted(values)

    def at(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000

    return f"{len(values)} | {at(50):.1f} | {at(95):.1f} | {at(99):.1f} | {ordered[-1] * 1000:.1f}"


@contextmanager
def database(url: str | None) -> Iterator[str]:
    """A new SQLite file, or a scratch PostgreSQL database beside ``url`` (dropped afterwards)."""
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["IVR_INSTANCE_PATH"] = tmp
        if url and url.startswith("postgresql"):
            scratch = scratch_postgres(url)
            try:
                yield scratch
            finally:
                scratch_postgres(url, drop=True)
        else:
            yield url or f"sqlite:///{tmp}/bench.db"


def make_app(url: str, public_url: str = "http://127.0.0.1") -> Flask:
    """The app on ``url`` with Twilio's REST edge faked and a clock running in opening hours."""
    started = utcnow()
    return create_app(
        {
            "DATABASE_URL": url,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_HTTP_CLIENT": FakeTwilio(TOKEN),
            "PUBLIC_URL": public_url,
            "SPEECH_MODE": "twilio",
            "FALLBACK_NUMBER": None,
            "CLOCK": lambda: OPEN_HOURS + (utcnow() - started),
        }
    )


def add_agents(
    app: Flask, count: int, rng: random.Random, skills: Callable[[int], tuple[str, ...]]
) -> list[int]:
    """``count`` agents with the given skills; every third speaks English too."""
    ids = []
    with session_factory(app)() as session, transaction(session):
        for n in range(count):
            languages = ("de", "en") if n % 3 == 0 else ("de",)
            new = NewUser(
                f"agent{n}@shop.example", f"Agent {n}", "agent", languages, skills(n), f"+4930{n:07d}"
            )
            ids.append(add_user(session, new, PASSWORD).id)
    return ids


# --- 1. routing decision -------------------------------------------------------------------


def bench_routing(args: argparse.Namespace) -> None:
    """An agent goes available over the API; time until the offer is committed and rung."""
    rng = random.Random(7)
    with database(args.database) as url:
        app = make_app(url)
        prepare_instance(app)
        sessions = session_factory(app)
        mixes = [("service",), ("returns",), ("service", "returns")]
        agents = add_agents(app, args.agents, rng, lambda n: mixes[n % 3])
        with sessions() as session, transaction(session):
            key = create_api_key(session, "bench", ["agents"])
            for _ in range(args.waiting):
                enqueue_random(session, rng, app)
        client = app.test_client()
        headers = {"Authorization": f"Bearer {key}"}
        timings, offered = [], 0
        deadline = time.monotonic() + args.seconds
        for n in range(args.rounds):
            if time.monotonic() > deadline:
                break
            agent = agents[n % len(agents)]
            start = time.perf_counter()
            resp = client.patch(f"/api/agents/{agent}", json={"activity": "available"}, headers=headers)
            timings.append(time.perf_counter() - start)
            assert resp.status_code == 200, resp.get_data(as_text=True)
            with sessions() as session, transaction(session):  # untimed: the call ends, a new caller joins
                user = session.get(User, agent)
                assert user is not None
                offered += user.activity == "offered"
                session.execute(
                    update(Task)
                    .where(Task.offered_to == agent, Task.status == "offered")
                    .values(status="completed", ended_at=app.config["CLOCK"]())
                )
                user.activity = "offline"
                enqueue_random(session, rng, app)
        backend = make_url(url).get_backend_name()
    print(f"\n{backend}: {args.agents} agents, {args.waiting} waiting callers; offers made: {offered}")
    print("\n| measure | n | p50 ms | p95 ms | p99 ms | max ms |\n|---|---|---|---|---|---|")
    print(f"| available → offer committed and rung | {percentiles(timings)} |")


def enqueue_random(session: Any, rng: random.Random, app: Flask) -> None:
    """One more caller waiting in a random queue and language, with a random priority."""
    routing.enqueue(
        session,
        f"CA{rng.getrandbits(128):032x}",
        rng.choice(QUEUES),
        rng.choice(LANGUAGES),
        app.config["CLOCK"]() - timedelta(seconds=rng.randint(0, 600)),
        priority=rng.choice((0, 0, 0, 1, 2)),
    )


# --- 2. event to screen --------------------------------------------------------------------


def serve(args: argparse.Namespace) -> None:
    """(internal) The app under a threaded server for ``screen``, in its own process."""
    from werkzeug.serving import make_server

    app = make_app(args.database, f"http://127.0.0.1:{args.port}")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    make_server("127.0.0.1", args.port, app, threaded=True).serve_forever()


def sign_in(base: str, email: str) -> requests.Session:
    """Sign in through the real form (CSRF token from the page) and go available."""
    http = requests.Session()
    http.headers["User-Agent"] = USER_AGENT  # the session is bound to it (Flask-Login's protection)
    for page, target, data in (
        ("/console/login", "/console/login", {"email": email, "password": PASSWORD}),
        ("/console/", "/console/presence", {"activity": "available"}),
    ):
        token = re.search(
            r'name="csrf_token" type="hidden" value="([^"]+)"', http.get(base + page, timeout=10).text
        )
        assert token, f"no CSRF token on {page}"
        resp = http.post(base + target, data={**data, "csrf_token": token.group(1)}, timeout=10)
        assert resp.status_code == 200, (target, resp.status_code)
    return http


class Screens:
    """The open ``/console/events`` streams of signed-in agents; records each agent's states."""

    def __init__(self, port: int, stop: threading.Event) -> None:
        self.port, self.stop = port, stop
        self.lock = threading.Condition()
        self.seen: list[tuple[float, int, str]] = []  # (arrival, agent, activity)

    def follow(self, agent: int, cookies: str) -> None:
        """Read one agent's stream, reconnecting when it ends (every 55 s), until stopped."""
        while not self.stop.is_set():
            # longer than the 15 s keep-alive: a client timing out would leave its stream running
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                conn.request(
                    "GET",
                    "/console/events",
                    headers={"Cookie": cookies, "User-Agent": USER_AGENT, "Accept-Language": "en"},
                )
                resp = conn.getresponse()
                if resp.status != 200:
                    print("stream answered", resp.status, file=sys.stderr)
                    time.sleep(1)
                event = None
                while not self.stop.is_set():
                    line = resp.readline()
                    if not line:
                        break
                    if line.startswith(b"event: "):
                        event = line[7:].strip()
                    elif line.startswith(b"data: ") and event == b"desk":
                        arrived = time.perf_counter()
                        state = json.loads(line[6:])["state"]
                        found = re.search(r"state-(\w+)", state)
                        with self.lock:
                            self.seen.append((arrived, agent, found.group(1) if found else "?"))
                            self.lock.notify_all()
                        event = None
            except (OSError, http.client.HTTPException):
                time.sleep(0.1)
            finally:
                conn.close()

    def wait_for(self, since: float, activity: str, timeout: float) -> tuple[float, int] | None:
        """The first screen showing ``activity`` that arrived after ``since``."""
        end = time.monotonic() + timeout
        with self.lock:
            while True:
                for arrived, agent, state in self.seen:
                    if arrived > since and state == activity:
                        return arrived, agent
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.lock.wait(left)


def bench_screen(args: argparse.Namespace) -> None:
    """K agents watch their screens; a caller presses 0; time from the webhook to the offer shown."""
    rng = random.Random(7)
    base = f"http://127.0.0.1:{args.port}"
    with database(args.database) as url:
        app = make_app(url, base)
        prepare_instance(app)
        agents = add_agents(app, args.agents, rng, lambda n: ("service",))
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        server = subprocess.Popen(
            [sys.executable, __file__, "--database", url, "serve", "--port", str(args.port)], env=env
        )
        stop = threading.Event()
        screens = Screens(args.port, stop)
        try:
            for _ in range(300):
                try:
                    requests.get(base + "/health", timeout=1)
                    break
                except requests.ConnectionError:
                    time.sleep(0.1)
            threads = []
            for n, agent in enumerate(agents):
                http_session = sign_in(base, f"agent{n}@shop.example")
                cookies = "; ".join(f"{c.name}={c.value}" for c in http_session.cookies)
                threads.append(threading.Thread(target=screens.follow, args=(agent, cookies), daemon=True))
                threads[-1].start()
            time.sleep(2)  # every stream has shown its first screen
            latencies, from_press, missed, early = [], [], 0, 0
            deadline = time.monotonic() + args.seconds
            for n in range(args.rounds):
                if time.monotonic() > deadline:
                    break
                phone = Phone(OverHttp(base, TOKEN), from_number=f"+49151{n:08d}")
                phone.dial()
                pressed = time.perf_counter()
                phone.press("0")
                answered = time.perf_counter()
                assert phone.turn is not None and phone.turn.verb == "Enqueue", phone.turn
                shown = screens.wait_for(pressed, "offered", 5.0)
                if shown is None:
                    missed += 1
                else:
                    latencies.append(max(0.0, shown[0] - answered))
                    from_press.append(shown[0] - pressed)
                    early += shown[0] < answered
                hung_up = time.perf_counter()
                phone.queue_result("hangup")  # Twilio's <Enqueue> action when a waiting caller hangs up
                phone.hang_up()
                if shown is not None:
                    screens.wait_for(hung_up, "available", 5.0)
                with screens.lock:
                    screens.seen.clear()
                time.sleep(rng.uniform(0.1, 0.3))
        finally:
            stop.set()
            server.terminate()
            server.wait(10)
        backend = make_url(url).get_backend_name()
    print(
        f"\n{backend}: {args.agents} agents with open streams; {len(latencies)} offers shown "
        f"({early} before the webhook's answer arrived), {missed} missed"
    )
    print("\n| measure | n | p50 ms | p95 ms | p99 ms | max ms |\n|---|---|---|---|---|---|")
    print(f"| webhook answered → offer on the agent's screen | {percentiles(latencies)} |")
    print(f"| caller pressed 0 → offer on the agent's screen | {percentiles(from_press)} |")


# --- 3. console pages with volume ------------------------------------------------------------


def seed_history(app: Flask, customers: int, events: int, long_history: int, agents: list[int]) -> int:
    """Bulk-insert customers, interactions (5 events each) and agents' past tasks; returns the
    id of the customer with ``long_history`` earlier calls."""
    engine = session_factory(app).kw["bind"]
    interactions = events // 5
    now = app.config["CLOCK"]()
    batch = 20_000
    with engine.begin() as conn:
        for start in range(0, customers, batch):
            conn.execute(
                insert(Customer),
                [
                    {"id": n + 1, "phone": f"+49152{n:08d}", "name": f"Kundin {n}", "created_at": now}
                    for n in range(start, min(customers, start + batch))
                ],
            )
    for start in range(0, interactions, batch):
        rows, event_rows, task_rows = [], [], []
        for n in range(start, min(interactions, start + batch)):
            # the first customer has the long history, the others share the rest evenly
            owner = 1 if n < long_history else 2 + n % (customers - 1)
            at = now - timedelta(minutes=n + 10)
            rows.append(
                {
                    "id": n + 1,
                    "customer_id": owner,
                    "call_sid": f"CAH{n:029d}",
                    "from_number": f"+49152{owner - 1:08d}",
                    "to_number": "+4930123456789",
                    "started_at": at,
                    "ended_at": at + timedelta(minutes=3),
                    "status": "completed",
                    "intent": "order_status",
                    "language": "de",
                }
            )
            for seq in range(5):
                event_rows.append(
                    {
                        "interaction_id": n + 1,
                        "seq": seq + 1,
                        "kind": "node",
                        "at": at,
                        "data": {"node": "menu"},
                    }
                )
            if n % 2 == 0:  # every other call reached an agent
                task_rows.append(
                    {
                        "call_sid": f"CAH{n:029d}",
                        "interaction_id": n + 1,
                        "queue": "service",
                        "language": "de",
                        "status": "completed",
                        "arrived_at": at,
                        "offered_to": agents[n % len(agents)],
                        "offered_at": at,
                        "ended_at": at + timedelta(minutes=3),
                        "offers": 1,
                        "context": {},
                    }
                )
        with engine.begin() as conn:
            conn.execute(insert(Interaction), rows)
            conn.execute(insert(InteractionEvent), event_rows)
            conn.execute(insert(Task), task_rows)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for table in ("customers", "interactions", "interaction_events", "tasks"):
                conn.execute(text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))
                conn.execute(text(f"ANALYZE {table}"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return 1


def bench_pages(args: argparse.Namespace) -> None:
    """The desk page and the call panel of a caller with a long history, among much history."""
    rng = random.Random(7)
    with database(args.database) as url:
        app = make_app(url)
        prepare_instance(app)
        agents = add_agents(app, 3, rng, lambda n: ("service",))
        started = time.perf_counter()
        customer = seed_history(app, args.customers, args.events, args.long_history, agents)
        print(
            f"seeded {args.customers} customers, {args.events} events "
            f"in {time.perf_counter() - started:.0f} s"
        )
        sessions = session_factory(app)
        now = app.config["CLOCK"]()
        with sessions() as session, transaction(session):
            # agent 0 has the long-history caller ringing; agent 1 is idle; agent 2 wraps up
            interaction = Interaction(
                customer_id=customer, call_sid="CALIVE", from_number="+4915200000000", started_at=now
            )
            session.add(interaction)
            session.flush()
            task = routing.enqueue(session, "CALIVE", "service", "de", now, interaction_id=interaction.id)
            task.status, task.offered_to, task.offered_at = "offered", agents[0], now
            for user_id, activity in zip(agents, ("offered", "available", "wrapup"), strict=True):
                user = session.get(User, user_id)
                assert user is not None
                user.activity = activity
        rows = []
        for n, label in enumerate(
            ("ringing: call panel, long history", "idle: desk page", "wrap-up: desk page")
        ):
            client = app.test_client()
            page = client.get("/console/login").get_data(as_text=True)
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
            assert token
            client.post(
                "/console/login",
                data={"email": f"agent{n}@shop.example", "password": PASSWORD, "csrf_token": token.group(1)},
            )
            timings = []
            for _ in range(args.requests):
                start = time.perf_counter()
                resp = client.get("/console/")
                timings.append(time.perf_counter() - start)
                assert resp.status_code == 200
            rows.append((f"GET /console/ — {label}", timings))
            polls = []
            with sessions() as session:
                for _ in range(args.requests):
                    start = time.perf_counter()
                    fingerprint(session, agents[n])
                    polls.append(time.perf_counter() - start)
                    session.rollback()
            rows.append((f"stream poll (every 0.25 s) — {label.split(':')[0]}", polls))
        backend = make_url(url).get_backend_name()
    print(
        f"\n{backend}: {args.customers} customers, {args.events} events, "
        f"long history {args.long_history} calls"
    )
    print("\n| measure | n | p50 ms | p95 ms | p99 ms | max ms |\n|---|---|---|---|---|---|")
    for label, values in rows:
        print(f"| {label} | {percentiles(values)} |")


def main() -> None:
    """Parse the sub-command and run it."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default=None, help="SQLAlchemy URL (default: a new SQLite file)")
    parser.add_argument("--seconds", type=float, default=600, help="stop a measuring loop after this long")
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("routing", help="agent available → offer committed")
    one.add_argument("--agents", type=int, default=50)
    one.add_argument("--waiting", type=int, default=200)
    one.add_argument("--rounds", type=int, default=300)
    two = sub.add_parser("screen", help="webhook → offer on the agent's screen (SSE)")
    two.add_argument("--agents", type=int, default=20)
    two.add_argument("--rounds", type=int, default=60)
    two.add_argument("--port", type=int, default=8766)
    three = sub.add_parser("pages", help="console pages with 50,000 customers, 1,000,000 events")
    three.add_argument("--customers", type=int, default=50_000)
    three.add_argument("--events", type=int, default=1_000_000)
    three.add_argument("--long-history", type=int, default=2_000, help="earlier calls of the ringing caller")
    three.add_argument("--requests", type=int, default=200)
    internal = sub.add_parser("serve")
    internal.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    {"routing": bench_routing, "screen": bench_screen, "pages": bench_pages, "serve": serve}[args.command](
        args
    )


if __name__ == "__main__":
    main()
