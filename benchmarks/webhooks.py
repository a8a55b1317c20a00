"""Signed webhooks over HTTP against gunicorn: the hotline next to a stateless Twilio menu.

    python benchmarks/webhooks.py                    # SQLite (a new file), 5 rounds, medians
    python benchmarks/webhooks.py --quick            # one short round, for trying things
    python benchmarks/webhooks.py --database postgresql+psycopg://postgres@127.0.0.1:5432/test
    python benchmarks/webhooks.py --in-process       # no HTTP: SQL statements and CPU per webhook

Both servers run side by side, idle but for the one measured: the hotline
(``benchmarks/webhooks_app.py``: the real app under the project's ``gunicorn.conf.py``, clock
pinned to a Tuesday 10:00 in Berlin) and the stateless baseline (``benchmarks/stateless_app.py``
under gunicorn with 2 workers). First ``--warm-up`` calls at saturation to each, not counted
(connections, caches); then each round measures both, the first of them alternating:

- **saturation**: ``--callers`` callers dial again as soon as a call ends, no pause between
  webhooks; webhooks answered per second, and the CPU per webhook of the server's processes, of
  PostgreSQL's and of the load generator (from ``/proc``). The two servers' runs come back to back.
- **fixed load**: ``--load-callers`` callers each listening 0.5–1.5 × ``--think`` seconds
  between webhooks; p50/p99 latency per webhook.

The calls mix three walks: returns (menu → 2 → 1 → * → 0 → queue → hang-up), an order-status
lookup by caller ID (1 → 1 → silence → goodbye) and a spoken request (speech result → returns
menu → 0 → queue). Every call ends with its status callback. The medians over rounds are printed
last, then the throughput ratio hotline/baseline of each round and their median (a round's two
saturation runs are back to back, so the machine's drift over minutes moves both alike), and
the same for the server CPU per webhook.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import itertools
import math
import os
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.simulator import InProcess, OverHttp, Phone, Transport  # noqa: E402

TOKEN = "benchmark-token-0123456789abcdef"
#: Tuesday 24 November 2026, 10:00 in Berlin: the hotline is staffed, every walk is the same.
PINNED_AT = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
#: Callers come from this many numbers; each has an order (the caller-ID lookup finds it).
NUMBERS = 500


def number(n: int) -> str:
    return f"+4915190{n % NUMBERS:06d}"


def walk_returns(phone: Phone, pause: Callable[[], None]) -> None:
    phone.dial()
    for key in ("2", "1", "*", "0"):
        pause()
        phone.press(key)
    pause()
    phone.queue_result("bridged")


def walk_order(phone: Phone, pause: Callable[[], None]) -> None:
    phone.dial()
    for key in ("1", "1"):
        pause()
        phone.press(key)
    pause()
    phone.silence()


def walk_speech(phone: Phone, pause: Callable[[], None]) -> None:
    phone.dial()
    pause()
    phone.say("ich möchte etwas zurückschicken")
    pause()
    phone.press("0")
    pause()
    phone.queue_result("bridged")


WALKS = [walk_returns, walk_order, walk_speech]


def one_call(transport: Transport, n: int, pause: Callable[[], None]) -> None:
    """Walk call ``n`` (the walk kind and caller number follow from n) and hang up."""
    phone = Phone(transport, from_number=number(n))
    WALKS[n % len(WALKS)](phone, pause)
    if phone.turn is None or phone.turn.verb != "Hangup":
        raise RuntimeError(f"{WALKS[n % len(WALKS)].__name__} ended with {phone.turn}")
    phone.hang_up()


class TimedTransport(OverHttp):
    """OverHttp with a kept-alive session per caller, recording each webhook's latency."""

    def __init__(self, base_url: str, timings: list[float], lock: threading.Lock) -> None:
        super().__init__(base_url, TOKEN)
        self.http = requests.Session()
        self.timings, self.lock = timings, lock
        from twilio.request_validator import RequestValidator

        self.validator = RequestValidator(TOKEN)

    def post(self, url: str, params: dict[str, str]) -> tuple[int, str]:
        url = url if url.startswith("http") else self.base_url + url
        signature = self.validator.compute_signature(url, params)
        start = time.perf_counter()
        resp = self.http.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=30)
        elapsed = time.perf_counter() - start
        with self.lock:
            self.timings.append(elapsed)
        return resp.status_code, resp.text


