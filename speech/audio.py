"""Normalise Twilio audio (recordings, Media Streams frames) to PCM16 mono for Vosk."""

from __future__ import annotations

import base64
import binascii
import io
import shutil
import struct
import warnings

# audioop is deprecated since 3.11 and gone in 3.13 (where audioop-lts provides it); the
# warning is not actionable for us and the test suite turns warnings into errors.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

MAX_BYTES = 10 * 1024 * 1024  # ~10 min of 8 kHz PCM16; far beyond any caller's answer
SAMPLE_WIDTH = 2  # PCM16, what Vosk expects
# A peak below this (of 32767) is digital silence or line hum, not a caller speaking.
SILENCE_PEAK = 100

_WAVE_PCM = 1
_WAVE_ALAW = 6
_WAVE_MULAW = 7
_WAVE_EXTENSIBLE = 0xFFFE
# Writers that stream a WAV before knowing its length put one of these in the size field.
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)


class AudioError(ValueError):
    """Audio that cannot be used for recognition (empty, silent, truncated, not audio)."""


def resample(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
    """Resample PCM16 mono audio between sample rates."""
    if from_rate <= 0 or to_rate <= 0:
        raise AudioError(f"invalid sample rate {from_rate} -> {to_rate}")
    if from_rate == to_rate or not pcm:
        return pcm
    converted, _ = audioop.ratecv(pcm, SAMPLE_WIDTH, 1, from_rate, to_rate, None)
    return converted


class Resampler:
    """Resamples a stream of PCM16 mono chunks, keeping filter state across chunks."""

    def __init__(self, from_rate: int, to_rate: int) -> None:
        """Prepare a resampler from from_rate to to_rate."""
        if from_rate <= 0 or to_rate <= 0:
            raise AudioError(f"invalid sample rate {from_rate} -> {to_rate}")
        self.from_rate, self.to_rate = from_rate, to_rate
        self._state: tuple[int, tuple[tuple[int, int], ...]] | None = None

    def feed(self, pcm: bytes) -> bytes:
        """Resample the next chunk."""
        if self.from_rate == self.to_rate or not pcm:
            return pcm
        converted, self._state = audioop.ratecv(
            pcm, SAMPLE_WIDTH, 1, self.from_rate, self.to_rate, self._state
        )
        return converted


def ulaw_to_pcm(payload_b64: str) -> bytes:
    """Decode one Media Streams frame (base64 8 kHz mu-law) to 8 kHz PCM16 mono."""
    if not payload_b64:
        raise AudioError("empty media frame")
    if len(payload_b64) > MAX_BYTES:
        raise AudioError(f"media frame larger than {MAX_BYTES} bytes")
    try:
        ulaw = base64.b64decode(payload_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AudioError(f"media frame is not valid base64: {exc}") from None
    if not ulaw:
        raise AudioError("empty media frame")
    # Silence is normal in a stream (endpointing needs it), so it is not an error here.
    return audioop.ulaw2lin(ulaw, SAMPLE_WIDTH)


def wav_to_pcm(data: bytes, rate: int) -> bytes:
    """Decode a recording (WAV PCM/mu-law/A-law, or MP3 with ffmpeg) to PCM16 mono at rate."""
    if not data:
        raise AudioError("empty audio")
    if len(data) > MAX_BYTES:
        raise AudioError(f"audio larger than {MAX_BYTES} bytes ({len(data)})")
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        pcm, source_rate = _decode_wav(data)
    elif _looks_like_mp3(data):
        pcm, source_rate = _decode_mp3(data)
    else:
        raise AudioError("not a WAV or MP3 file")
    if not pcm:
        raise AudioError("audio has no samples")
    if audioop.max(pcm, SAMPLE_WIDTH) < SILENCE_PEAK:
        raise AudioError("audio is silent")
    return resample(pcm, source_rate, rate)


def _decode_wav(data: bytes) -> tuple[bytes, int]:
    """PCM16 mono samples and sample rate of a RIFF/WAVE file."""
    fmt: tuple[int, int, int, int] | None = None
    samples: bytes | None = None
    pos = 12
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        body_start = pos + 8
        if chunk_id == b"data" and size in _UNKNOWN_SIZES:
            size = len(data) - body_start
        if body_start + size > len(data):
            raise AudioError(
                f"truncated WAV: {chunk_id.decode('latin-1')!r} chunk needs {size} bytes, "
                f"{len(data) - body_start} present"
            )
        body = data[body_start : body_start + size]
        if chunk_id == b"fmt ":
            if size < 16:
                raise AudioError("WAV fmt chunk too short")
            code, channels, source_rate, _, _, bits = struct.unpack_from("<HHIIHH", body)
            if code == _WAVE_EXTENSIBLE and size >= 26:
                (code,) = struct.unpack_from("<H", body, 24)  # sub-format GUID starts here
            fmt = (code, channels, source_rate, bits)
        elif chunk_id == b"data":
            samples = body
            break
        pos = body_start + size + (size & 1)  # chunks are word-aligned
    if fmt is None:
        raise AudioError("WAV without fmt chunk")
    if samples is None:
        raise AudioError("WAV without data chunk (truncated?)")
    code, channels, source_rate, bits = fmt
    if channels not in (1, 2) or not 1000 <= source_rate <= 192000:
        raise AudioError(f"unsupported WAV: {channels} channels at {source_rate} Hz")
    if code == _WAVE_PCM and bits in (8, 16, 24, 32):
        width = bits // 8
        samples = samples[: len(samples) - len(samples) % (width * channels)]
        if width == 1:
            # 8-bit WAV is unsigned; audioop works on signed samples.
            samples = audioop.bias(samples, 1, -128)
        pcm = audioop.lin2lin(samples, width, SAMPLE_WIDTH) if width != 2 else samples
    elif code in (_WAVE_MULAW, _WAVE_ALAW) and bits == 8:
        samples = samples[: len(samples) - len(samples) % channels]
        decode = audioop.ulaw2lin if code == _WAVE_MULAW else audioop.alaw2lin
        pcm = decode(samples, SAMPLE_WIDTH)
    else:
        raise AudioError(f"unsupported WAV encoding (format {code}, {bits} bits)")
    if channels == 2:
        # Twilio's dual-channel recordings put caller and agent on separate channels;
        # mixing keeps whoever spoke.
        pcm = audioop.tomono(pcm, SAMPLE_WIDTH, 0.5, 0.5)
    return pcm, source_rate


def _looks_like_mp3(data: bytes) -> bool:
    """True for an ID3 tag or an MPEG audio frame sync at the start."""
    return data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0)


def _decode_mp3(data: bytes) -> tuple[bytes, int]:
    """PCM16 mono samples of an MP3 via pydub/ffmpeg."""
    if shutil.which("ffmpeg") is None:
        raise AudioError("MP3 audio needs ffmpeg, which is not installed; request WAV instead")
    with warnings.catch_warnings():
        # pydub warns at import when ffmpeg is missing and uses audioop (deprecated).
        warnings.simplefilter("ignore")
        from pydub import AudioSegment
        from pydub.exceptions import CouldntDecodeError
    try:
        segment = AudioSegment.from_file(io.BytesIO(data), format="mp3")
    except (CouldntDecodeError, IndexError, OSError) as exc:
        raise AudioError(f"could not decode MP3: {str(exc).splitlines()[0][:200]}") from None
    segment = segment.set_channels(1).set_sample_width(SAMPLE_WIDTH)
    return bytes(segment.raw_data), int(segment.frame_rate)
