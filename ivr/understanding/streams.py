"""Twilio Media Streams: hear the caller live, and move the call on as soon as they stop speaking."""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import current_app, request
from flask.blueprints import BlueprintSetupState
from flask_sock import Sock
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from ivr.config import capture_mode
from ivr.db import session_factory, unit_of_work
from ivr.models import Call
from ivr.twiml import MEDIA_STREAM_PATH, media_stream_url
from ivr.understanding.models import HeardSpeech
from ivr.understanding.service import TELEPHONY_RATE, speech_model
from ivr.understanding.telephony import redirect_call
from ivr.understanding.views import bp
from ivr.webhooks import external_url, signed_url, stream_grant

log = logging.getLogger(__name__)

#: Twilio sends a frame every 20 ms; this long without one means the stream is dead.
RECEIVE_TIMEOUT = 10.0
#: Twilio sends "connected" and "start" right after the handshake; a socket that does not start
#: within this is idle and gives its thread back.
START_TIMEOUT = 5.0
#: Wall-clock bound of one stream (the recogniser's own bounds count audio, which a client
#: sending frames slowly does not advance). The question's <Gather> ends earlier anyway.
MAX_STREAM_SECONDS = 90.0
#: One Twilio media message is ~400 bytes and "start" a few KB; anything bigger is refused.
MAX_MESSAGE_BYTES = 16 * 1024
#: Endings after which the caller waits for us; "stop" and disconnects end with the call or
#: with the Gather's timeout, which reaches the step webhook without our help.
REDIRECT_AFTER = {"endpoint", "silence", "no_input", "max_duration"}
#: Feed the recogniser 100 ms at a time: per-call overhead (partial results) made 20 ms
#: feeds ~25 % slower, and 100 ms is still far below the endpointing silence.
FEED_BYTES = 2 * TELEPHONY_RATE // 10


@bp.record_once
def register_media_route(state: BlueprintSetupState) -> None:
    """Serve the websocket only where calls are streamed: no stream mode, no /twilio/media."""
    app = state.app
    if capture_mode(app.config) != "stream":
        return
    app.config.setdefault("SOCK_SERVER_OPTIONS", {"max_message_size": MAX_MESSAGE_BYTES})
    Sock(app).route(f"{MEDIA_STREAM_PATH}/<token>", endpoint="understanding.media")(media)


def media(ws: Any, token: str) -> None:
    """One Media Streams websocket: connected, start, media…, stop (Twilio's message protocol)."""
    validator = RequestValidator(current_app.config["TWILIO_AUTH_TOKEN"])
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not validator.validate(media_stream_url(signed_url(), token), {}, signature):
        log.warning("security: refused media stream with a bad signature")
        return
    grant = stream_grant(token)
    if grant is None:
        log.warning("security: refused media stream with an expired or forged stream token")
        return
    MediaSession(current_app.config, ws, grant).run()


