"""Claims per second with 8 worker processes on PostgreSQL (target ≥ 1,000/s).

Usage: ``python benchmarks/callbacks.py postgresql+psycopg://postgres@127.0.0.1:5432/test [N]``.
Creates a throw-away database, queues N requests, lets 8 processes claim them in batches of 25
(the same ``claim_due`` the dialer uses) and prints claims per second and whether any was claimed twice.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

# This file is named like the package it measures: import the package, not this script.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

WORKERS, BATCH = 8, 25


def claim_all(url: str, name: str, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """Claim batches until none is left; report the ids claimed."""
    import ivr.plugins  # noqa: F401
    from callbacks.claiming import claim_due
    from ivr.db import make_engine, transaction

    sessions = sessionmaker(make_engine(url))
    claimed: list[int] = []
    while True:
        with sessions() as session, transaction(session):
            ids = claim_due(session, name, datetime.now(UTC), BATCH, timedelta(minutes=5))
        if not ids:
            break
        claimed.extend(ids)
    out.put(claimed)


def main(base_url: str, n: int) -> None:
    """Run the benchmark on a fresh database next to ``base_url``."""
    import ivr.plugins  # noqa: F401
    from callbacks.models import CallbackRequest
    from ivr.migrate import upgrade

    base = make_url(base_url)
    db = f"ivr_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db}"'))
    url = base.set(database=db).render_as_string(hide_password=False)
    try:
        upgrade(url)
        engine = create_engine(url)
        at = datetime.now(UTC) - timedelta(minutes=1)
        with engine.begin() as conn:
            conn.execute(
                insert(CallbackRequest),
                [
                    {
                        "phone": f"+4915{i:09d}",
                        "status": "queued",
                        "priority": i % 3,
                        "source": "bench",
                        "language": "de",
                        "window": "asap",
                        "position_at": at,
                        "requested_at": at,
                        "updated_at": at,
                        "due_at": at + timedelta(seconds=i),
                        "next_attempt_at": at,
                        "attempts": 0,
                        "dials": 0,
                        "updates": 0,
                    }
                    for i in range(n)
                ],
            )
        engine.dispose()
        out: multiprocessing.Queue = multiprocessing.get_context("spawn").Queue()  # type: ignore[type-arg]
        ctx = multiprocessing.get_context("spawn")
        procs = [ctx.Process(target=claim_all, args=(url, f"bench-{i}", out)) for i in range(WORKERS)]
        start = time.perf_counter()
        for p in procs:
            p.start()
        results = [out.get() for _ in procs]
        elapsed = time.perf_counter() - start
        for p in procs:
            p.join()
        ids = [i for r in results for i in r]
        print(
            f"{len(ids)} claims by {WORKERS} processes in {elapsed:.2f}s: "
            f"{len(ids) / elapsed:,.0f} claims/s; "
            f"claimed twice: {len(ids) - len(set(ids))}; lost: {n - len(set(ids))}"
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 20_000)
