"""Offline speech recognition with Vosk: one model per process, one recogniser per utterance."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import vosk

log = logging.getLogger(__name__)

TELEPHONY_RATE = 8000  # Twilio recordings and Media Streams
KALDI_DEFAULT_RATE = 16000  # what Kaldi's mfcc assumes when the config names no rate
# After decoding this much audio glibc holds on to tens of MB the recogniser freed;
# malloc_trim hands it back so long-lived workers do not creep upwards.
TRIM_AFTER_BYTES = 10 * 2 * TELEPHONY_RATE  # 10 s of 8 kHz PCM16
_CHUNK_SECONDS = 0.2  # feed size for batch decoding; Vosk is indifferent between 20-200 ms

vosk.SetLogLevel(-1)  # Kaldi's logging goes to stderr unconditionally otherwise


class ModelError(RuntimeError):
    """A Vosk model is missing, broken or cannot take the audio it is given."""


@dataclass
class Word:
    """One recognised word with Vosk's confidence and times in seconds."""

    word: str
    conf: float
    start: float
    end: float


@dataclass
class Transcript:
    """What the recogniser heard in one utterance."""

    text: str
    words: list[Word] = field(default_factory=list)

    @property
    def confidence(self) -> float:
        """Mean word confidence (0.0 when nothing was heard)."""
        if not self.words:
            return 0.0
        return sum(w.conf for w in self.words) / len(self.words)


def _read_conf(path: Path) -> dict[str, str]:
    """Kaldi-style "--key=value" options of a config file (missing file: empty)."""
    options: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            match = re.match(r"\s*--([\w-]+)=(\S+)", line)
            if match:
                options[match.group(1)] = match.group(2)
    return options


