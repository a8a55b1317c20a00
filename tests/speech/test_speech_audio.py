"""Twilio audio is normalised to PCM16 mono; bad input is refused with a clear error."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest

from speech import audio
from speech.audio import AudioError, Resampler, resample, ulaw_to_pcm, wav_to_pcm
from tests.speech.conftest import make_wav


def test_8khz_mono_recording_passes_through() -> None:
    data = make_wav(rate=8000, seconds=0.5)
    pcm = wav_to_pcm(data, 8000)
    assert len(pcm) == 8000 * 2 // 2
    assert pcm == data[44:]


def test_16khz_recording_is_downsampled() -> None:
    pcm = wav_to_pcm(make_wav(rate=16000, seconds=1.0), 8000)
    assert abs(len(pcm) - 16000) <= 4


def test_dual_channel_recording_becomes_mono() -> None:
    pcm = wav_to_pcm(make_wav(rate=8000, channels=2, seconds=0.5), 8000)
    assert len(pcm) == 8000
    assert pcm == wav_to_pcm(make_wav(rate=8000, channels=1, seconds=0.5), 8000)


def test_8bit_recording_is_widened() -> None:
    pcm = wav_to_pcm(make_wav(rate=8000, width=1, seconds=0.25), 8000)
    assert len(pcm) == 4000


@pytest.mark.audio
def test_mulaw_wav_is_decoded(tmp_path: Path) -> None:
    if not shutil.which("sox"):
        pytest.skip("sox needed")
    source, target = tmp_path / "in.wav", tmp_path / "ulaw.wav"
    source.write_bytes(make_wav(rate=8000, seconds=0.5))
    subprocess.run(["sox", str(source), "-e", "u-law", str(target)], check=True)
    pcm = wav_to_pcm(target.read_bytes(), 8000)
    assert len(pcm) == 8000


@pytest.mark.audio
def test_mp3_needs_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not shutil.which("ffmpeg"):
        pytest.skip("ffmpeg needed to make the MP3")
    source, target = tmp_path / "in.wav", tmp_path / "out.mp3"
    source.write_bytes(make_wav(rate=16000, seconds=1.0))
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(source), str(target)], check=True)
    mp3 = target.read_bytes()
    pcm = wav_to_pcm(mp3, 8000)
    assert 0.9 * 16000 <= len(pcm) <= 1.2 * 16000  # encoder padding adds a little
    monkeypatch.setattr(audio.shutil, "which", lambda name: None)
    with pytest.raises(AudioError, match="ffmpeg"):
        wav_to_pcm(mp3, 8000)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (make_wav(amplitude=0), "silent"),
        (make_wav()[:-200][:44] + make_wav()[44:2000], "truncated"),
        (make_wav()[:30], "fmt|data|truncated"),
        (b"<html>not found</html>" * 20, "not a WAV"),
        (b"ID3" + b"\x00" * 500, "MP3"),
    ],
)
def test_bad_recordings_raise_audio_error(data: bytes, message: str) -> None:
    with pytest.raises(AudioError, match=message):
        wav_to_pcm(data, 8000)


def test_oversized_recording_is_refused() -> None:
    with pytest.raises(AudioError, match="larger"):
        wav_to_pcm(b"RIFF" + bytes(audio.MAX_BYTES), 8000)


def test_media_stream_frame_is_decoded() -> None:
    frame = base64.b64encode(bytes([0xFF]) * 160).decode()  # 20 ms of mu-law silence
    pcm = ulaw_to_pcm(frame)
    assert len(pcm) == 320
    assert set(pcm) == {0}


@pytest.mark.parametrize("payload", ["", "not base64!", "===="])
def test_bad_media_frames_raise_audio_error(payload: str) -> None:
    with pytest.raises(AudioError):
        ulaw_to_pcm(payload)


def test_resampling_keeps_duration() -> None:
    pcm = wav_to_pcm(make_wav(rate=8000, seconds=1.0), 8000)
    assert abs(len(resample(pcm, 8000, 16000)) - 32000) <= 4
    resampler = Resampler(8000, 16000)
    streamed = b"".join(resampler.feed(pcm[i : i + 320]) for i in range(0, len(pcm), 320))
    assert abs(len(streamed) - 32000) <= 8
    with pytest.raises(AudioError):
        resample(pcm, 0, 8000)
