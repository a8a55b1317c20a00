"""Tell German from English recogniser output."""

from __future__ import annotations

import re

# Short function words decide it: recogniser output is lowercase and unpunctuated, and
# even a two-word utterance nearly always contains one of these.
_DE_WORDS = (
    "ich du sie er es wir ihr mein meine meinen meiner mir mich bitte und oder nicht kein "
    "keine der die das den dem ein eine einen ist sind war habe hab haben hat wo wann wie was "
    "warum wer noch schon auch mit von zu zum zur bei für auf aus nach über ja nein hallo äh "
    "ähm also doch mal gern gerne möchte will würde wollte kann können bestellung paket "
    "rechnung mitarbeiter rückruf danke guten tag"
)
_DE = frozenset(_DE_WORDS.split())
_EN_WORDS = (
    "i you he she it we they my me mine please and or not no the a an is are was have has had "
    "where when how what why who still already also with from to at for on of about yes hello "
    "hi uh um want would could can can't don't i'm it's i'd order package invoice call back "
    "agent thanks thank person my your this that"
)
_EN = frozenset(_EN_WORDS.split())
_WORD = re.compile(r"[a-zäöüß']+")


def detect_language(text: str, default: str = "de") -> str:
    """Return "de" or "en" for an utterance; the default when nothing decides it."""
    words = _WORD.findall(text.lower())
    if any(ch in text for ch in "äöüß"):
        return "de"
    de = sum(w in _DE for w in words)
    en = sum(w in _EN for w in words)
    if de == en:
        return default
    return "de" if de > en else "en"
