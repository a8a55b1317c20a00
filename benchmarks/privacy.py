"""How long the privacy purge and one erasure take on a database with many contacts.

Usage: ``python benchmarks/privacy.py [DATABASE_URL] [N]`` (default: a temporary SQLite file,
N = 50,000). Stores N contacts due for purging and N recent ones (a customer, a call, four
events, a transcript and an order each), then times ``ivr privacy purge`` and the erasure of one
recent customer by phone number.
"""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

from sqlalchemy import create_engine, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

BATCH = 5000


def fill(url: str, n: int, now: datetime) -> None:
    """N old and N recent contacts, inserted in batches."""
    import ivr.plugins  # noqa: F401
    from ivr.db import make_engine
    from ivr.models import Customer, Interaction, InteractionEvent, Order
    from ivr.privacy.models import Transcript

    engine = make_engine(url)
    with engine.begin() as conn:
        for age, offset in ((timedelta(days=800), 0), (timedelta(days=1), n)):
            when = now - age
            for start in range(0, n, BATCH):
                ids = range(offset + start + 1, offset + min(start + BATCH, n) + 1)
                phone = "+49151{:08d}".format
                conn.execute(
                    insert(Customer),
                    [{"id": i, "phone": phone(i), "name": f"Kunde {i}", "created_at": when} for i in ids],
                )
                conn.execute(
                    insert(Interaction),
                    [
                        {
                            "id": i,
                            "customer_id": i,
                            "call_sid": f"CA{i:032x}",
                            "from_number": phone(i),
                            "to_number": "+4930123456",
                            "started_at": when,
                            "ended_at": when,
                            "status": "completed",
                            "duration": 60,
                            "outcome": "self_service",
                            "intent": "order_status",
                            "language": "de",
                            "event_seq": 4,
                        }
                        for i in ids
                    ],
                )
                conn.execute(
                    insert(InteractionEvent),
                    [
                        {"interaction_id": i, "seq": s, "kind": "node", "at": when, "data": {"node": "menu"}}
                        for i in ids
                        for s in range(1, 5)
                    ],
                )
                conn.execute(
                    insert(Transcript),
                    [
                        {
                            "interaction_id": i,
                            "call_sid": f"CA{i:032x}",
                            "source": "input.speech",
                            "text": "wo ist mein paket",
                            "created_at": when,
                        }
                        for i in ids
                    ],
                )
                conn.execute(
                    insert(Order),
                    [
                        {
                            "order_number": str(100000 + i),
                            "customer_id": i,
                            "phone": phone(i),
                            "status": "delivered",
                            "postal_code": "10115",
                            "updated_at": when,
                        }
                        for i in ids
                    ],
                )
    engine.dispose()


def main(url: str | None, n: int) -> None:
    """Fill, purge, erase; print the timings."""
    import ivr.plugins  # noqa: F401
    from ivr.db import make_engine
    from ivr.migrate import upgrade
    from ivr.privacy.retention import DEFAULT_RETENTION_DAYS
    from ivr.privacy.service import erase_person, purge_due

    drop = None
    if url is None:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    elif url.startswith("postgresql"):
        base = make_url(url)
        name = f"bench_privacy_{uuid.uuid4().hex[:8]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = base.set(database=name).render_as_string(hide_password=False)
        drop = (admin, name)
    try:
        upgrade(url)
        now = datetime.now(UTC)
        started = time.perf_counter()
        fill(url, n, now)
        print(f"stored {2 * n} contacts ({16 * n} rows) in {time.perf_counter() - started:.1f} s")
        engine = make_engine(url)
        sessions = sessionmaker(engine)
        config = {
            "RETENTION_DAYS": DEFAULT_RETENTION_DAYS,
            "SECRET_KEY": "bench",
            "TWILIO_ACCOUNT_SID": "AC",
            "TWILIO_AUTH_TOKEN": "x",
            "TWILIO_HTTP_CLIENT": None,
        }
        started = time.perf_counter()
        report = purge_due(sessions, config, now)
        took = time.perf_counter() - started
        total = sum(v for kinds in report.counts.values() for v in kinds.values())
        print(f"purge: {total} rows deleted or anonymised in {took:.2f} s")
        for kind, tables in sorted(report.counts.items()):
            print(f"  {kind}: {tables}")
        started = time.perf_counter()
        erased = erase_person(sessions, config, "phone", f"+49151{n + n // 2:08d}", "bench")
        print(
            f"erase one person (phone): {sum(erased.counts.values())} rows in "
            f"{(time.perf_counter() - started) * 1000:.0f} ms"
        )
        with sessions() as session:
            from ivr.models import Interaction

            left = session.scalar(select(Interaction.id).where(Interaction.customer_id.is_(None)).limit(1))
            assert left is not None
        engine.dispose()
    finally:
        if drop is not None:
            admin, name = drop
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main(
        sys.argv[1] or None if len(sys.argv) > 1 else None, int(sys.argv[2]) if len(sys.argv) > 2 else 50_000
    )
