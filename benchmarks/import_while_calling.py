"""Calls during a long CSV import: webhook latency while ``ivr orders import`` runs.

    python benchmarks/import_while_calling.py                    # 300,000 orders, SQLite in a temp dir
    python benchmarks/import_while_calling.py --thread --batch 1000000000  # the old way: one transaction
    python benchmarks/import_while_calling.py --database-url postgresql+psycopg://…/empty_db

By default the import is the CLI in its own process, as in production; ``--thread`` runs
``import_rows`` in a thread of the calling process instead (``--batch`` then sets the rows per
transaction). Prints the import time and p50/p95/max of the call webhooks answered while the
import ran, next to the same webhooks on an idle database.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from orders import FLOW, percentile, write_csv  # noqa: E402

from ivr import create_app  # noqa: E402
from ivr.db import session_factory  # noqa: E402
from ivr.flows.store import publish_flow  # noqa: E402
from ivr.migrate import upgrade  # noqa: E402
from ivr.orders.csv_import import import_rows, open_csv  # noqa: E402
from ivr.simulator import InProcess, Phone  # noqa: E402


def call(transport: InProcess, n: int, latencies: list[float]) -> None:
    """One call: dial, then ask for the newest order by caller ID; each webhook timed."""
    caller = Phone(transport, from_number=f"+49151{n:08d}")
    for step in (caller.dial, lambda: caller.press("1")):
        started = time.perf_counter()
        step()
        latencies.append((time.perf_counter() - started) * 1000)
    caller.hang_up()


def show(name: str, values: list[float]) -> None:
    """p50/p95/max of webhook latencies."""
    print(
        f"{name}: p50 {statistics.median(values):.1f} ms, p95 {percentile(values, 95):.1f} ms, "
        f"max {max(values):.1f} ms over {len(values)} webhooks"
    )


def main() -> None:
    """Time calls on an idle database, then during an import."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=300_000)
    parser.add_argument("--batch", type=int, default=1000, help="rows per transaction (with --thread)")
    parser.add_argument("--thread", action="store_true", help="import in a thread, not the CLI process")
    parser.add_argument("--database-url", help="an empty database (default: SQLite in a temp dir)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="ivr-bench-"))
    os.environ["IVR_INSTANCE_PATH"] = str(tmp / "instance")
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    app = create_app(
        {"DATABASE_URL": url, "FLOW_NAME": "orders_bench", "PUBLIC_URL": None, "SPEECH_MODE": "twilio"}
    )
    with session_factory(app)() as session:
        publish_flow(session, FLOW, "orders_bench.yaml")
        session.commit()
    csv_path = tmp / "orders.csv"
    write_csv(csv_path, args.orders)
    csv_file = open_csv(csv_path.read_bytes())
    transport = InProcess(app)

    idle: list[float] = []
    for n in range(100):
        call(transport, n, idle)

    done = threading.Event()
    took: list[float] = []

    def run_import() -> None:
        started = time.perf_counter()
        with session_factory(app)() as own:
            import_rows(own, csv_file, batch_size=args.batch)
        took.append(time.perf_counter() - started)
        done.set()

    busy: list[float] = []
    if args.thread:
        threading.Thread(target=run_import).start()
    else:
        started = time.perf_counter()
        env = {**os.environ, "IVR_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
        cli = [sys.executable, "-m", "ivr.cli", "orders", "import", str(csv_path)]
        process = subprocess.Popen(cli, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    n = 0
    while not done.is_set():
        call(transport, n % args.orders, busy)
        n += 1
        if not args.thread and process.poll() is not None:
            took.append(time.perf_counter() - started)
            done.set()
    how = f"in a thread, batches of {args.batch}" if args.thread else "by the CLI in its own process"
    print(f"database: {url.split('://')[0]}, {args.orders} orders imported {how}")
    print(f"import: {took[0]:.1f} s, {n} calls made meanwhile")
    show("webhooks, idle database", idle)
    show("webhooks during the import", busy)


if __name__ == "__main__":
    main()
