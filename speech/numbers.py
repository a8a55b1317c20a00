"""Spoken numbers (German and English recogniser output) to the digit string a caller means."""

from __future__ import annotations

import re
from dataclasses import dataclass

from speech.number_words import (
    ARTICLES,
    CORRECTION_PHRASES,
    CORRECTION_WORDS,
    DE_TENS,
    EN_TENS,
    EN_UNITS,
    FILLERS,
    INSTEAD,
    NEGATIONS,
    NUMBER_NAMES,
    ONE_PRONOUN_AFTER,
    REPEAT_ARTICLES,
    REPEAT_COUNTS,
    REPEAT_TIMES,
    REPEATERS,
    SCALES,
    SPELLING,
    SPELLING_MARKERS,
    word_value,
)

# Vosk writes numbers as words; callers read order numbers and postcodes digit by digit,
# in pairs ("siebenundvierzig elf") or as hundreds ("vierhundertdreiundzwanzig"). Every
# spoken chunk is turned into its own digit string and the chunks are concatenated; words
# are only merged into one value where the language itself joins them ("sieben und
# vierzig", "forty seven", "four hundred twelve").


@dataclass
class _Chunk:
    digits: str
    gap: int  # non-filler words between this chunk and the previous one
    after_pause: bool = False  # a filler or other word came right before it
    # Compound state while separate words still build one value ("four hundred twelve").
    total: int = 0  # completed thousands
    cur: int = 0  # part below 1000
    expect: str = ""  # "unit" after English tens, "und" after "sieben und", "fill" after a scale

    def set_value(self) -> None:
        """Refresh the digit string from the compound state."""
        self.digits = str(self.total + self.cur)


def _normalise(text: str) -> list[str]:
    """Lowercase words with ß folded and punctuation stripped; "doppelnull" split."""
    text = text.lower().replace("ß", "ss").replace("x-ray", "xray")
    words: list[str] = []
    for word in re.findall(r"[0-9]+|[a-zäöü']+", text):
        for repeater in REPEATERS:
            rest = word[len(repeater) :]
            if word.startswith(repeater) and rest and word_value(rest) is not None:
                words += [repeater, rest]  # "doppelnull", "doppeltsieben"
                break
        else:
            # "double o seven": a lone "o" next to digits is the zero "oh".
            words.append("oh" if word == "o" else word)
    return words


def _repeat_count(words: list[str], i: int) -> tuple[int, int]:
    """(count, words used) for "zweimal (die)", "zwei mal (die)", "two times" before a digit."""
    count, used = REPEAT_COUNTS.get(words[i], 0), 1
    if not count and words[i + 1 : i + 2] and words[i + 1] in REPEAT_TIMES:
        value = word_value(words[i])
        count, used = (value, 2) if value is not None and 2 <= value <= 5 else (0, 0)
    if not count:
        return 0, 0
    if words[i + used : i + used + 1] and words[i + used] in REPEAT_ARTICLES:
        used += 1
    if not _is_number_word(words, i + used) or words[i + used] in SCALES:
        return 0, 0
    return count, used


def _spelled_letter(words: list[str], i: int) -> tuple[str, int]:
    """(letter, words used) for "anton", "bravo", "a wie anton", "b as in bravo"; ("", 0)."""
    if words[i] in SPELLING:
        return SPELLING[words[i]], 1
    for marker in SPELLING_MARKERS:
        end = i + 1 + len(marker)
        if len(words[i]) == 1 and tuple(words[i + 1 : end]) == marker and words[end : end + 1]:
            letter = SPELLING.get(words[end], "")
            if letter == words[i].upper():
                return letter, end - i + 1
    return "", 0


def _is_number_word(words: list[str], i: int) -> bool:
    """True when words[i] is a number in this context (articles and pronouns excluded)."""
    if i < 0 or i >= len(words):
        return False
    word = words[i]
    if word.isdigit():
        return True
    if word in ARTICLES:
        prev_num = i > 0 and _is_plain_number(words[i - 1])
        if word == "one":
            return not (i > 0 and words[i - 1] in ONE_PRONOUN_AFTER)
        if word == "a":
            return False
        # "ein und zwanzig" is a split compound
        if word == "ein" and words[i + 1 : i + 2] == ["und"] and i + 2 < len(words):
            return words[i + 2] in DE_TENS
        # "eine sieben" is an article; "drei ein zwo" is a misheard "eins".
        return prev_num
    if word == "oh":
        # "oh" is a zero only among other digits; otherwise an exclamation.
        return _is_plain_number(words[i - 1] if i > 0 else "") or _is_plain_number(
            words[i + 1] if i + 1 < len(words) else ""
        )
    return word_value(word) is not None


