"""Spoken numbers become the digits a caller means."""

import pytest

from speech.numbers import parse_digits, parse_reference


@pytest.mark.parametrize(
    ("utterance", "digits"),
    [
        ("vier sieben eins eins", "4711"),
        ("zwo null null acht", "2008"),
        ("meine kundennummer lautet drei drei null eins", "3301"),
        ("äh also null sechs neun eins", "0691"),
        ("siebenundvierzig elf", "4711"),
        ("sieben und vierzig zwölf", "4712"),
        ("dreiundsechzig null acht fünfzehn", "6308" + "15"),
        ("vierhundertzwölf neunhundertneunundneunzig", "412999"),
        ("einhundertdrei", "103"),
        ("zwölftausendvierhundert", "12400"),
        ("vier hundert zwölf", "412"),
        ("neunzehnhundertachtzig", "1980"),
        ("doppel null sieben", "007"),
        ("four seven one one", "4711"),
        ("my zip code is oh two one three nine", "02139"),
        ("forty seven eleven", "4711"),
        ("four hundred and twenty three", "423"),
        ("one thousand two hundred thirty four", "1234"),
        ("double five three", "553"),
        ("the number is 4711", "4711"),
        ("4 7 1 1", "4711"),
    ],
)
def test_reads_digits_pairs_and_hundreds(utterance: str, digits: str) -> None:
    assert parse_digits(utterance) == digits


@pytest.mark.parametrize(
    ("utterance", "digits"),
    [
        ("drei vier fünf nein sechs", "346"),
        ("drei vier fünf ich meine drei vier sieben", "347"),
        ("zwo zwo eins äh falsch zwo zwo vier", "224"),
        ("fünf sechs sieben acht nicht sieben sondern neun", "5698"),
        ("einundzwanzig dreizehn nein vierzehn", "2114"),
        ("six six one sorry i mean six six two", "662"),
        ("nine eight seven no wait nine eight six", "986"),
        ("eins zwei drei vier also nochmal eins zwei drei vier", "1234"),
    ],
)
def test_self_corrections_replace_what_was_wrong(utterance: str, digits: str) -> None:
    assert parse_digits(utterance) == digits


def test_articles_and_pronouns_are_not_digits() -> None:
    assert parse_digits("ich habe eine frage zu meiner bestellung") is None
    assert parse_digits("the last one is nine", "en") == "9"
    assert parse_digits("oh sorry wrong line") is None


def test_the_number_is_taken_not_other_counts() -> None:
    said = "ich habe zwei pakete bekommen die bestellnummer ist acht acht eins null"
    assert parse_digits(said) == "8810"


def test_no_digits_gives_none() -> None:
    assert parse_digits("") is None
    assert parse_digits("wo ist mein paket") is None


def test_split_compounds_and_named_second_numbers() -> None:
    assert parse_digits("ein und zwanzig null acht") == "2108"
    said = "meine kundennummer ist drei drei eins zwo und die plz ist eins null"
    assert parse_digits(said) == "3312"


@pytest.mark.parametrize(
    ("spoken", "digits"),
    [
        ("zweimal die fünf", "55"),
        ("vier zweimal die fünf eins", "4551"),
        ("zwei mal die sieben drei", "773"),
        ("dreimal null eins", "0001"),
        ("doppelnull sieben", "007"),
        ("doppel-null acht fünfzehn", "00815"),
        ("double o seven", "007"),
        ("triple seven two", "7772"),
        ("four two times five one", "4551"),
        ("ich hab zwei mal angerufen meine nummer ist vier vier eins", "441"),
    ],
)
def test_repeat_counts(spoken: str, digits: str) -> None:
    assert parse_digits(spoken) == digits


@pytest.mark.parametrize(
    ("spoken", "digits"),
    [
        ("vier sieben eins eins nein also vier sieben eins zwei", "4712"),
        ("drei acht nein also drei neun", "39"),
        ("eins zwei drei vier äh nein also fünf", "1235"),
        ("seven seven one no sorry seven seven two", "772"),
    ],
)
def test_corrections_with_nein_also(spoken: str, digits: str) -> None:
    assert parse_digits(spoken) == digits


@pytest.mark.parametrize(
    ("spoken", "code"),
    [
        ("anton berta eins zwei drei", "AB123"),
        ("meine sendungsnummer ist h wie heinrich null null sieben", "H007"),
        ("j wie julius vier x-ray sieben", "J4X7"),
        ("aachen berlin neun neun", "AB99"),
        ("alpha bravo one two three", "AB123"),
        ("c as in charlie three three", "C33"),
        ("doppel otto fünf", "OO5"),
        ("zweimal die fünf anton", "55A"),
    ],
)
def test_tracking_numbers_with_spelled_letters(spoken: str, code: str) -> None:
    assert parse_reference(spoken) == code


def test_spelling_words_are_only_letters_where_asked() -> None:
    assert parse_reference("ich hätte gern ein hotel") is None  # no digits: not a code
    assert parse_digits("anton berta eins zwei drei") == "123"  # order numbers stay digits
