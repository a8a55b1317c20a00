"""Words every node shares: one phrase per situation, and the yes/no a caller may say."""

from __future__ import annotations

import re

from ivr.flows.nodes.base import Text

#: Said before a menu is repeated because the caller said and pressed nothing.
NO_INPUT = Text({"de": "Ich habe leider nichts gehört.", "en": "Sorry, I didn't hear anything."})
#: Said before a menu is repeated because the key or words fit no option.
NO_MATCH = Text({"de": "Das habe ich leider nicht verstanden.", "en": "Sorry, I didn't get that."})

#: Spoken answers to a yes/no question, per language; phrases are matched as whole words.
YES = {
    "de": ["ja", "jawohl", "jo", "genau", "richtig", "korrekt", "stimmt", "gern", "gerne", "bitte", "okay",
           "ok", "klar", "sicher", "auf jeden fall", "sehr gern"],
    "en": ["yes", "yeah", "yep", "yup", "sure", "right", "correct", "exactly", "okay", "ok", "please",
           "of course", "absolutely"],
}  # fmt: skip
NO = {
    "de": ["nein", "nee", "ne", "nö", "nicht", "falsch", "kein", "keinen", "lieber nicht", "auf keinen fall"],
    "en": ["no", "nope", "nah", "not", "wrong", "no thanks", "don't"],
}  # fmt: skip


def words(text: str) -> list[str]:
    """Lowercase words of a transcript."""
    return re.findall(r"[\wäöüß']+", text.lower())


def contains_phrase(said: list[str], phrase: str) -> bool:
    """Whether the words of ``phrase`` occur in ``said`` as whole, consecutive words."""
    wanted = words(phrase)
    n = len(wanted)
    return n > 0 and any(said[i : i + n] == wanted for i in range(len(said) - n + 1))


def yes_or_no(text: str, languages: list[str]) -> bool | None:
    """True for a spoken yes, False for a no (a no wins: "ja, aber lieber nicht"), None otherwise."""
    said = words(text)
    if any(contains_phrase(said, p) for lang in languages for p in NO.get(lang, [])):
        return False
    if any(contains_phrase(said, p) for lang in languages for p in YES.get(lang, [])):
        return True
    return None


def yes_no_words(lang: str) -> list[str]:
    """Every single word of the yes/no phrases of ``lang`` (recogniser hints and vocabularies)."""
    return sorted({w for p in YES.get(lang, []) + NO.get(lang, []) for w in words(p)})
