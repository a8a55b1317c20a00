"""Caller-intent classification for German and English hotline utterances."""

from speech.intents.classifier import (
    LABELS,
    OTHER,
    IntentClassifier,
    IntentResult,
    classify,
    default_classifier,
)
from speech.intents.lang import detect_language

__all__ = [
    "LABELS",
    "OTHER",
    "IntentClassifier",
    "IntentResult",
    "classify",
    "default_classifier",
    "detect_language",
]
