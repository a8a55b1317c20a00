"""Phone numbers: E.164 normalisation and masking for logs."""

from __future__ import annotations

import phonenumbers


def normalize_phone(raw: str | None, region: str = "DE") -> str | None:
    """Return ``raw`` as E.164, or None when it is not a possible phone number."""
    if not raw:
        return None
    try:
        number = phonenumbers.parse(raw.strip(), region)
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
