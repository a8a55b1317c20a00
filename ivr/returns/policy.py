"""Return rules: the return period, an order's items, the reasons and where each one leads."""

from __future__ import annotations

import re
import secrets
from datetime import date, timedelta

import phonenumbers

from ivr.flows.phrases import words

#: The statutory withdrawal period in Germany (§ 355 BGB): 14 days from delivery.
STATUTORY_DAYS = 14
#: More items than this are not read out as a keypad list: an agent helps instead.
MAX_LISTED_ITEMS = 8
#: ``1 × Wanderschuhe`` / ``2x Socken``: the quantity is not part of the name a caller hears.
_QUANTITY = re.compile(r"^\s*\d+\s*[×xX*]\s*")

#: Keypad digit → reason, as the reason menu offers them.
REASON_KEYS = {"1": "wrong_size", "2": "dislike", "3": "damaged", "4": "defective"}
REASON_WORDS = {
    "wrong_size": {"passt", "größe", "klein", "groß", "size", "fit", "small", "big", "large"},
    "dislike": {"gefällt", "gefallen", "like", "farbe", "colour", "color", "anders"},
    "damaged": {"beschädigt", "kaputt", "damaged", "broken", "zerbrochen"},
    "defective": {"defekt", "funktioniert", "geht", "defective", "faulty", "stopped", "working"},
}


def split_items(items: str | None) -> list[str]:
    """An order's ``items`` field (``;`` or line separated) as the names a caller hears."""
    names = [_QUANTITY.sub("", part).strip() for part in re.split(r"[;\n]", items or "")]
    return [name for name in names if name]


def return_deadline(delivered: date | None, today: date, period_days: int) -> date:
    """The last day a return may be registered (an unknown delivery date counts as today)."""
    return (delivered or today) + timedelta(days=period_days)


def reason_from_speech(text: str) -> str | None:
    """The reason a caller named in words, or None when unsure (two reasons, or none)."""
    said = set(words(text))
    found = [reason for reason, keys in REASON_WORDS.items() if said & keys]
    return found[0] if len(found) == 1 else None


def item_from_speech(text: str, items: list[str]) -> int | None:
    """The index of the one item whose name shares a word with ``text``, else None."""
    said = {w for w in words(text) if len(w) > 2}
    matches = [i for i, name in enumerate(items) if said & set(words(name))]
    return matches[0] if len(matches) == 1 else None


def is_mobile(number: str | None) -> bool:
    """Whether an E.164 number is a mobile one (an SMS can reach it)."""
    if not number:
        return False
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return False
    kind = phonenumbers.number_type(parsed)
    return kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def new_return_number() -> str:
    """Eight random digits, no leading zero: short enough to read out, not enumerable."""
    return str(10_000_000 + secrets.randbelow(90_000_000))


def new_label_token() -> str:
    """The unguessable part of a label link."""
    return secrets.token_urlsafe(24)
