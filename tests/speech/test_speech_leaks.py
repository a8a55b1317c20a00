"""Training examples must not overlap the sets we measure on (checked without showing rows)."""

from __future__ import annotations

import pytest

from speech.intents.evaluation import (
    LEAK_SIMILARITY,
    Row,
    built_in_examples,
    count_leaked_pairs,
    dev_corpus_path,
    heldout_rows,
    leaked_examples,
    load_rows,
    similarity_matrix,
)


def test_similarity_sees_through_case_punctuation_and_fillers() -> None:
    sims = similarity_matrix(
        ["Äh, wo ist mein Paket?", "ich möchte meine bestellung von gestern stornieren"],
        [
            "wo ist mein paket",
            "ich möchte meine bestellung von gestern storniren",
            "ich will mich beschweren",
        ],
    )
    assert sims[0, 0] == pytest.approx(1.0)
    assert sims[1, 1] >= LEAK_SIMILARITY  # a misheard word is still the same utterance
    assert sims[1, 2] < 0.3


def test_a_planted_leak_is_found() -> None:
    rows = heldout_rows()[:5]
    examples = built_in_examples()
    assert leaked_examples(examples, rows) == []
    planted = {"complaint": [rows[0].utterance.upper() + "!"]}
    assert leaked_examples(examples | planted, rows) == [("complaint", planted["complaint"][0])]


def test_no_training_example_is_near_a_heldout_row() -> None:
    leaks = count_leaked_pairs(built_in_examples(), heldout_rows())
    assert leaks == 0, f"{leaks} training/held-out pairs within {LEAK_SIMILARITY} (run `ivr intent leaks`)"


def test_no_training_example_is_near_a_dev_row() -> None:
    path = dev_corpus_path()
    if not path.is_file():
        pytest.skip(f"no dev corpus at {path} (set IVR_INTENT_DEV_CORPUS)")
    rows: list[Row] = load_rows(path)
    leaks = count_leaked_pairs(built_in_examples(), rows)
    assert leaks == 0, f"{leaks} training/dev pairs within {LEAK_SIMILARITY} (run `ivr intent leaks`)"


def test_heldout_set_covers_every_label_in_both_languages() -> None:
    rows = heldout_rows()
    by_lang = {lang: {r.label for r in rows if r.lang == lang} for lang in ("de", "en")}
    assert sum(r.lang == "de" for r in rows) >= 150 and sum(r.lang == "en" for r in rows) >= 100
    assert by_lang["de"] == by_lang["en"] == set(built_in_examples())
