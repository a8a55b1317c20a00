"""Which numbers we call back: valid, not premium-rate, in an allowed country."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType

#: Calling these costs us per minute or reaches no person.
REFUSED_TYPES = {
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.PAGER,
    PhoneNumberType.UAN,
    PhoneNumberType.VOICEMAIL,
}


@dataclass(frozen=True)
class NumberCheck:
    """A checked number: E.164 when acceptable, else the reason (invalid, premium, foreign)."""

    e164: str | None
    problem: str | None = None


def check_callback_number(raw: str | None, region: str, allowed_regions: tuple[str, ...]) -> NumberCheck:
    """Validate a number a caller wants to be called back on."""
    if not raw or len(raw) > 32:
        return NumberCheck(None, "invalid")
    try:
        number = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        return NumberCheck(None, "invalid")
    if not phonenumbers.is_valid_number(number):
        return NumberCheck(None, "invalid")
    if phonenumbers.number_type(number) in REFUSED_TYPES:
        return NumberCheck(None, "premium")
    if allowed_regions and phonenumbers.region_code_for_number(number) not in allowed_regions:
        return NumberCheck(None, "foreign")
    return NumberCheck(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
