"""KPIs over 30 days at 5,000 calls a day, and the cost of one wallboard push.

    python benchmarks/kpis.py --database postgresql+psycopg://postgres@127.0.0.1:5432/test \
        --days 30 --calls-per-day 5000 --rounds 5

Builds a scratch PostgreSQL database beside the given one (dropped at the end), migrates it and
loads a synthetic month with ``COPY``: every call with its IVR events (node, input, route), and
for callers who reach an agent the queue events, the agent's talk and wrap-up, their presence
log, survey answers and callback requests. Then it times ``compute_kpis`` (the function behind
the API, the CLI and the reports) for the month, in total and grouped, after building the
per-call facts once (``ivr kpis rebuild``) and with 200 calls' events new since the last refresh,
and ``wallboard`` (one push of the live board on a busy day's data).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy.orm import Session  # noqa: E402

from ivr.db import make_engine  # noqa: E402
from ivr.desk.models import User  # noqa: E402
from ivr.insights.board import today_figures, wallboard  # noqa: E402
from ivr.insights.callfacts import refresh  # noqa: E402
from ivr.insights.kpis import Period, compute_kpis  # noqa: E402
from ivr.insights.settings import KpiSettings  # noqa: E402
from ivr.migrate import upgrade  # noqa: E402

SCRATCH = "ivr_bench_kpis"
START = datetime(2026, 10, 1, tzinfo=UTC)  # includes the end of summer time (25 October)
AGENTS = 40
INTENTS = ("order_status", "delivery_issue", "return", "complaint", "billing", "other")


def scratch(url: str, drop: bool = False) -> str:
    """Create (or drop) the scratch database beside ``url``."""
    base = make_url(url)
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)"))
        if not drop:
            conn.execute(text(f"CREATE DATABASE {SCRATCH}"))
    engine.dispose()
    return base.set(database=SCRATCH).render_as_string(hide_password=False)


def _copy(raw: object, table: str, columns: str, rows: list[tuple[object, ...]]) -> None:
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
        for row in rows:
            copy.write_row(row)


def _adder(into: list[tuple[float, str, dict[str, object]]]):  # type: ignore[no-untyped-def]
    return lambda offset, kind, data: into.append((offset, kind, data))


def load(url: str, days: int, per_day: int, seed: int = 7) -> int:
    """Fill the database with ``days`` × ``per_day`` calls; returns the number of events."""
    rng = random.Random(seed)
    engine = create_engine(url)  # no statement timeout while loading
    with Session(engine) as session:
        for n in range(AGENTS):
            session.add(
                User(
                    id=n + 1,
                    email=f"agent{n}@shop.example",
                    name=f"Agent {n}",
                    password_hash="x",
                    languages=["de"],
                    skills=["service"],
                )
            )
        session.commit()
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO customers (id, phone, created_at)"
                " SELECT g, '+49151' || lpad(g::text, 8, '0'), now() FROM generate_series(1, :n) g"
            ),
            {"n": per_day * days // 3},
        )
    customers = per_day * days // 3
    interactions, events, activities, callbacks = [], [], [], []
    iid = 0
    for day in range(days):
        for _ in range(per_day):
            iid += 1
            start = START + timedelta(days=day, seconds=rng.uniform(6 * 3600, 20 * 3600))
            kind = rng.random()
            intent = rng.choice(INTENTS)
            mine: list[tuple[float, str, dict[str, object]]] = []
            add = _adder(mine)

            for step in range(3):  # the IVR part every call has
                add(step * 4, "node", {"node": f"n{step}", "type": "menu"})
                add(step * 4 + 2, "input", {"node": f"n{step}", "digits": "1"})
            add(12, "route", {"node": "main", "key": str(rng.randint(1, 4))})
            outcome = "completed"
            if kind < 0.25:
                outcome = "self_service"
            elif kind < 0.30:
                add(14, "route", {"node": "main", "next": "bye", "reason": "retries exhausted"})
            else:
                wait = rng.expovariate(1 / 25)
                add(15, "queued", {"queue": "service", "priority": 0})
                if kind < 0.36:
                    add(
                        15 + wait, "left_queue", {"queue": "service", "reason": "hangup", "waited": int(wait)}
                    )
                    outcome = "abandoned"
                elif kind < 0.38:
                    add(15 + wait, "left_queue", {"queue": "service", "reason": "leave"})
                    outcome = "callback"
                    callbacks.append(
                        (f"+49151{iid:08d}", start, start + timedelta(hours=2), rng.randint(1, 3))
                    )
                else:
                    agent = rng.randint(1, AGENTS)
                    talk = int(rng.expovariate(1 / 240)) + 20
                    add(15 + wait - 8, "offered", {"queue": "service", "agent_id": agent})
                    add(15 + wait, "connected", {"queue": "service", "agent_id": agent, "waited": int(wait)})
                    add(15 + wait + talk, "agent_call_ended", {"queue": "service", "talk": talk})
                    add(
                        15 + wait + talk + rng.uniform(5, 40),
                        "wrapup",
                        {"agent_id": agent, "disposition": "resolved"},
                    )
                    at = start + timedelta(seconds=15 + wait)
                    activities += [
                        (agent, "busy", at),
                        (agent, "wrapup", at + timedelta(seconds=talk)),
                        (agent, "available", at + timedelta(seconds=talk + 30)),
                    ]
                    if rng.random() < 0.2:
                        add(
                            15 + wait + talk + 1,
                            "survey_answer",
                            {"question": "csat", "value": rng.randint(1, 5), "agent_id": agent},
                        )
                        add(
                            15 + wait + talk + 2,
                            "survey_answer",
                            {"question": "resolved", "value": rng.randint(0, 1), "agent_id": agent},
                        )
            add(400, "status", {"status": "completed", "duration": 400})
            seq = len(mine)
            events += [
                (iid, n + 1, k, start + timedelta(seconds=o), json.dumps(d))
                for n, (o, k, d) in enumerate(mine)
            ]
            interactions.append(
                (
                    iid,
                    rng.randint(1, customers),
                    "voice",
                    f"CA{iid:032d}",
                    "inbound",
                    start,
                    start + timedelta(seconds=400),
                    "completed",
                    outcome,
                    intent,
                    "de",
                    seq,
                )
            )
    raw = engine.raw_connection()
    try:
        _copy(
            raw,
            "interactions",
            "id, customer_id, channel, call_sid, direction, started_at, ended_at, status,"
            " outcome, intent, language, event_seq",
            interactions,
        )
        _copy(raw, "interaction_events", "interaction_id, seq, kind, at, data", events)
        _copy(raw, "agent_activities", "user_id, activity, at", activities)
        _copy(
            raw,
            "callback_requests",
            'phone, status, priority, source, language, "window", position_at, requested_at, updated_at,'
            " due_at, next_attempt_at, attempts, dials, updates",
            [(p, "completed", 0, "ivr", "de", "asap", r, r, d, d, d, n, n, 0) for p, r, d, n in callbacks],
        )
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return len(events)


def measure(url: str, days: int, rounds: int) -> dict[str, object]:
    """Time compute_kpis over the whole month (total and grouped) and one wallboard push."""
    engine = make_engine(url)
    settings = KpiSettings()
    period = Period(START, START + timedelta(days=days))
    timings: dict[str, object] = {}
    with Session(engine) as session:
        for by in (None, "day", "hour", "intent", "agent"):
            samples = []
            for _ in range(rounds):
                began = time.perf_counter()
                result = compute_kpis(session, period, by, settings)
                samples.append(time.perf_counter() - began)
                session.rollback()
            timings[f"month by {by or 'total'}"] = {
                "median_s": round(statistics.median(samples), 3),
                "max_s": round(max(samples), 3),
            }
        timings["contacts"] = result["total"]["contacts"]
        # The incremental refresh a report pays for: the facts of the last 200 calls recomputed.
        samples = []
        for _ in range(rounds):
            session.execute(
                text(
                    "UPDATE kpi_facts_state SET event_id = (SELECT min(id) - 1 FROM interaction_events"
                    " WHERE interaction_id > (SELECT max(id) - 200 FROM interactions))"
                )
            )
            session.commit()
            began = time.perf_counter()
            compute_kpis(session, period, None, settings)
            samples.append(time.perf_counter() - began)
            session.rollback()
        timings["month by total, 200 calls' new events first"] = {
            "median_s": round(statistics.median(samples), 3),
            "max_s": round(max(samples), 3),
        }
        busy_evening = START + timedelta(days=days - 1, hours=19)
        for name, run in (
            (
                "wallboard: today's figures (a day of calls, every 10 s)",
                lambda: today_figures(session, busy_evening, settings),
            ),
            (
                "wallboard: one push (queues and agents)",
                lambda: wallboard(session, busy_evening, settings, 300, {}),
            ),
        ):
            samples = []
            for _ in range(rounds * 4):
                began = time.perf_counter()
                run()
                samples.append(time.perf_counter() - began)
                session.rollback()
            timings[name] = {
                "median_s": round(statistics.median(samples), 3),
                "max_s": round(max(samples), 3),
            }
    engine.dispose()
    return timings


def main() -> None:
    """Parse the options, load, measure, drop the scratch database."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database", required=True, help="a PostgreSQL URL; a scratch database is made beside it"
    )
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--calls-per-day", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database for --reuse")
    parser.add_argument("--reuse", action="store_true", help="measure the kept scratch database again")
    args = parser.parse_args()
    url = make_url(args.database).set(database=SCRATCH).render_as_string(hide_password=False)
    if not args.reuse:
        url = scratch(args.database)
    try:
        if args.reuse:
            for name, value in measure(url, args.days, args.rounds).items():
                print(f"{name}: {value}")
            return
        upgrade(url)
        began = time.perf_counter()
        n = load(url, args.days, args.calls_per_day)
        print(
            f"loaded {args.days * args.calls_per_day} calls, {n} events "
            f"in {time.perf_counter() - began:.0f} s"
        )
        engine = make_engine(url)
        began = time.perf_counter()
        calls = refresh(engine, full=True, timeout=0)  # what `ivr kpis rebuild` does
        engine.dispose()
        print(f"rebuilt the KPI facts of {calls} calls in {time.perf_counter() - began:.1f} s")
        for name, value in measure(url, args.days, args.rounds).items():
            print(f"{name}: {value}")
    finally:
        if not args.keep:
            scratch(args.database, drop=True)


if __name__ == "__main__":
    main()