def _is_plain_number(word: str) -> bool:
    """True for an unambiguous number word or numeral."""
    if word in ("ein", "eine", "einen", "a", "oh"):
        return False
    return word.isdigit() or word_value(word) is not None


def _correction_at(words: list[str], i: int) -> int:
    """Length of the correction marker starting at words[i] (0 if none)."""
    if words[i] in CORRECTION_WORDS:
        return 1
    for phrase in CORRECTION_PHRASES:
        if tuple(words[i : i + len(phrase)]) == phrase:
            return len(phrase)
    return 0


class _Builder:
    """Collects chunks left to right and applies self-corrections."""

    def __init__(self) -> None:
        self.chunks: list[_Chunk] = []
        self.base: list[_Chunk] | None = None  # chunks before an open correction
        self.negated: list[_Chunk] | None = None  # "nicht X" part of "nicht X sondern Y"
        self.mode = "normal"  # normal | correcting | negating
        self.gap = 0

    def add(self, value: int, word: str, numeral: str | None = None) -> None:
        """Append a number, merging with the previous chunk where the language does."""
        prev = self.chunks[-1] if self.chunks and self.gap == 0 else None
        if numeral is None and prev is not None and self._merge(prev, value, word):
            return
        chunk = _Chunk(numeral if numeral is not None else str(value), self.gap)
        if numeral is None:
            chunk.cur = value
            if word in SCALES:
                chunk.expect = "fill"
            elif word in EN_TENS:
                chunk.expect = "unit"
        self.target().append(chunk)
        self.gap = 0

    @staticmethod
    def _merge(prev: _Chunk, value: int, word: str) -> bool:
        """Merge a number word into the previous chunk if the language joins them."""
        if word in SCALES:
            scale = SCALES[word]
            # "vier hundert", "four thousand", "one thousand two hundred"
            if scale == 100 and 0 < prev.cur < 100 and prev.expect != "fill-100":
                prev.cur *= 100
                prev.expect = "fill-100"
            elif scale == 1000 and 0 < prev.total + prev.cur < 1000:
                prev.total, prev.cur, prev.expect = (prev.total + prev.cur) * 1000, 0, "fill"
            else:
                return False
            prev.set_value()
            return True
        if prev.expect == "und" and word in DE_TENS:
            prev.cur += value  # "sieben und vierzig"
            prev.expect = ""
        elif prev.expect == "unit" and word in EN_UNITS and 1 <= value <= 9:
            prev.cur += value  # "forty seven"
            prev.expect = ""
        elif prev.expect.startswith("fill") and 0 < value < 100 and prev.cur % 100 == 0:
            # "hundred twelve", "four hundred and twenty", "two thousand three"
            prev.cur += value
            prev.expect = "unit" if word in EN_TENS else ""
        else:
            return False
        prev.set_value()
        return True

    def target(self) -> list[_Chunk]:
        """The list new chunks go to (the number, or the negated part of a correction)."""
        if self.mode == "negating" and self.negated is not None:
            return self.negated
        return self.chunks

    def mark_und(self) -> None:
        """Remember an "und"/"and": it may join a unit and tens, or a scale and the rest."""
        if not self.chunks or self.gap:
            return
        last = self.chunks[-1]
        if 0 < last.cur < 10 and not last.total and not last.expect:
            last.expect = "und"

    def other_word(self, filler: bool) -> None:
        """Record a non-number word; anything but a filler stops merges."""
        if self.chunks and not filler:
            self.chunks[-1].expect = ""
        if not filler:
            self.gap += 1

    def start_correction(self) -> None:
        """Open a self-correction: later chunks replace the last ones before it."""
        self.finish_correction()
        self.base, self.chunks, self.mode = self.chunks, [], "correcting"

    def start_negation(self) -> None:
        """Open "nicht X": X names the chunks to replace."""
        if self.mode != "correcting":
            self.start_correction()
        self.negated, self.mode = [], "negating"

    def instead(self) -> None:
        """Close "nicht X" at "sondern"/"but": what follows replaces X."""
        if self.mode == "negating":
            self.mode = "correcting"

    def finish_correction(self) -> None:
        """Apply an open correction to the chunks before it."""
        if self.base is None:
            return
        base, after, negated = self.base, self.chunks, self.negated
        self.base, self.negated, self.mode = None, None, "normal"
        if not after:
            self.chunks = base
            return
        if negated:
            wrong = "".join(c.digits for c in negated)
            right = "".join(c.digits for c in after)
            flat = "".join(c.digits for c in base)
            pos = flat.rfind(wrong)
            if pos >= 0:
                self.chunks = [_Chunk(flat[:pos] + right + flat[pos + len(wrong) :], 0)]
                return
        keep = max(0, len(base) - len(after))
        if keep < len(base):
            after[0].gap = base[keep].gap
        self.chunks = base[:keep] + after


