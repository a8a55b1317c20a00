"""Phone numbers: E.164 normalisation, withheld caller IDs and masking for logs."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

#: What Twilio (and carriers) send as ``From`` when the caller ID is withheld or unknown: the words,
#: and Twilio's keypad spellings of them (+266696687 = "ANONYMOUS", +7378742833 = "RESTRICTED",
#: +2562533 = "BLOCKED", +8656696 = "UNKNOWN", +86282452253 = "UNAVAILABLE").
WITHHELD_CALLER_IDS = frozenset(
    {
        "anonymous",
        "restricted",
        "blocked",
        "unknown",
        "unavailable",
        "private",
        "withheld",
        "+266696687",
        "+7378742833",
        "+2562533",
        "+8656696",
        "+86282452253",
    }
)

#: The one shared key under which every caller without a usable caller ID is counted.
WITHHELD = "withheld"


def is_withheld(raw: str | None) -> bool:
    """Whether ``raw`` (a webhook's ``From``) is a withheld or unknown caller ID rather than a number."""
    return not raw or raw.strip().lower() in WITHHELD_CALLER_IDS


# Every webhook normalises its caller's number (phonenumbers' parsing is costly); a pure function.
@lru_cache(maxsize=1024)
def normalize_phone(raw: str | None, region: str = "DE") -> str | None:
    """``raw`` (a number or a SIP URI) as E.164; None when it holds no possible number or is withheld."""
    if not raw or is_withheld(raw):
        return None
    raw = sip_user(raw.strip())
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None if is_withheld(e164) else e164


def caller_key(caller: str | None) -> str:
    """The key a caller is counted under for abuse limits: the E.164 number, or ``withheld``."""
    return caller or WITHHELD


def mask_phone(number: str | None) -> str:
    """``+4915112345678`` → ``+49151*****678``, for logs."""
    if not number:
        return "-"
    if len(number) <= 6:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 9) + number[-3:]


def display_phone(number: str | None) -> str:
    """``+4915112345678`` → ``+49 1511 2345678``, for people reading a screen."""
    if not number:
        return ""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def sip_user(address: str) -> str:
    """The user part of a SIP URI (``sip:+4915112345678@host;transport=tls`` → ``+4915112345678``).

    Anything that is not a SIP URI is returned unchanged.
    """
    scheme, colon, rest = address.partition(":")
    if not colon or scheme.lower() not in ("sip", "sips"):
        return address
    user = rest.split("@", 1)[0] if "@" in rest else ""
    return user.split(";", 1)[0]
