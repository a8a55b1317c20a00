"""Phone numbers: E.164 normalisation and masking for logs."""

from __future__ import annotations

import phonenumbers


def normalize_phone(raw: str | None, region: str = "DE") -> str | None:
    """Return ``raw`` (a number or a SIP URI) as E.164, or None when it holds no possible number."""
    if not raw:
        return None
    raw = sip_user(raw.strip())
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(number: str | None) -> str:
    """``+4915112345678`` → ``+49151*****678``, for logs."""
    if not number:
        return "-"
    if len(number) <= 6:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 9) + number[-3:]


def sip_user(address: str) -> str:
    """The user part of a SIP URI (``sip:+4915112345678@host;transport=tls`` → ``+4915112345678``).

    Anything that is not a SIP URI is returned unchanged.
    """
    scheme, colon, rest = address.partition(":")
    if not colon or scheme.lower() not in ("sip", "sips"):
        return address
    user = rest.split("@", 1)[0] if "@" in rest else ""
    return user.split(";", 1)[0]
