"""Full menu walks of N concurrent simulated calls against gunicorn: latency per webhook, calls/s.

    python benchmarks/webhooks.py --calls 50 --think 1.0              # SQLite
    python benchmarks/webhooks.py --calls 50 --think 1.0 \
        --database postgresql+psycopg://postgres@127.0.0.1:5432/test  # a scratch database beside it

``--think`` is the time a caller spends listening between webhooks; 0 measures saturation.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.simulator import OverHttp, Phone  # noqa: E402

TOKEN = "benchmark-token-0123456789abcdef"
WALK = [("press", "2"), ("press", "1"), ("press", "*"), ("press", "0")]


class TimedTransport(OverHttp):
    """OverHttp with a kept-alive session per thread, timing each webhook by its path."""

    def __init__(self, base_url: str, timings: dict[str, list[float]], lock: threading.Lock) -> None:
        super().__init__(base_url, TOKEN)
        self.http = requests.Session()
        self.timings, self.lock = timings, lock

    def post(self, url: str, params: dict[str, str]) -> tuple[int, str]:
        from twilio.request_validator import RequestValidator

        url = url if url.startswith("http") else self.base_url + url
        signature = RequestValidator(TOKEN).compute_signature(url, params)
        start = time.perf_counter()
        resp = self.http.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=30)
        elapsed = time.perf_counter() - start
        name = url.split("://", 1)[1].split("/", 1)[1].split("?", 1)[0]
        with self.lock:
            self.timings["/" + name].append(elapsed)
        return resp.status_code, resp.text


def scratch_postgres(url: str, drop: bool = False) -> str:
    """Create (or drop) a scratch database beside the given one; returns its URL."""
    base = make_url(url)
    name = "ivr_bench_webhooks"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        if not drop:
            conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def start_server(env: dict[str, str], port: int, workers: int | None) -> subprocess.Popen[bytes]:
    subprocess.run(
        [sys.executable, "-m", "ivr.cli", "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL
    )
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from ivr import create_app; from ivr.setup import "
            "prepare_instance; prepare_instance(create_app())",
        ],
        env=env,
        check=True,
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(ROOT / "gunicorn.conf.py"),
            "--chdir",
            str(ROOT),
            "--bind",
            f"127.0.0.1:{port}",
            *(["--workers", str(workers)] if workers else []),
            "--access-logfile",
            "/dev/null",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        env=env,
    )
    for _ in range(600):  # preloading the intent classifier takes a while on a busy machine
        try:
            requests.get(f"http://127.0.0.1:{port}/health", timeout=1)
            return server
        except requests.ConnectionError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("gunicorn did not start")


def walk(
    base: str, timings: dict[str, list[float]], lock: threading.Lock, think: float, n: int, errors: list[str]
) -> None:
    transport = TimedTransport(base, timings, lock)
    rng = random.Random(threading.get_ident())
    time.sleep(rng.uniform(0, think * 2))  # callers do not all dial in the same millisecond
    for i in range(n):
        phone = Phone(transport, from_number=f"+49151{threading.get_ident() % 10**7:07d}{i % 10}")
        try:
            phone.dial()
            for action, arg in WALK:
                time.sleep(rng.uniform(0.5, 1.5) * think)
                getattr(phone, action)(arg)
            time.sleep(rng.uniform(0.5, 1.5) * think)
            if phone.turn is not None and phone.turn.verb == "Enqueue":  # within opening hours
                phone.queue_result("bridged")
            else:  # out of hours: leave a message instead
                phone.press("2")
                time.sleep(rng.uniform(0.5, 1.5) * think)
                phone.record()
            assert phone.turn is not None and phone.turn.verb == "Hangup", phone.turn
            phone.hang_up()
        except Exception as exc:  # noqa: BLE001 - report, keep the run going
            errors.append(repr(exc))


def main() -> None:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=50, help="concurrent calls")
    parser.add_argument("--walks", type=int, default=4, help="menu walks per concurrent caller")
    parser.add_argument("--think", type=float, default=1.0, help="seconds between a caller's webhooks")
    parser.add_argument("--workers", type=int, default=None, help="default: gunicorn.conf.py's")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database", default=None, help="SQLAlchemy URL (default: a new SQLite file)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{tmp}/bench.db"
        if url.startswith("postgresql"):
            url = scratch_postgres(url)
        env = {
            **os.environ,
            "IVR_DATABASE_URL": url,
            "IVR_INSTANCE_PATH": tmp,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "IVR_PUBLIC_URL": f"http://127.0.0.1:{args.port}",
        }
        server = start_server(env, args.port, args.workers)
        timings: dict[str, list[float]] = defaultdict(list)
        lock, errors = threading.Lock(), []
        base = f"http://127.0.0.1:{args.port}"
        start = time.perf_counter()
        threads = [
            threading.Thread(target=walk, args=(base, timings, lock, args.think, args.walks, errors))
            for _ in range(args.calls)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        server.terminate()
        server.wait(10)
        if url.startswith("postgresql"):
            scratch_postgres(args.database, drop=True)

    calls = args.calls * args.walks - len(errors)
    backend = make_url(url).get_backend_name()
    print(
        f"\n{backend}: {args.calls} concurrent calls x {args.walks} walks, think {args.think}s, "
        f"workers: {args.workers or 'gunicorn.conf.py'}; {calls} calls in {elapsed:.1f}s "
        f"= {calls / elapsed:.1f} calls/s; errors: {len(errors)}"
    )
    print("\n| webhook | requests | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|")
    everything: list[float] = []
    for name, values in [*sorted(timings.items()), ("all", [])]:
        values = values or everything
        everything += values if name != "all" else []
        q = statistics.quantiles(values, n=100, method="inclusive")
        p50, p99, top = q[49] * 1000, q[98] * 1000, max(values) * 1000
        print(f"| {name} | {len(values)} | {p50:.1f} | {p99:.1f} | {top:.1f} |")
    for err in errors[:5]:
        print("error:", err)


if __name__ == "__main__":
    main()