def _trim_heap() -> None:
    """Return freed heap memory to the OS (glibc only; a no-op elsewhere)."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return
    # musl and other libcs have no malloc_trim; there is nothing to hand back then.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(libc_name).malloc_trim(0)


def _parse_result(raw: str) -> tuple[str, list[Word]]:
    """Text and words of a Vosk JSON result."""
    result: dict[str, Any] = json.loads(raw)
    words = [
        Word(str(w["word"]), float(w.get("conf", 1.0)), float(w["start"]), float(w["end"]))
        for w in result.get("result", [])
    ]
    return str(result.get("text", "")).strip(), words


class SpeechModel:
    """A loaded Vosk model; safe to share between threads and across fork."""

    def __init__(self, path: str | os.PathLike[str], telephony: bool = False) -> None:
        """Load the model at path; with telephony=True fail unless it takes 8 kHz audio."""
        self.path = Path(path)
        if not (self.path / "am").is_dir() and not (self.path / "final.mdl").is_file():
            raise ModelError(f"{self.path} is not a Vosk model directory (no am/)")
        mfcc = _read_conf(self.path / "conf" / "mfcc.conf")
        self.sample_rate = int(float(mfcc.get("sample-frequency", KALDI_DEFAULT_RATE)))
        self.allows_upsample = mfcc.get("allow-upsample", "false").lower() == "true"
        if telephony:
            self.check_rate(TELEPHONY_RATE)  # before the slow load: fail fast at startup
        try:
            self._model = vosk.Model(str(self.path))
        except Exception as exc:  # vosk raises a bare Exception on load failure
            raise ModelError(f"could not load Vosk model {self.path}: {exc}") from None
        self._has_unk = self.find_word("[unk]") >= 0

    def find_word(self, word: str) -> int:
        """The word's id in the model's vocabulary, -1 when unknown."""
        # The Python binding names Model.find_word vosk_model_find_word (vosk 0.3.45).
        finder = getattr(self._model, "find_word", None) or self._model.vosk_model_find_word
        return int(finder(word))

    @property
    def accepts_telephony(self) -> bool:
        """True when 8 kHz audio can be fed directly."""
        return self.accepts_rate(TELEPHONY_RATE)

    def accepts_rate(self, rate: int) -> bool:
        """True when audio at rate can be fed to this model."""
        # Kaldi always downsamples; it upsamples only when mfcc.conf allows it.
        return rate >= self.sample_rate or self.allows_upsample

    def check_rate(self, rate: int) -> None:
        """Raise ModelError when audio at rate cannot be fed to this model."""
        if not self.accepts_rate(rate):
            raise ModelError(
                f"model {self.path.name} expects {self.sample_rate} Hz and its conf/mfcc.conf "
                f"lacks --allow-upsample=true, so {rate} Hz audio would fail with 'Sampling "
                "frequency mismatch'; add the option or use a telephony (8 kHz) model"
            )

    def missing_words(self, words: list[str]) -> list[str]:
        """Words (of phrases) the model does not know; grammars silently drop them."""
        missing: list[str] = []
        for phrase in words:
            for word in phrase.split():
                if word != "[unk]" and self.find_word(word) < 0 and word not in missing:
                    missing.append(word)
        return missing

    def recognizer(self, rate: int, grammar: list[str] | None = None) -> vosk.KaldiRecognizer:
        """A new recogniser for one utterance (free it by dropping the reference)."""
        self.check_rate(rate)
        if grammar is None:
            rec = vosk.KaldiRecognizer(self._model, float(rate))
        else:
            phrases = [p for p in grammar if p.strip()]
            if self._has_unk:
                # Lets the decoder say "none of these" instead of forcing the nearest phrase.
                phrases.append("[unk]")
            # ensure_ascii=False: Vosk does not decode \u escapes and would drop the words.
            grammar_json = json.dumps(phrases, ensure_ascii=False)
            rec = vosk.KaldiRecognizer(self._model, float(rate), grammar_json)
        rec.SetWords(True)
        return rec

    def transcribe(self, pcm: bytes, rate: int, grammar: list[str] | None = None) -> Transcript:
        """Recognise one utterance of PCM16 mono audio at rate."""
        rec = self.recognizer(rate, grammar)
        texts: list[str] = []
        words: list[Word] = []
        step = int(rate * _CHUNK_SECONDS) * 2
        try:
            for start in range(0, len(pcm), step):
                if rec.AcceptWaveform(pcm[start : start + step]):
                    text, found = _parse_result(rec.Result())
                    texts.append(text)
                    words.extend(found)
            text, found = _parse_result(rec.FinalResult())
            texts.append(text)
            words.extend(found)
        finally:
            del rec
            if len(pcm) * TELEPHONY_RATE // rate >= TRIM_AFTER_BYTES:
                _trim_heap()
        return Transcript(" ".join(t for t in texts if t), words)

    def stream(self, rate: int, grammar: list[str] | None = None, **timeouts: float) -> StreamRecognizer:
        """A streaming recogniser with endpointing for one caller turn."""
        return StreamRecognizer(self, rate, grammar, **timeouts)


class StreamRecognizer:
    """Feeds live audio to Vosk and decides when the caller has finished speaking.

    Ends at the first of: Vosk's endpoint (a final result with words), no new words for
    silence_timeout seconds after speech, no speech at all for no_input_timeout seconds,
    or max_seconds of audio. Times are audio time, not wall-clock, so the decision does
    not depend on how fast frames arrive or how busy the machine is.
    """

    def __init__(
        self,
        model: SpeechModel,
        rate: int,
        grammar: list[str] | None = None,
        *,
        silence_timeout: float = 1.2,
        no_input_timeout: float = 5.0,
        max_seconds: float = 30.0,
    ) -> None:
        """Start a recogniser for audio at rate."""
        self._rec: vosk.KaldiRecognizer | None = model.recognizer(rate, grammar)
        self.rate = rate
        self.silence_timeout = silence_timeout
        self.no_input_timeout = no_input_timeout
        self.max_seconds = max_seconds
        self.seconds = 0.0  # audio fed so far
        self.ended_by = ""  # endpoint | silence | no_input | max_duration
        self._texts: list[str] = []
        self._words: list[Word] = []
        self._partial = ""
        self._last_activity = 0.0
        self._heard = False
        self._lock = threading.Lock()  # a recogniser must not be fed from two threads

    @property
    def done(self) -> bool:
        """True once end of speech has been detected."""
        return bool(self.ended_by)

    def feed(self, pcm: bytes) -> bool:
        """Feed PCM16 mono audio; return True once the caller has finished speaking."""
        with self._lock:
            if self.ended_by or self._rec is None:
                return True
            self.seconds += len(pcm) / (2 * self.rate)
            if self._rec.AcceptWaveform(pcm):
                text, words = _parse_result(self._rec.Result())
                if text:
                    self._texts.append(text)
                    self._words.extend(words)
                    self._finish("endpoint", final=False)
                    return True
            else:
                partial = str(json.loads(self._rec.PartialResult()).get("partial", ""))
                if partial != self._partial:
                    self._partial, self._last_activity = partial, self.seconds
                    self._heard = self._heard or bool(partial)
            if self._heard and self.seconds - self._last_activity >= self.silence_timeout:
                self._finish("silence")
            elif not self._heard and self.seconds >= self.no_input_timeout:
                self._finish("no_input")
            elif self.seconds >= self.max_seconds:
                self._finish("max_duration")
            return bool(self.ended_by)

    def _finish(self, reason: str, final: bool = True) -> None:
        """Collect the last result and free the recogniser."""
        if self._rec is not None and final:
            text, words = _parse_result(self._rec.FinalResult())
            if text:
                self._texts.append(text)
                self._words.extend(words)
        self.ended_by = self.ended_by or reason
        self._rec = None  # frees the Kaldi decoder now, not when the stream object dies

    def result(self) -> Transcript:
        """The transcript so far; finishes the stream if it is still open."""
        with self._lock:
            if not self.ended_by:
                self._finish("closed")
            return Transcript(" ".join(self._texts), list(self._words))

    def close(self) -> None:
        """Free the recogniser without waiting for end of speech."""
        with self._lock:
            if not self.ended_by:
                self._finish("closed", final=False)


def load_model(path: str | os.PathLike[str], telephony: bool = False) -> SpeechModel:
    """Load a Vosk model; with telephony=True fail unless it takes 8 kHz audio."""
    model = SpeechModel(path, telephony=telephony)
    log.info(
        "Vosk model %s loaded: %d Hz native, 8 kHz input %s",
        model.path,
        model.sample_rate,
        "ok" if model.accepts_telephony else "NOT accepted",
    )
    return model


_model: SpeechModel | None = None
_model_path: str | None = None
_model_lock = threading.Lock()


def get_model() -> SpeechModel | None:
    """The process's model from $IVR_VOSK_MODEL (loaded once), or None when unset."""
    global _model, _model_path
    path = os.environ.get("IVR_VOSK_MODEL", "").strip()
    if not path:
        return None
    with _model_lock:
        if _model is None or _model_path != path:
            _model, _model_path = load_model(path, telephony=True), path
        return _model
