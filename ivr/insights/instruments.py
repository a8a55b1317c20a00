"""The process-local Prometheus instruments, importable anywhere without pulling in the web layer."""

from __future__ import annotations

from prometheus_client import Histogram

WEBHOOK_SECONDS = Histogram(
    "ivr_webhook_duration_seconds",
    "Time to answer a Twilio webhook, by route (Twilio gives up after 15 s).",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0),
)
SPEECH_DECODE_SECONDS = Histogram(
    "ivr_speech_decode_seconds",
    "Time Vosk took to decode one recorded utterance.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0),
)
