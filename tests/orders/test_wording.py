"""How numbers, dates and statuses sound (no app needed)."""

from __future__ import annotations

from datetime import date

import pytest

from ivr.models.order import ORDER_STATUSES
from ivr.orders.source import OrderInfo, mask_order_number
from ivr.orders.wording import compose_answer, compose_tracking, say_date
from ivr.readback import spell_number

TODAY = date(2026, 11, 24)  # a Tuesday


@pytest.mark.parametrize(
    ("number", "lang", "spoken"),
    [
        ("4711", "de", "vier sieben — eins eins"),
        ("80331", "de", "acht null — drei drei eins"),
        ("100234", "en", "one zero — zero two — three four"),
        ("7", "de", "sieben"),
    ],
)
def test_numbers_are_read_in_groups(number, lang, spoken):
    assert spell_number(number, lang) == spoken


@pytest.mark.parametrize(
    ("day", "lang", "spoken"),
    [
        (date(2026, 11, 26), "de", "am Donnerstag, dem 26. November"),
        (date(2026, 11, 25), "de", "morgen, am Mittwoch, dem 25. November"),
        (date(2026, 11, 24), "en", "today, on Tuesday, November 24"),
        (date(2027, 1, 4), "de", "am Montag, dem 4. Januar 2027"),
    ],
)
def test_dates_are_weekday_and_date(day, lang, spoken):
    assert say_date(day, lang, TODAY) == spoken


@pytest.mark.parametrize("status", ORDER_STATUSES)
@pytest.mark.parametrize("lang", ["de", "en"])
def test_every_status_has_words_in_both_languages(status, lang):
    answer = compose_answer(
        OrderInfo("4711", status, expected_delivery=date(2026, 11, 26), delivered_at=date(2026, 11, 23)),
        lang,
        TODAY,
    )
    assert answer.count("vier sieben — eins eins" if lang == "de" else "four seven — one one") == 1
    assert "{" not in answer and "None" not in answer


def test_delayed_without_a_new_date_says_so():
    answer = compose_answer(OrderInfo("4711", "delayed"), "de", TODAY)
    assert answer.endswith("Einen neuen Liefertermin haben wir leider noch nicht.")


def test_tracking_hint_reads_only_the_last_six_characters():
    order = OrderInfo("4711", "shipped", tracking_number="1Z999AA10123456784")
    assert compose_tracking(order, "en") == "The tracking number ends in four five — six seven — eight four."
    assert compose_tracking(OrderInfo("4711", "shipped"), "de").startswith("Eine Sendungsnummer gibt es")


def test_order_numbers_are_masked_for_logs():
    assert mask_order_number("987654321") == "******321"
    assert mask_order_number("4711") == "****"
