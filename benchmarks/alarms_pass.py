"""How long one ``ivr alarms run`` pass takes with 35 days at 5,000 calls a day.

Usage: ``python benchmarks/alarms_pass.py [DATABASE_URL] [CALLS_PER_DAY]``: SQLite in a temporary
file by default; a PostgreSQL URL gets a scratch database beside it (dropped afterwards). Fills
inbound calls with intents, outcomes and queue/IVR events, then times ``evaluate`` (the 35 window
counts and the detector) five times.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# This file is named like the package it measures: import the package, not this script.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from sqlalchemy import create_engine, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

SCRATCH = "ivr_bench_alarms"
NOW = datetime(2026, 11, 24, 11, 7, tzinfo=UTC)
INTENTS = ["order_status"] * 6 + ["delivery_issue"] * 3 + ["return_refund"] * 3 + ["complaint", None, None]


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


def fill(url: str, per_day: int) -> None:
    """35 days of calls: daytime-weighted start times, intents, 8 % abandoned, 4 % lost in the IVR."""
    import ivr.plugins  # noqa: F401
    from ivr.db import make_engine
    from ivr.models import Interaction, InteractionEvent

    rng = random.Random(7)
    engine = make_engine(url)
    next_id = 1
    with engine.begin() as conn:
        for day in range(35, -1, -1):
            calls, events = [], []
            midnight = (NOW - timedelta(days=day)).replace(hour=0, minute=0, second=0, microsecond=0)
            for _ in range(per_day):
                start = midnight + timedelta(hours=min(23.99, max(0.0, rng.gauss(13, 3.5))))
                if start >= NOW:
                    continue
                kind = rng.random()
                outcome = "abandoned" if kind < 0.12 else "completed"
                calls.append(
                    {
                        "id": next_id,
                        "channel": "voice",
                        "direction": "inbound",
                        "call_sid": f"CA{next_id:032x}",
                        "started_at": start,
                        "status": "completed",
                        "intent": rng.choice(INTENTS),
                        "outcome": outcome,
                        "event_seq": 2,
                    }
                )
                at = start + timedelta(seconds=30)
                if kind < 0.08:
                    events.append((next_id, 1, "queued", at, {"queue": "service"}))
                    events.append((next_id, 2, "left_queue", at, {"queue": "service", "reason": "hangup"}))
                elif kind < 0.12:
                    events.append((next_id, 1, "no_match", at, {"node": "main_menu"}))
                    events.append((next_id, 2, "route", at, {"reason": "retries exhausted"}))
                else:
                    events.append((next_id, 1, "route", at, {"node": "main_menu", "key": "1"}))
                next_id += 1
            conn.execute(insert(Interaction), calls)
            conn.execute(
                insert(InteractionEvent),
                [{"interaction_id": i, "seq": s, "kind": k, "at": a, "data": d} for i, s, k, a, d in events],
            )
    with engine.connect() as conn:  # statistics as autovacuum would keep them
        conn.execute(text("ANALYZE"))
        conn.commit()
    engine.dispose()


def main() -> None:
    """Fill, then time five passes."""
    from ivr.migrate import upgrade

    url = sys.argv[1] if len(sys.argv) > 1 else None
    per_day = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["IVR_INSTANCE_PATH"] = tmp
        scratch = scratch_postgres(url) if url and url.startswith("postgresql") else f"sqlite:///{tmp}/b.db"
        try:
            upgrade(scratch)
            began = time.perf_counter()
            fill(scratch, per_day)
            print(f"filled 36 days × {per_day} calls in {time.perf_counter() - began:.1f} s")
            from ivr.db import make_engine
            from ivr.insights.alarms import DetectorSettings
            from ivr.insights.alarms_store import Windows, evaluate
            from ivr.models import Interaction

            engine = make_engine(scratch)
            sessions = sessionmaker(engine)
            with sessions() as session:
                print(
                    "calls:", session.scalar(select(Interaction.id).order_by(Interaction.id.desc()).limit(1))
                )
                times = []
                for i in range(5):
                    began = time.perf_counter()
                    _window, found = evaluate(
                        session, NOW + timedelta(minutes=15 * i), Windows(), DetectorSettings()
                    )
                    times.append(time.perf_counter() - began)
                    session.rollback()
            print(f"one pass: {', '.join(f'{t * 1000:.0f} ms' for t in times)} ({len(found)} alarms)")
            engine.dispose()
        finally:
            if url and url.startswith("postgresql"):
                scratch_postgres(url, drop=True)


if __name__ == "__main__":
    main()