def _collapse_repeat(chunks: list[_Chunk]) -> list[_Chunk]:
    """Drop a confirming repeat ("sieben drei null ... ja sieben drei null ...")."""
    flat = "".join(c.digits for c in chunks)
    for k in range(1, len(chunks)):
        first = "".join(c.digits for c in chunks[:k])
        if len(first) >= 3 and first * 2 == flat and chunks[k].after_pause:
            return chunks[:k]
    return chunks


def _longest_run(chunks: list[_Chunk]) -> str:
    """Digits of the longest run of chunks not separated by two or more content words."""
    runs: list[str] = []
    for chunk in chunks:
        if runs and chunk.gap < 2:
            runs[-1] += chunk.digits
        else:
            runs.append(chunk.digits)
    best = ""
    for run in runs:
        if len(run) >= len(best):  # ties: the later run, callers name the number last
            best = run
    return best


def parse_digits(text: str, lang: str | None = None) -> str | None:
    """Return the digit string a caller means in recogniser output, or None if none."""
    # lang is accepted for symmetry with classify(); both vocabularies are always active
    # because callers mix them ("plz zero one") and the words barely overlap.
    del lang
    return _parse(text, letters=False)


def parse_reference(text: str, lang: str | None = None) -> str | None:
    """Like parse_digits, but letters read in a spelling alphabet count ("anton berta
    eins zwei" → "AB12", "x-ray four" → "X4"): for tracking and voucher codes."""
    del lang
    found = _parse(text, letters=True)
    # A lone "hotel" or "golf" in a sentence is a word, not a code.
    return found if found and any(ch.isdigit() for ch in found) else None


def _parse(text: str, *, letters: bool) -> str | None:
    """The digits (and spelled letters, when asked) a caller means."""
    words = _normalise(text)
    builder = _Builder()
    i = 0
    paused = False  # a filler or other word since the last chunk
    repeat = 1
    while i < len(words):
        word = words[i]
        marker = _correction_at(words, i)
        if marker:
            builder.start_correction()
            i += marker
            paused = False
            continue
        if word in NEGATIONS and _is_number_word(words, i + 1):
            builder.start_negation()
        elif word in INSTEAD and builder.mode == "negating":
            builder.instead()
        elif word in REPEATERS and (
            _is_number_word(words, i + 1) or (letters and words[i + 1 : i + 2] and words[i + 1] in SPELLING)
        ):
            repeat = REPEATERS[word]
        elif (counted := _repeat_count(words, i))[0]:
            repeat = counted[0]
            i += counted[1]
            continue
        elif letters and (spelled := _spelled_letter(words, i))[0]:
            for _ in range(repeat):
                builder.add(0, word, numeral=spelled[0])
            repeat, paused = 1, False
            i += spelled[1]
            continue
        elif _is_number_word(words, i):
            for _ in range(repeat):
                target = builder.target()
                before = len(target)
                if word.isdigit():
                    builder.add(int(word), word, numeral=word)
                else:
                    value = word_value(word)
                    builder.add(1 if value is None else value, word)  # "ein" = misheard eins
                if paused and len(target) > before:
                    target[-1].after_pause = True
                paused = False
            repeat = 1
        elif word in ("und", "and"):
            builder.mark_und()
            paused = True
        elif word in NUMBER_NAMES:
            builder.other_word(False)
            builder.gap = max(builder.gap, 2)
            paused = True
        else:
            builder.other_word(word in FILLERS)
            paused = True
        i += 1
    builder.finish_correction()
    chunks = _collapse_repeat(builder.chunks)
    digits = _longest_run(chunks)
    return digits or None
