"""Numbers read back in groups a listener can check."""

from __future__ import annotations

import pytest

from ivr.readback import spell_number, spell_phone


@pytest.mark.parametrize(
    ("e164", "lang", "spoken"),
    [
        # Mobile: the prefix as callers know it, then pairs; an odd digit makes the last group three.
        ("+4915112345678", "de", "null eins fünf eins eins — zwei drei — vier fünf — sechs sieben acht"),
        ("+4915112345678", "en", "zero one five one one — two three — four five — six seven eight"),
        # Berlin landline.
        ("+493012345678", "de", "null drei null — eins zwei — drei vier — fünf sechs — sieben acht"),
        # A six-digit area code stays one group.
        ("+4933203123456", "de", "null drei drei zwei null drei — eins zwei — drei vier — fünf sechs"),
    ],
)
def test_phone_numbers_are_read_in_groups(e164, lang, spoken):
    assert spell_phone(e164, lang) == spoken


def test_no_group_is_longer_than_the_area_code():
    groups = spell_phone("+4917612345678901", "de").split(" — ")
    assert all(len(g.split()) <= 3 for g in groups[1:])


def test_order_numbers_are_read_in_pairs():
    assert spell_number("100234567", "de") == "eins null — null zwei — drei vier — fünf sechs sieben"