@dataclass
class Result:
    webhooks: int = 0
    seconds: float = 0.0
    timings: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: CPU seconds the server's processes (gunicorn and its workers) spent meanwhile.
    cpu: float = 0.0
    #: CPU seconds PostgreSQL's processes spent meanwhile (0 on SQLite, which runs in the server).
    database_cpu: float = 0.0
    #: CPU seconds the load generator (this process) spent meanwhile.
    client_cpu: float = 0.0

    @property
    def cpu_per_webhook(self) -> float:
        """Server CPU milliseconds per webhook: steadier than throughput on a shared machine."""
        return self.per_webhook(self.cpu)

    def per_webhook(self, seconds: float) -> float:
        """CPU milliseconds per webhook."""
        return seconds / self.webhooks * 1000 if self.webhooks else 0.0

    def cpu_split(self, postgres: bool) -> str:
        """Where a webhook's CPU went: the two cores are shared by all three."""
        database = f"PostgreSQL {self.per_webhook(self.database_cpu):.2f}, " if postgres else ""
        client = f"load generator {self.per_webhook(self.client_cpu):.2f}"
        return f"server {self.cpu_per_webhook:.2f}, {database}{client}"

    @property
    def rate(self) -> float:
        return self.webhooks / self.seconds if self.seconds else 0.0

    def quantile(self, q: int) -> float:
        """The q-th percentile in ms; NaN for a run that got fewer than two answers (its errors
        are printed)."""
        if len(self.timings) < 2:
            return math.nan
        return statistics.quantiles(self.timings, n=100, method="inclusive")[q - 1] * 1000


def drive(base: str, callers: int, calls: int, think: float, first: int) -> Result:
    """``callers`` threads place ``calls`` calls in all; returns webhooks/s and latencies."""
    result, lock = Result(), threading.Lock()
    counter = itertools.count(first)
    last = first + calls

    def caller(seed: int) -> None:
        transport = TimedTransport(base, result.timings, lock)
        rng = random.Random(seed)

        def pause() -> None:
            if think:
                time.sleep(rng.uniform(0.5, 1.5) * think)

        if think:
            time.sleep(rng.uniform(0, think))  # callers do not all dial in the same millisecond
        while (n := next(counter)) < last:
            try:
                one_call(transport, n, pause)
            except Exception as exc:  # noqa: BLE001 - count, keep the run going
                with lock:
                    result.errors.append(repr(exc))

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(callers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.perf_counter() - start
    result.webhooks = len(result.timings)
    return result


# --- servers


def scratch_postgres(url: str, drop: bool = False) -> str:
    """Create (or drop) a scratch database beside the given one; returns its URL."""
    base = make_url(url)
    name = f"ivr_bench_webhooks_{os.getpid()}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        if not drop:
            conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def make_app(env: dict[str, str]) -> Any:
    """The hotline in this process, on the benchmark's database, clock pinned."""
    os.environ.update(env)
    from ivr import create_app

    return create_app({"CLOCK": lambda: PINNED_AT, "TWILIO_AUTH_TOKEN": TOKEN})


def prepare(env: dict[str, str]) -> None:
    """Migrate, seed the shipped flows, and give every caller number an order."""
    from ivr.db import session_factory
    from ivr.orders.importer import parse_order, upsert_orders
    from ivr.setup import prepare_instance

    app = make_app(env)
    prepare_instance(app)
    fields = {
        "customer_name": "Kunde",
        "email": "",
        "postal_code": "10115",
        "status": "shipped",
        "carrier": "DHL",
        "tracking_number": "JJD000123456789",
        "ordered_at": "2026-11-12",
        "shipped_at": "2026-11-23",
        "expected_delivery": "2026-11-26",
        "delivered_at": "",
        "items": "1 × Wanderschuhe",
    }
    orders = [
        parse_order({**fields, "order_number": str(4000 + n), "phone": number(n)}) for n in range(NUMBERS)
    ]
    with session_factory(app)() as session:
        upsert_orders(session, orders)
        session.commit()
    session_factory(app).kw["bind"].dispose()


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU seconds (user + system) so far of a process with its children, and of PostgreSQL's
    processes on this machine (Linux ``/proc``)."""
    server = database = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name, fields = (entry / "stat").read_text().rsplit(")", 1)
        except OSError:  # gone meanwhile
            continue
        parent, ticks = int(fields.split()[1]), sum(map(int, fields.split()[11:13]))  # utime, stime
        if int(entry.name) == pid or parent == pid:
            server += ticks
        elif name.endswith("(postgres"):
            database += ticks
    return server / os.sysconf("SC_CLK_TCK"), database / os.sysconf("SC_CLK_TCK")


@contextmanager
def gunicorn(
    env: dict[str, str], port: int, app: str, *options: str, cwd: str | None = None
) -> Iterator[tuple[str, int]]:
    """A gunicorn serving ``app`` on 127.0.0.1:port until the block ends; yields URL and pid."""
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", *options]
    command += ["--access-logfile", "/dev/null", "--log-level", "warning", app]
    server = subprocess.Popen(command, env=env, cwd=cwd)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600  # preloading the classifier is slow on a busy machine
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise SystemExit(f"gunicorn for {app} exited with {server.returncode}")
            try:
                requests.get(base + "/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            raise SystemExit(f"gunicorn for {app} did not start")
        yield base, server.pid
    finally:
        server.terminate()
        server.wait(60)


def hotline(env: dict[str, str], port: int, workers: int | None) -> Any:
    extra = ["--workers", str(workers)] if workers else []
    return gunicorn(
        env,
        port,
        "benchmarks.webhooks_app:app",
        "-c",
        str(ROOT / "gunicorn.conf.py"),
        "--chdir",
        str(ROOT),
        *extra,
    )


@contextmanager
def baseline(env: dict[str, str], port: int) -> Iterator[tuple[str, int]]:
    """The stateless app under plain gunicorn with 2 workers, as a quickstart runs it.

    Started in an empty directory: gunicorn reads ``gunicorn.conf.py`` from the directory it
    runs in (after ``--chdir``), and from the repository it served the baseline with the
    project's settings (worker class, threads, keep-alive) until 2026-11-30.
    """
    with (
        tempfile.TemporaryDirectory(prefix="ivr-baseline-") as elsewhere,
        gunicorn(
            env,
            port,
            "benchmarks.stateless_app:app",
            "--pythonpath",
            str(ROOT),
            "--workers",
            "2",
            cwd=elsewhere,
        ) as server,
    ):
        yield server


# --- in-process profile


def in_process(env: dict[str, str], calls: int, profile: str | None) -> None:
    """SQL statements and CPU per webhook through Flask's test client (no HTTP, one thread)."""
    from ivr.db import session_factory

    app = make_app(env)
    engine = session_factory(app).kw["bind"]
    current = {"path": ""}
    statements: collections.Counter[str] = collections.Counter()
    requests_by_path: collections.Counter[str] = collections.Counter()

    @event.listens_for(engine, "before_cursor_execute")
    def count(*_args: Any) -> None:
        statements[current["path"]] += 1

    class Counting(InProcess):
        def post(self, url: str, params: dict[str, str]) -> tuple[int, str]:
            current["path"] = "/" + url.split("?")[0].split("://", 1)[-1].split("/", 1)[1]
            requests_by_path[current["path"]] += 1
            return super().post(url, params)

    transport = Counting(app, base_url=env["IVR_PUBLIC_URL"])
    for n in range(30):  # warm caches and the classifier
        one_call(transport, n, lambda: None)
    statements.clear()
    requests_by_path.clear()
    profiler = cProfile.Profile() if profile else None
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    for n in range(30, 30 + calls):
        one_call(transport, n, lambda: None)
    if profiler:
        profiler.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    total = sum(requests_by_path.values())
    backend = make_url(env["IVR_DATABASE_URL"]).get_backend_name()
    print(f"\n{backend}, in-process, {calls} calls, {total} webhooks (client side included):")
    print(f"CPU {cpu / total * 1000:.2f} ms per webhook, wall {wall / total * 1000:.2f} ms")
    print("\n| webhook | requests | SQL statements per request |\n|---|---|---|")
    for path, hits in sorted(requests_by_path.items()):
        print(f"| {path} | {hits} | {statements[path] / hits:.2f} |")
    print(f"| all | {total} | {sum(statements.values()) / total:.2f} |")
    if profiler and profile:
        profiler.dump_stats(profile)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)


