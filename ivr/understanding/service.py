"""What the ask_intent node needs beyond the call state: capture mode, recogniser, classifier."""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.config import capture_mode
from ivr.insights.instruments import SPEECH_DECODE_SECONDS
from ivr.understanding.models import HeardSpeech
from ivr.understanding.recordings import RecordingRefused, RecordingUnavailable, fetch_recording

if TYPE_CHECKING:
    from ivr.flows.definition import Flow
    from ivr.services import Services
    from speech.intents import IntentClassifier
    from speech.recognition import SpeechModel

log = logging.getLogger(__name__)

TELEPHONY_RATE = 8000

_models: dict[str, SpeechModel] = {}
_models_lock = threading.Lock()
#: Classifiers extended by a flow's admin examples, by flow checksum (training takes seconds).
_classifiers: OrderedDict[str, IntentClassifier] = OrderedDict()
_classifiers_lock = threading.Lock()
MAX_CLASSIFIERS = 4


@dataclass(frozen=True)
class Heard:
    """An utterance from our own recogniser, or why there is none."""

    text: str
    confidence: float
    problem: str | None = None


def speech_model(path: str | None) -> SpeechModel | None:
    """The Vosk model at ``path``, loaded once per process (None without a path)."""
    if not path:
        return None
    from speech.recognition import load_model

    with _models_lock:
        if path not in _models:
            _models[path] = load_model(path, telephony=True)
        return _models[path]


def validation_model() -> SpeechModel | None:
    """The model of this deployment ($IVR_VOSK_MODEL), for checking grammar words of flows."""
    return speech_model(os.environ.get("IVR_VOSK_MODEL", "").strip() or None)


def describe_speech_setup(config: dict[str, Any]) -> str:
    """One line for the startup log: which recogniser and model answer callers."""
    mode = capture_mode(config)
    if config.get("SPEECH_MODE") == "vosk" and not config.get("VOSK_MODEL"):
        return f"speech: no Vosk model configured (IVR_VOSK_MODEL); falling back to '{mode}'"
    if mode in ("record", "stream"):
        return f"speech: Vosk model {config['VOSK_MODEL']} via {mode}"
    return f"speech: mode '{mode}' (no Vosk model used)"


def classifier_for(flow: Flow) -> IntentClassifier:
    """The intent classifier, extended by the flow's admin example phrases when it has any."""
    from speech.intents import IntentClassifier, default_classifier

    if not flow.intents:
        return default_classifier()
    key = flow.checksum
    with _classifiers_lock:
        found = _classifiers.get(key)
        if found is None:
            found = IntentClassifier(flow.intents)
            _classifiers[key] = found
            while len(_classifiers) > MAX_CLASSIFIERS:
                _classifiers.popitem(last=False)
        _classifiers.move_to_end(key)
        return found


def recognise_recording(config: dict[str, Any], url: str, call_sid: str) -> Heard:
    """Fetch a <Record> result from Twilio's media host and recognise it with Vosk."""
    from speech.audio import AudioError, wav_to_pcm

    model = speech_model(config.get("VOSK_MODEL"))
    if model is None:
        return Heard("", 0.0, "no_model")
    try:
        pcm = wav_to_pcm(fetch_recording(url, config), TELEPHONY_RATE)
    except RecordingRefused as exc:
        log.warning("security: refused RecordingUrl on foreign host %s (call %s)", exc, call_sid)
        return Heard("", 0.0, "foreign_host")
    except (RecordingUnavailable, AudioError) as exc:
        log.warning("recording of call %s unusable: %s", call_sid, exc)
        return Heard("", 0.0, "unavailable")
    with SPEECH_DECODE_SECONDS.time():
        transcript = model.transcribe(pcm, TELEPHONY_RATE)
    return Heard(transcript.text, transcript.confidence)


def store_heard(session: Session, call_sid: str, token: str, heard: Heard) -> bool:
    """Keep an utterance for the call's next step (flush only); False if one is already kept."""
    exists = session.scalar(
        select(HeardSpeech.id).where(HeardSpeech.call_sid == call_sid, HeardSpeech.token == token)
    )
    if exists is not None:
        return False
    session.add(
        HeardSpeech(
            call_sid=call_sid,
            token=token,
            text=heard.text,
            confidence=heard.confidence,
            ended_by=heard.problem or "",
        )
    )
    session.flush()
    return True


def heard_before(session: Session, call_sid: str, token: str) -> Heard | None:
    """The utterance kept for this call and listen token, if any."""
    row = session.scalar(
        select(HeardSpeech).where(HeardSpeech.call_sid == call_sid, HeardSpeech.token == token)
    )
    if row is None:
        return None
    return Heard(row.text, row.confidence, None if row.text else row.ended_by or "no_input")


class SpeechService:
    """Per-webhook access to capture settings, recordings and media-stream results."""

    def __init__(self, services: Services) -> None:
        """Bind to one webhook's services."""
        self.services = services
        self.config = services.config
        self.mode = capture_mode(self.config)

    def recognise_recording(self, url: str) -> Heard:
        """Fetch a <Record> result from Twilio and recognise it with Vosk."""
        return recognise_recording(self.config, url, self.services.call_sid)

    def streamed(self, token: str) -> Heard | None:
        """What was heard (media stream or recording) for this call and listen token, if finished."""
        return heard_before(self.services.session, self.services.call_sid, token)


def build_speech(services: Services) -> SpeechService:
    """Service factory for ``ctx.services.get("speech")``."""
    return SpeechService(services)
