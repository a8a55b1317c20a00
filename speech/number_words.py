"""Number words of German and English recogniser output, and their values."""

from __future__ import annotations

from functools import lru_cache

DE_UNITS = {
    "null": 0,
    "eins": 1,
    "zwei": 2,
    "zwo": 2,
    "drei": 3,
    "vier": 4,
    "fünf": 5,
    "sechs": 6,
    "sieben": 7,
    "acht": 8,
    "neun": 9,
}
# Forms a unit takes inside a compound ("ein-und-zwanzig", "sech-zehn", "sieb-zig").
DE_PREFIX_UNITS = {
    "ein": 1,
    "zwei": 2,
    "zwo": 2,
    "drei": 3,
    "vier": 4,
    "fünf": 5,
    "sechs": 6,
    "sieben": 7,
    "acht": 8,
    "neun": 9,
}
DE_TEENS = {
    "zehn": 10,
    "elf": 11,
    "zwölf": 12,
    "dreizehn": 13,
    "vierzehn": 14,
    "fünfzehn": 15,
    "sechzehn": 16,
    "siebzehn": 17,
    "achtzehn": 18,
    "neunzehn": 19,
}
DE_TENS = {
    "zwanzig": 20,
    "dreissig": 30,
    "vierzig": 40,
    "fünfzig": 50,
    "sechzig": 60,
    "siebzig": 70,
    "achtzig": 80,
    "neunzig": 90,
}
EN_UNITS = {
    "zero": 0,
    "oh": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
EN_TEENS = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
EN_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
SCALES = {"hundert": 100, "hundred": 100, "tausend": 1000, "thousand": 1000}
REPEATERS = {"doppel": 2, "doppelt": 2, "doppelte": 2, "double": 2, "triple": 3}
ARTICLES = {"ein", "eine", "einen", "one", "a"}
# Words after which English "one" is a pronoun ("the last one is seven"), not a digit.
ONE_PRONOUN_AFTER = {"the", "last", "first", "that", "this", "which", "a", "every", "no"}

# Self-corrections: the numbers after the marker replace the last chunks before it.
CORRECTION_WORDS = {
    "nein",
    "nee",
    "ne",
    "falsch",
    "quatsch",
    "sorry",
    "korrektur",
    "oder",
    "no",
    "correction",
    "oops",
    "pardon",
    "entschuldigung",
}
CORRECTION_PHRASES = (("ich", "meine"), ("ich", "mein"), ("i", "mean"), ("scratch", "that"))
NEGATIONS = {"nicht", "not"}
INSTEAD = {"sondern", "but"}
# Words that do not separate two parts of one number when they stand between them.
# Naming a number ("… und die plz ist …") starts a new one: never joined to digits before.
NUMBER_NAMES = {
    "nummer",
    "bestellnummer",
    "auftragsnummer",
    "kundennummer",
    "rechnungsnummer",
    "sendungsnummer",
    "plz",
    "postleitzahl",
    "hausnummer",
    "telefonnummer",
    "number",
    "zip",
    "postcode",
    "code",
}
FILLERS = {
    "äh",
    "ähm",
    "öhm",
    "hm",
    "hmm",
    "ehm",
    "em",
    "uh",
    "um",
    "erm",
    "also",
    "ja",
    "und",
    "and",
    "dann",
    "then",
    "so",
    "genau",
    "okay",
    "ok",
    "bitte",
    "please",
    "moment",
    "warte",
    "wait",
    "die",
    "das",
    "ist",
    "is",
    "it's",
    "its",
    "it",
}


@lru_cache(maxsize=4096)
def parse_de_word(word: str) -> int | None:
    """Value of one German number word, compounds included ("zwölftausenddreihundert")."""
    if not word:
        return None
    if "tausend" in word:
        head, _, tail = word.partition("tausend")
        mult = 1 if head in ("", "ein") else _parse_de_below_1000(head)
        rest = 0 if tail == "" else _parse_de_below_1000(tail)
        if mult is None or rest is None:
            return None
        return mult * 1000 + rest
    return _parse_de_below_1000(word)


def _parse_de_below_1000(word: str) -> int | None:
    """Value of a German number word below 1000, or None."""
    if "hundert" in word:
        head, _, tail = word.partition("hundert")
        # "neunzehnhundertachtzig": years are read with a teen before "hundert"
        mult = 1 if head in ("", "ein") else DE_PREFIX_UNITS.get(head, DE_TEENS.get(head))
        rest = 0 if tail == "" else _parse_de_below_100(tail)
        if mult is None or rest is None:
            return None
        return mult * 100 + rest
    return _parse_de_below_100(word)


def _parse_de_below_100(word: str) -> int | None:
    """Value of a German number word below 100, or None."""
    if word in DE_UNITS:
        return DE_UNITS[word]
    if word in DE_TEENS:
        return DE_TEENS[word]
    if word in DE_TENS:
        return DE_TENS[word]
    if "und" in word:
        unit, _, tens = word.partition("und")
        if unit in DE_PREFIX_UNITS and tens in DE_TENS:
            return DE_PREFIX_UNITS[unit] + DE_TENS[tens]
    return None


def word_value(word: str) -> int | None:
    """Value of a single number word in either language (numerals included)."""
    if word.isdigit():
        return None  # numerals keep their leading zeros; handled by the caller
    if word in EN_UNITS:
        return EN_UNITS[word]
    if word in EN_TEENS:
        return EN_TEENS[word]
    if word in EN_TENS:
        return EN_TENS[word]
    if word in SCALES:
        return SCALES[word]
    return parse_de_word(word)


# Repeat counts spoken before a digit: "zweimal die fünf", "dreimal null", "two times five".
REPEAT_COUNTS = {"zweimal": 2, "dreimal": 3, "viermal": 4, "fünfmal": 5, "twice": 2, "thrice": 3}
REPEAT_TIMES = {"mal", "times"}  # "zwei mal die sieben", "three times one"
REPEAT_ARTICLES = {"die", "the", "a"}

# Letters of tracking numbers read in a spelling alphabet: German DIN 5009 (the traditional
# names and the 2022 city names) and the NATO/ICAO alphabet. "x-ray" is joined to "xray".
SPELLING = {
    **dict.fromkeys(["anton", "aachen"], "A"),
    **dict.fromkeys(["berta", "bertha", "berlin"], "B"),
    **dict.fromkeys(["cäsar", "caesar", "chemnitz"], "C"),
    **dict.fromkeys(["dora", "düsseldorf"], "D"),
    **dict.fromkeys(["emil", "essen"], "E"),
    **dict.fromkeys(["friedrich", "frankfurt"], "F"),
    **dict.fromkeys(["gustav", "goslar"], "G"),
    **dict.fromkeys(["heinrich", "hamburg"], "H"),
    **dict.fromkeys(["ida", "ingelheim"], "I"),
    **dict.fromkeys(["julius", "jena"], "J"),
    **dict.fromkeys(["kaufmann", "konrad", "köln"], "K"),
    **dict.fromkeys(["ludwig", "leipzig"], "L"),
    **dict.fromkeys(["martha", "marta", "münchen"], "M"),
    **dict.fromkeys(["nordpol", "nürnberg"], "N"),
    **dict.fromkeys(["otto", "offenbach"], "O"),
    **dict.fromkeys(["paula", "potsdam"], "P"),
    **dict.fromkeys(["quelle", "quickborn"], "Q"),
    **dict.fromkeys(["richard", "rostock"], "R"),
    **dict.fromkeys(["samuel", "siegfried", "salzwedel"], "S"),
    **dict.fromkeys(["theodor", "tübingen"], "T"),
    **dict.fromkeys(["ulrich", "unna"], "U"),
    **dict.fromkeys(["viktor", "völklingen"], "V"),
    **dict.fromkeys(["wilhelm", "wuppertal"], "W"),
    **dict.fromkeys(["xanthippe", "xanten"], "X"),
    **dict.fromkeys(["ypsilon"], "Y"),
    **dict.fromkeys(["zacharias", "zeppelin", "zwickau"], "Z"),
    **dict.fromkeys(["alfa", "alpha"], "A"),
    "bravo": "B",
    "charlie": "C",
    "delta": "D",
    "echo": "E",
    "foxtrot": "F",
    "golf": "G",
    "hotel": "H",
    "india": "I",
    **dict.fromkeys(["juliett", "juliet"], "J"),
    "kilo": "K",
    "lima": "L",
    "mike": "M",
    "november": "N",
    **dict.fromkeys(["oscar", "oskar"], "O"),
    "papa": "P",
    "quebec": "Q",
    "romeo": "R",
    "sierra": "S",
    "tango": "T",
    "uniform": "U",
    **dict.fromkeys(["victor", "viktor"], "V"),
    **dict.fromkeys(["whiskey", "whisky"], "W"),
    "xray": "X",
    "yankee": "Y",
    "zulu": "Z",
}
# "a wie anton", "b as in bravo": the letter before the marker is said twice.
SPELLING_MARKERS = (("wie",), ("as", "in"), ("for",))
