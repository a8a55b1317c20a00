"""Reading numbers back so a listener can check them: digits in short groups, a pause between."""

from __future__ import annotations

import phonenumbers

DIGITS = {
    "de": ("null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun"),
    "en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
}
# The em dash makes text-to-speech pause between groups, as a person reading a number would.
GROUP_PAUSE = " — "
#: An area code up to this long (with its 0) is read as one group ("null eins fünf eins eins").
AREA_CODE_GROUP = 6


def _pairs(chars: list[str]) -> list[list[str]]:
    """Pairs; an odd last character joins the pair before it (a group of three)."""
    groups = [chars[i : i + 2] for i in range(0, len(chars), 2)]
    if len(groups) > 1 and len(groups[-1]) == 1:
        groups[-2:] = [groups[-2] + groups[-1]]
    return groups


def spell_number(text: str, lang: str) -> str:
    """``4711`` → ``vier sieben — eins eins``: pairs, an odd digit joins the last group."""
    words = DIGITS.get(lang, DIGITS["en"])
    chars = [words[int(c)] if c.isdigit() else c.upper() for c in text if c.isalnum()]
    return GROUP_PAUSE.join(" ".join(g) for g in _pairs(chars))


def spell_phone(e164: str, lang: str) -> str:
    """A phone number: the area code as one group (as callers know it), the rest in pairs."""
    words = DIGITS.get(lang, DIGITS["de"])
    national = phonenumbers.format_number(phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.NATIONAL)
    parts = ["".join(c for c in part if c.isdigit()) for part in national.replace("-", " ").split()]
    parts = [p for p in parts if p]
    groups: list[list[str]] = []
    for i, part in enumerate(parts):
        spoken = [words[int(c)] for c in part]
        keep_whole = i == 0 and len(part) > 1 and len(part) <= AREA_CODE_GROUP and len(parts) > 1
        groups.extend([spoken] if keep_whole else _pairs(spoken))
    return GROUP_PAUSE.join(" ".join(g) for g in groups)