# --- main


def main() -> None:
    """Run the benchmark and print Markdown tables."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default=None, help="SQLAlchemy URL (default: a new SQLite file)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; medians are reported")
    parser.add_argument("--callers", type=int, default=10, help="concurrent callers at saturation")
    parser.add_argument("--calls", type=int, default=300, help="calls per saturation run")
    parser.add_argument("--warm-up", type=int, default=30, help="calls before measuring, not counted")
    parser.add_argument("--load-callers", type=int, default=50, help="concurrent callers at fixed load")
    parser.add_argument("--load-calls", type=int, default=50, help="calls per fixed-load run")
    parser.add_argument("--think", type=float, default=1.0, help="seconds between a caller's webhooks")
    parser.add_argument("--workers", type=int, default=None, help="hotline workers (gunicorn.conf.py's)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--quick", action="store_true", help="one short round")
    parser.add_argument("--in-process", action="store_true", help="statements and CPU per webhook, no HTTP")
    parser.add_argument("--profile", default=None, help="with --in-process: write cProfile data here")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.calls, args.load_calls = 1, 150, 50

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
            "IVR_BENCH_AT": PINNED_AT.isoformat(),
            "IVR_SPEECH_MODE": "twilio",
            "PYTHONPATH": str(ROOT),
        }
        try:
            prepare(env)
            if args.in_process:
                in_process(env, args.calls, args.profile)
                return
            run(args, env, url)
        finally:
            if url.startswith("postgresql"):
                scratch_postgres(args.database, drop=True)


def run(args: argparse.Namespace, env: dict[str, str], url: str) -> None:
    """Both servers up at once, measured in turns: each round's ratio pairs runs a minute apart."""
    # The baseline checks signatures against its own public URL.
    baseline_env = {**env, "IVR_PUBLIC_URL": f"http://127.0.0.1:{args.port + 1}"}
    rounds: dict[str, list[tuple[Result, Result]]] = {"hotline": [], "baseline": []}
    postgres = make_url(url).get_backend_name() == "postgresql"
    first = 0
    with (
        hotline(env, args.port, args.workers) as hotline_server,
        baseline(baseline_env, args.port + 1) as baseline_server,
    ):
        servers = {"hotline": hotline_server, "baseline": baseline_server}
        for base, _pid in servers.values():
            # Not counted: each worker's first requests open connections and fill caches.
            drive(base, args.callers, args.warm_up, 0.0, first)
            first += args.warm_up
        for number_ in range(args.rounds):
            order = ("baseline", "hotline") if number_ % 2 else ("hotline", "baseline")
            saturated: dict[str, Result] = {}
            for name in order:  # the two saturation runs back to back: they make the ratio
                base, pid = servers[name]
                cpu, database_cpu = cpu_seconds(pid)
                client_cpu = time.process_time()
                saturated[name] = drive(base, args.callers, args.calls, 0.0, first)
                after, database_after = cpu_seconds(pid)
                saturated[name].client_cpu = time.process_time() - client_cpu
                saturated[name].cpu, saturated[name].database_cpu = after - cpu, database_after - database_cpu
                first += args.calls
            for name in order:
                loaded = drive(servers[name][0], args.load_callers, args.load_calls, args.think, first)
                first += args.load_calls
                rounds[name].append((saturated[name], loaded))
                print(
                    f"round {number_ + 1} {name}: {saturated[name].rate:.0f} webhooks/s at saturation "
                    f"(CPU ms each: {saturated[name].cpu_split(postgres)}); "
                    f"p50 {loaded.quantile(50):.1f} / p99 {loaded.quantile(99):.1f} ms at fixed load; "
                    f"errors {len(saturated[name].errors) + len(loaded.errors)}",
                    flush=True,
                )
                for err in (saturated[name].errors + loaded.errors)[:3]:
                    print("  error:", err)

    backend = make_url(url).get_backend_name()
    print(
        f"\n{backend}; hotline workers: {args.workers or 'gunicorn.conf.py'}; medians of {args.rounds} "
        f"round(s); saturation: {args.callers} callers x {args.calls} calls; fixed load: "
        f"{args.load_callers} callers, think {args.think}s, {args.load_calls} calls\n"
    )
    print(
        "| server | webhooks/s at saturation | server CPU ms per webhook | p50 ms | p99 ms | max ms "
        "| errors |\n|---|---|---|---|---|---|---|"
    )
    for name, results in rounds.items():
        rate = statistics.median(s.rate for s, _ in results)
        p50 = statistics.median(load.quantile(50) for _, load in results)
        p99 = statistics.median(load.quantile(99) for _, load in results)
        top = statistics.median(max(load.timings, default=math.nan) * 1000 for _, load in results)
        cpu = statistics.median(s.cpu_per_webhook for s, _ in results)
        errors = sum(len(s.errors) + len(load.errors) for s, load in results)
        print(f"| {name} | {rate:.0f} | {cpu:.2f} | {p50:.1f} | {p99:.1f} | {top:.1f} | {errors} |")
    # A ratio per round, of runs measured back to back: the machine's drift over minutes
    # (docs/benchmarks.md) moves both sides of a pair alike.
    ratios = [h.rate / b.rate for (h, _), (b, _) in zip(rounds["hotline"], rounds["baseline"], strict=True)]
    print(
        "\nratio hotline / stateless baseline (throughput), per round: "
        + ", ".join(f"{r:.2f}" for r in ratios)
        + f"; median {statistics.median(ratios):.2f}"
    )
    # What each webhook costs the server, in baseline webhooks: steadier still, as it leaves
    # out how the two cores were shared with the load generator and the database.
    costs = [
        h.cpu_per_webhook / b.cpu_per_webhook
        for (h, _), (b, _) in zip(rounds["hotline"], rounds["baseline"], strict=True)
    ]
    print(
        "server CPU per webhook, hotline / baseline, per round: "
        + ", ".join(f"{c:.2f}" for c in costs)
        + f"; median {statistics.median(costs):.2f}"
    )


if __name__ == "__main__":
    main()
