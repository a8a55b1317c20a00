"""The shared customer history with volume: lookups, history pages (first and deep), new contacts,
the console's name search.

    python benchmarks/history.py --customers 100000 --contacts 300000 --heavy 20000
    python benchmarks/history.py --database postgresql+psycopg://postgres@127.0.0.1:5432/test

Data is bulk-inserted; requests go through the Flask test client with a real API key (the
whole stack but the network). A new SQLite file, or a scratch PostgreSQL database beside the
given one (dropped afterwards). Every loop is bounded by ``--requests``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.desk import database, make_app, percentiles  # noqa: E402
from ivr.apikeys import create_api_key  # noqa: E402
from ivr.customers.matching import search_customers  # noqa: E402
from ivr.db import session_factory, transaction  # noqa: E402
from ivr.migrate import upgrade  # noqa: E402
from ivr.models import Customer, Interaction, Order  # noqa: E402

CHANNELS = ("voice", "email", "chat", "ticket", "shop_message")
START = datetime(2025, 1, 1, tzinfo=UTC)
SURNAMES = ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann")


def seed(app, args: argparse.Namespace, rng: random.Random) -> int:
    """Customers, their orders and contacts; returns the id of the customer with ``--heavy`` contacts."""
    factory = session_factory(app)
    with factory() as session, transaction(session):
        for lo in range(0, args.customers, 10_000):
            session.execute(
                insert(Customer),
                [
                    {
                        "id": n + 1,
                        "phone": f"+49151{n:08d}",
                        "email": f"kunde{n}@example.de",
                        "name": f"Kunde{n} {SURNAMES[n % len(SURNAMES)]}",
                        "created_at": START,
                    }
                    for n in range(lo, min(lo + 10_000, args.customers))
                ],
            )
        session.execute(
            insert(Order),
            [
                {"order_number": f"{100000 + n}", "customer_id": n + 1, "status": "shipped"}
                for n in range(0, args.customers, 2)
            ],
        )
        heavy = 1
        rows = [(heavy, i) for i in range(args.heavy)]
        rows += [(rng.randrange(2, args.customers + 1), i) for i in range(args.contacts - args.heavy)]
        for lo in range(0, len(rows), 20_000):
            session.execute(
                insert(Interaction),
                [
                    {
                        "customer_id": customer,
                        "channel": CHANNELS[i % len(CHANNELS)],
                        "direction": "inbound",
                        "started_at": START + timedelta(minutes=i),
                        "status": "completed",
                        "subject": f"Kontakt {i}",
                        "event_seq": 0,
                    }
                    for customer, i in rows[lo : lo + 20_000]
                ],
            )
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("ANALYZE"))
    return heavy


def timed(call, requests: int) -> list[float]:
    """Wall-clock seconds of ``requests`` calls; each must succeed."""
    spent = []
    for _ in range(requests):
        began = time.perf_counter()
        call()
        spent.append(time.perf_counter() - began)
    return spent


def run(args: argparse.Namespace) -> None:
    """Seed, then measure each operation ``--requests`` times."""
    rng = random.Random(11)
    with database(args.database) as url:
        upgrade(url)
        app = make_app(url)
        began = time.perf_counter()
        heavy = seed(app, args, rng)
        print(f"seeded in {time.perf_counter() - began:.0f} s", file=sys.stderr)
        with session_factory(app)() as session:
            key = create_api_key(session, "bench", ["history"])
            session.commit()
        client = app.test_client()
        auth = {"Authorization": f"Bearer {key}"}
        kind = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
        results: list[tuple[str, list[float]]] = []

        def ok(resp, status: int = 200):
            assert resp.status_code == status, resp.get_data(as_text=True)[:200]
            return resp

        def lookup(field: str, value) -> None:
            ok(client.post("/api/customers/search", json={field: value()}, headers=auth))

        n = args.customers
        results.append(
            (
                "search by phone",
                timed(lambda: lookup("phone", lambda: f"+49151{rng.randrange(n):08d}"), args.requests),
            )
        )
        results.append(
            (
                "search by e-mail",
                timed(lambda: lookup("email", lambda: f"kunde{rng.randrange(n)}@example.de"), args.requests),
            )
        )
        results.append(
            (
                "search by order",
                timed(
                    lambda: lookup("order", lambda: f"{100000 + 2 * rng.randrange(n // 2)}"), args.requests
                ),
            )
        )
        results.append(
            (
                f"history page 1 (25), customer with {args.heavy:,} contacts",
                timed(lambda: ok(client.get(f"/api/customers/{heavy}/history", headers=auth)), args.requests),
            )
        )
        cursor = None
        for _ in range(args.depth):  # walk deep into the history
            page = ok(
                client.get(
                    f"/api/customers/{heavy}/history",
                    query_string={"limit": "100", **({"cursor": cursor} if cursor else {})},
                    headers=auth,
                )
            )
            cursor = page.json["next_cursor"]
        deep = {"cursor": cursor} if cursor else {}
        results.append(
            (
                f"history page after {args.depth * 100:,} contacts (cursor)",
                timed(
                    lambda: ok(
                        client.get(f"/api/customers/{heavy}/history", query_string=deep, headers=auth)
                    ),
                    args.requests,
                ),
            )
        )
        results.append(
            (
                "history page 1, filtered channel=ticket",
                timed(
                    lambda: ok(
                        client.get(
                            f"/api/customers/{heavy}/history",
                            query_string={"channel": "ticket"},
                            headers=auth,
                        )
                    ),
                    args.requests,
                ),
            )
        )
        counter = iter(range(10**9))

        def new_contact() -> None:
            i = next(counter)
            body = {
                "channel": "email",
                "subject": "Frage",
                "customer": {"email": f"kunde{rng.randrange(n)}@example.de"},
            }
            ok(client.post("/api/interactions", json=body, headers={**auth, "Idempotency-Key": f"k{i}"}), 201)

        results.append(
            ("POST /api/interactions (idempotency key, outbox off)", timed(new_contact, args.requests))
        )
        with session_factory(app)() as session:
            results.append(
                (
                    f"console name search (LIKE over {n:,} names)",
                    timed(
                        lambda: search_customers(session, f"Kunde{rng.randrange(n)} ", "DE"), args.requests
                    ),
                )
            )
        app.extensions["ivr.db"].kw["bind"].dispose()
    print("| measure | database | n | p50 ms | p95 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|---|---|")
    for name, spent in results:
        print(f"| {name} | {kind} | {percentiles(spent)} |")


def main() -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", help="PostgreSQL URL (a scratch database is made beside it)")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=300_000)
    parser.add_argument("--heavy", type=int, default=20_000, help="contacts of the one busy customer")
    parser.add_argument("--depth", type=int, default=100, help="pages of 100 walked before the deep page")
    parser.add_argument("--requests", type=int, default=100)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