class MediaSession:
    """Feeds one stream's audio to a streaming recogniser and stores what it heard."""

    def __init__(self, config: dict[str, Any], ws: Any, grant: tuple[str, str]) -> None:
        """Bind to a websocket opened for one call's question (the stream token's grant)."""
        self.config, self.ws = config, ws
        self.granted_call, self.granted_token = grant
        self.call_sid = self.token = self.action = ""
        self.recogniser: Any = None
        self.frames = 0
        self.pending = b""

    def run(self) -> None:
        """Read messages until end of speech, stop, or disconnect; never lose what was heard."""
        ended_by = "disconnect"
        opened = time.monotonic()
        try:
            while True:
                left = self._deadline(opened) - time.monotonic()
                if left <= 0:
                    if self.recogniser is None:
                        log.warning("media stream closed: no start within %.0f s", START_TIMEOUT)
                        return
                    ended_by = "max_duration"  # as if the audio had reached the recogniser's bound
                    break
                raw = self.ws.receive(timeout=min(RECEIVE_TIMEOUT, left))
                if raw is None:
                    if self.recogniser is not None and time.monotonic() < self._deadline(opened):
                        ended_by = "timeout"
                        break
                    continue  # the deadline above decides
                message = _json(raw)
                event = message.get("event")
                if event == "start" and not self.start(message.get("start") or {}):
                    return
                if event == "media" and self.media(message.get("media") or {}):
                    ended_by = self.recogniser.ended_by
                    break
                if event == "stop":
                    ended_by = "stop"
                    break
        finally:
            if self.recogniser is not None:
                if ended_by == "disconnect":
                    log.warning(
                        "media stream of call %s disconnected after %d frames", self.call_sid, self.frames
                    )
                self.finish(ended_by)

    def _deadline(self, opened: float) -> float:
        """When the stream must have started, or must end."""
        return opened + (START_TIMEOUT if self.recogniser is None else MAX_STREAM_SECONDS)

    def start(self, start: dict[str, Any]) -> bool:
        """Check the call waits for this stream and prepare the recogniser."""
        params = start.get("customParameters") or {}
        self.call_sid = str(start.get("callSid") or "")
        self.token, self.action = str(params.get("token") or ""), str(params.get("action") or "")
        if not self.call_sid or not self.token or not self._our_step_url(self.action):
            log.warning("media stream without our parameters (call %s)", self.call_sid or "?")
            return False
        if (self.call_sid, self.token) != (self.granted_call, self.granted_token):
            log.warning(
                "security: media stream token is for another call or question (call %s)", self.call_sid
            )
            return False
        with session_factory()() as session:  # a read: no write lock while the caller waits
            call = session.scalar(select(Call).where(Call.call_sid == self.call_sid))
            waiting = _waits_for(call, self.token)
        if not waiting:
            log.warning("media stream for unknown or moved-on call %s", self.call_sid)
            return False
        model = speech_model(self.config.get("VOSK_MODEL"))
        if model is None:
            log.warning("media stream for call %s but no Vosk model is configured", self.call_sid)
            return False
        grammar = [w for w in str(params.get("grammar") or "").split("|") if w] or None
        self.recogniser = model.stream(
            TELEPHONY_RATE,
            grammar,
            no_input_timeout=float(params.get("no_input") or 8),
            silence_timeout=float(self.config.get("SPEECH_END_SILENCE", 0.8)),
        )
        return True

    def media(self, media: dict[str, Any]) -> bool:
        """Feed one inbound frame; True at end of speech."""
        from speech.audio import AudioError, ulaw_to_pcm

        if self.recogniser is None or media.get("track", "inbound") != "inbound":
            return False
        try:
            pcm = ulaw_to_pcm(str(media.get("payload") or ""))
        except AudioError:
            return False  # one bad frame is not worth ending the caller's turn for
        self.frames += 1
        self.pending += pcm
        if len(self.pending) < FEED_BYTES:
            return False
        pcm, self.pending = self.pending, b""
        return bool(self.recogniser.feed(pcm))

    def finish(self, ended_by: str) -> None:
        """Store the utterance (committed), then redirect the call to its step webhook."""
        heard_at = time.perf_counter()
        if self.pending and not self.recogniser.done:
            self.recogniser.feed(self.pending)  # the last few frames before a stop or disconnect
        transcript = self.recogniser.result()
        with unit_of_work() as session:
            exists = session.scalar(
                select(HeardSpeech.id).where(
                    HeardSpeech.call_sid == self.call_sid, HeardSpeech.token == self.token
                )
            )
            if exists is None:
                session.add(
                    HeardSpeech(
                        call_sid=self.call_sid,
                        token=self.token,
                        text=transcript.text,
                        confidence=transcript.confidence,
                        ended_by=ended_by,
                    )
                )
            call = session.scalar(select(Call).where(Call.call_sid == self.call_sid))
            still_waiting = _waits_for(call, self.token)
        log.info("media stream of call %s ended by %s after %d frames", self.call_sid, ended_by, self.frames)
        if ended_by not in REDIRECT_AFTER or not still_waiting or exists is not None:
            return
        try:  # after the commit, so the step webhook Twilio sends next finds the utterance
            redirect_call(self.config, self.call_sid, self.action)
        except Exception:  # noqa: BLE001 - network or API errors alike: the Gather moves the call on
            log.exception("could not redirect call %s; its Gather timeout moves it on", self.call_sid)
            return
        log.info(
            "call %s redirected %.0f ms after end of speech",
            self.call_sid,
            (time.perf_counter() - heard_at) * 1000,
        )

    def _our_step_url(self, url: str) -> bool:
        """Redirect only to our own step webhook (parameters arrive unsigned)."""
        step = external_url("twilio.step")
        query = parse_qs(urlsplit(url).query)
        return url.startswith(step) and query.get("n", [""])[0].isdigit()


def _waits_for(call: Call | None, token: str) -> bool:
    """Whether the call is live and still waits for the utterance of this listen token."""
    return call is not None and not call.finished and call.variables.get("listen_token") == token


def _json(raw: str | bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
