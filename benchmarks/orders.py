"""Order-status benchmark: CSV import throughput and webhook latency with many orders.

    python benchmarks/orders.py                      # 1,000,000 orders, SQLite in a temp dir
    python benchmarks/orders.py --orders 100000 --database-url postgresql+psycopg://…/empty_db

Prints import throughput and p50/p95/p99 of the two order-status webhooks (caller-ID offer,
and order number → verified answer), driven through the real Flask app and signed webhooks.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr import create_app  # noqa: E402
from ivr.db import session_factory  # noqa: E402
from ivr.flows.store import publish_flow  # noqa: E402
from ivr.migrate import upgrade  # noqa: E402
from ivr.orders.csv_import import import_rows, open_csv  # noqa: E402
from ivr.orders.importer import CSV_HEADER  # noqa: E402
from ivr.simulator import InProcess, Phone  # noqa: E402

FLOW = """
name: orders_bench
languages: [de, en]
start: menu
nodes:
  menu:
    type: menu
    prompt: {de: "Zu einer Bestellung drücken Sie die 1.", en: "For an order press 1."}
    options: {"1": orders}
    no_input: {de: "Nichts gehört.", en: "Nothing heard."}
    no_match: {de: "Nicht verstanden.", en: "Not understood."}
    on_failure: agent
  orders: {type: order_status, next: goodbye, on_failure: agent}
  agent: {type: route, queue: service}
  goodbye: {type: hangup, say: {de: "Auf Wiederhören.", en: "Goodbye."}}
"""
STATUSES = ["shipped", "processing", "delayed", "delivered", "out_for_delivery", "cancelled"]


def write_csv(path: Path, count: int) -> None:
    """``count`` plausible orders; order n belongs to phone +49151 n."""
    rng = random.Random(7)
    with path.open("w", encoding="utf-8") as fh:
        fh.write(",".join(CSV_HEADER) + "\n")
        for n in range(count):
            day = 1 + n % 28
            fh.write(
                f"{10_000_000 + n},Kunde {n},+49151{n:08d},k{n}@example.de,{10115 + n % 80000:05d},"
                f"{rng.choice(STATUSES)},DHL,JJD{n:012d},2026-10-{day:02d},,2026-11-{day:02d},,"
                f"2 Artikel\n"
            )


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    """Import, then time the order-status webhooks."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--database-url", help="an empty database (default: SQLite in a temp dir)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="ivr-bench-"))
    os.environ["IVR_INSTANCE_PATH"] = str(tmp / "instance")
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    app = create_app(
        {"DATABASE_URL": url, "FLOW_NAME": "orders_bench", "PUBLIC_URL": None, "SPEECH_MODE": "twilio"}
    )

    csv_path = tmp / "orders.csv"
    write_csv(csv_path, args.orders)
    with session_factory(app)() as session:
        started = time.perf_counter()
        report = import_rows(session, open_csv(csv_path.read_bytes()))
        took = time.perf_counter() - started
        publish_flow(session, FLOW, "orders_bench.yaml")
        session.commit()
    print(f"database: {url.split('://')[0]}")
    print(f"import: {report.summary()} in {took:.1f} s = {report.stored / took:,.0f} rows/s")

    rng = random.Random(11)
    offer_ms: list[float] = []
    answer_ms: list[float] = []
    transport = InProcess(app)
    for _ in range(args.calls):
        n = rng.randrange(args.orders)
        caller = Phone(transport, from_number=f"+49151{n:08d}")
        caller.dial()
        started = time.perf_counter()
        caller.press("1")  # caller-ID lookup of the newest open order
        offer_ms.append((time.perf_counter() - started) * 1000)
        # Open orders are offered ("drücken Sie die 1"); others are asked for by number.
        keys = "1" if "drücken Sie die 1" in caller.heard else f"{10_000_000 + n}#"
        started = time.perf_counter()
        caller.press(keys)  # lookup, verified by caller ID, the spoken answer
        answer_ms.append((time.perf_counter() - started) * 1000)
        assert "Ihre Bestellung" in caller.heard, caller.heard
    for name, values in (("offer (caller ID)", offer_ms), ("answer", answer_ms)):
        print(
            f"webhook {name}: p50 {statistics.median(values):.1f} ms, p95 {percentile(values, 95):.1f} ms, "
            f"p99 {percentile(values, 99):.1f} ms over {len(values)} calls"
        )


if __name__ == "__main__":
    main()
