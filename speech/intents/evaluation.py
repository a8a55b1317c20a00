"""Honest measurement of the intent classifier: leak checks against evaluation sets, and
accuracy, per-label precision/recall/F1, confusion and calibration on labelled TSV files.

Evaluation sets (label<TAB>lang<TAB>utterance) are only ever reported in aggregate here;
nothing in this module prints or returns an evaluation utterance unless the caller asks
for the errors of a file of its own (`Report.errors`).
"""

from __future__ import annotations

import csv
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from speech.intents.classifier import LABELS, IntentClassifier, load_examples, normalise

# Two texts are "the same utterance" for leak purposes at or above this cosine similarity.
LEAK_SIMILARITY = 0.8
# Where the development corpus lives (shared/corpus/dev/intents.tsv); override for CI.
DEV_CORPUS_ENV = "IVR_INTENT_DEV_CORPUS"
DEV_CORPUS_DEFAULT = Path("/work/shared/corpus/dev/intents.tsv")
CALIBRATION_BINS = 10


@dataclass(frozen=True)
class Row:
    """One labelled utterance of an evaluation file."""

    label: str
    lang: str
    utterance: str


def dev_corpus_path() -> Path:
    """The development corpus: $IVR_INTENT_DEV_CORPUS or shared/corpus/dev/intents.tsv."""
    return Path(os.environ.get(DEV_CORPUS_ENV) or DEV_CORPUS_DEFAULT)


def heldout_rows() -> list[Row]:
    """The project's own held-out set (written before tuning; never trained or tuned on)."""
    text = resources.files("speech.intents").joinpath("heldout.tsv").read_text(encoding="utf-8")
    return read_rows(text.splitlines())


def read_rows(lines: Iterable[str]) -> list[Row]:
    """Rows of a label/lang/utterance TSV with a header line; ValueError when malformed."""
    reader = csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    missing = {"label", "lang", "utterance"} - set(reader.fieldnames or [])
    if missing:
        raise ValueError(f"TSV header must be label<TAB>lang<TAB>utterance (missing {sorted(missing)})")
    rows = [
        Row(r["label"].strip(), (r["lang"] or "").strip(), (r["utterance"] or "").strip())
        for r in reader
        if r["label"] and (r["utterance"] or "").strip()
    ]
    if not rows:
        raise ValueError("no labelled rows")
    return rows


def load_rows(path: Path) -> list[Row]:
    """Rows of a label/lang/utterance TSV file."""
    with path.open(encoding="utf-8", newline="") as f:
        return read_rows(f)


# --- leaks ---------------------------------------------------------------------------------


def similarity_matrix(left: Sequence[str], right: Sequence[str]) -> np.ndarray:
    """Cosine similarity of every left text to every right text.

    Texts are normalised as the classifier sees them (lowercase, punctuation and filler
    words dropped, ß → ss), then described by TF-IDF over word-bounded character 2- to
    4-grams (sublinear tf, idf fitted on both sides together, L2-normalised); the result is
    the cosine of those vectors. Identical texts score 1.0, a changed word in a six-word
    sentence typically 0.7-0.85.
    """
    a = [normalise(t) for t in left]
    b = [normalise(t) for t in right]
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
    vectorizer.fit(a + b)
    product = vectorizer.transform(a) @ vectorizer.transform(b).T
    return np.asarray(product.toarray())


def leaked_examples(
    examples: dict[str, list[str]], rows: Sequence[Row], threshold: float = LEAK_SIMILARITY
) -> list[tuple[str, str]]:
    """(label, training phrase) pairs within threshold similarity of any evaluation row."""
    flat = [(label, phrase) for label, phrases in examples.items() for phrase in phrases]
    if not flat or not rows:
        return []
    sims = similarity_matrix([p for _, p in flat], [r.utterance for r in rows])
    hits = sims.max(axis=1) >= threshold
    return [pair for pair, hit in zip(flat, hits, strict=True) if hit]


def count_leaked_pairs(
    examples: dict[str, list[str]], rows: Sequence[Row], threshold: float = LEAK_SIMILARITY
) -> int:
    """How many (training phrase, evaluation row) pairs are within threshold similarity."""
    phrases = [p for ps in examples.values() for p in ps]
    if not phrases or not rows:
        return 0
    return int((similarity_matrix(phrases, [r.utterance for r in rows]) >= threshold).sum())


def built_in_examples() -> dict[str, list[str]]:
    """The training examples the shipped classifier learns from."""
    return load_examples()


# --- accuracy and calibration ---------------------------------------------------------------


@dataclass
class LabelScore:
    """Precision, recall and F1 of one label."""

    support: int
    precision: float
    recall: float
    f1: float


@dataclass
class Report:
    """Aggregate results of classifying a labelled set."""

    total: int
    correct: int
    per_lang: dict[str, tuple[int, int]]
    labels: list[str]
    scores: dict[str, LabelScore]
    confusion: dict[str, Counter[str]]
    ece: float
    errors: list[tuple[Row, str, float]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        """Share of rows whose predicted intent is the label."""
        return self.correct / self.total

    def as_dict(self) -> dict[str, object]:
        """JSON-ready aggregates (never the utterances)."""
        return {
            "total": self.total,
            "accuracy": round(self.accuracy, 4),
            "per_lang": {
                lang: {"correct": c, "total": t, "accuracy": round(c / t, 4)}
                for lang, (c, t) in sorted(self.per_lang.items())
            },
            "labels": {
                label: {
                    "support": s.support,
                    "precision": round(s.precision, 4),
                    "recall": round(s.recall, 4),
                    "f1": round(s.f1, 4),
                }
                for label, s in self.scores.items()
            },
            "confusion": {t: {p: self.confusion[t][p] for p in self.labels} for t in self.labels},
            "ece": round(self.ece, 4),
        }


def expected_calibration_error(confidences: Sequence[float], hits: Sequence[bool]) -> float:
    """ECE over equal-width confidence bins: sum of |accuracy - mean confidence| by bin share."""
    conf = np.asarray(confidences, dtype=np.float64)
    ok = np.asarray(hits, dtype=np.float64)
    if conf.size == 0:
        return 0.0
    bins = np.minimum((conf * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    ece = 0.0
    for b in range(CALIBRATION_BINS):
        mask = bins == b
        if mask.any():
            ece += mask.mean() * abs(ok[mask].mean() - conf[mask].mean())
    return float(ece)


def evaluate(classifier: IntentClassifier, rows: Sequence[Row], *, keep_errors: bool = False) -> Report:
    """Classify every row (language as labelled, detected when empty) and aggregate."""
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    per_lang: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    confidences: list[float] = []
    hits: list[bool] = []
    errors: list[tuple[Row, str, float]] = []
    for row in rows:
        result = classifier.classify(row.utterance, row.lang or None)
        hit = result.intent == row.label
        confusion[row.label][result.intent] += 1
        per_lang[row.lang or result.lang][0] += hit
        per_lang[row.lang or result.lang][1] += 1
        confidences.append(result.confidence)
        hits.append(hit)
        if keep_errors and not hit:
            errors.append((row, result.intent, result.confidence))
    seen = set(confusion) | {p for c in confusion.values() for p in c}
    labels = [label for label in LABELS if label in seen] + sorted(seen - set(LABELS))
    scores: dict[str, LabelScore] = {}
    for label in labels:
        tp = confusion[label][label]
        support = sum(confusion[label].values())
        predicted = sum(confusion[t][label] for t in confusion)
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[label] = LabelScore(support, precision, recall, f1)
    return Report(
        total=len(rows),
        correct=sum(hits),
        per_lang={lang: (c, t) for lang, (c, t) in per_lang.items()},
        labels=labels,
        scores=scores,
        confusion=confusion,
        ece=expected_calibration_error(confidences, hits),
        errors=errors,
    )


def format_report(name: str, report: Report) -> str:
    """A plain-text summary: accuracy per language, per-label scores, confusion matrix, ECE."""
    head = f"== {name}: accuracy {report.accuracy:.1%} ({report.correct}/{report.total})"
    lines = [f"{head}, ECE {report.ece:.3f}"]
    for lang, (c, t) in sorted(report.per_lang.items()):
        lines.append(f"{lang}: {c / t:.1%} ({c}/{t})")
    lines.append("")
    lines.append(f"{'label':<18} {'prec':>6} {'recall':>6} {'f1':>6} {'n':>5}")
    for label in report.labels:
        s = report.scores[label]
        lines.append(f"{label:<18} {s.precision:6.1%} {s.recall:6.1%} {s.f1:6.1%} {s.support:5d}")
    lines.append("")
    lines.append("confusion (rows: true, columns: predicted)")
    lines.append(" " * 18 + " ".join(f"{label[:6]:>6}" for label in report.labels))
    for label in report.labels:
        if sum(report.confusion[label].values()):
            lines.append(f"{label:<18}" + " ".join(f"{report.confusion[label][p]:>6}" for p in report.labels))
    return "\n".join(lines)


def example_files() -> list[Path]:
    """The built-in example files (inside the source tree)."""
    folder = Path(__file__).resolve().parent
    return [folder / "examples_de.txt", folder / "examples_en.txt"]


def remove_examples(pairs: set[tuple[str, str]]) -> int:
    """Delete these (label, phrase) lines from the example files; returns how many went."""
    removed = 0
    for path in example_files():
        label = None
        kept: list[str] = []
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if line.startswith("[") and line.endswith("]"):
                label = line[1:-1]
            elif line and not line.startswith("#") and (label, line) in pairs:
                removed += 1
                continue
            kept.append(raw)
        path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return removed


def fit_temperature(classifier: IntentClassifier, rows: Sequence[Row]) -> float:
    """The temperature that minimises the negative log-likelihood of the labels of rows.

    Fit it on a set of its own (the tuning set), never on the sets you report.
    """
    saved = classifier.temperature
    classifier.temperature = 1.0
    try:
        classes = list(classifier.classes)
        logs = []
        targets = []
        for row in rows:
            if row.label not in classes:
                continue
            logs.append(np.log(np.maximum(classifier.probabilities(normalise(row.utterance)), 1e-12)))
            targets.append(classes.index(row.label))
    finally:
        classifier.temperature = saved
    if not logs:
        raise ValueError("no rows with a known label")
    matrix = np.stack(logs)
    target = np.asarray(targets)
    best_t, best_nll = 1.0, float("inf")
    for t in np.arange(0.3, 3.01, 0.05):
        scaled = matrix / t
        scaled -= scaled.max(axis=1, keepdims=True)
        log_p = scaled - np.log(np.exp(scaled).sum(axis=1, keepdims=True))
        nll = float(-log_p[np.arange(len(target)), target].mean())
        if nll < best_nll:
            best_t, best_nll = float(t), nll
    return round(best_t, 2)


def tuning_rows() -> list[Row]:
    """The tuning set: for error analysis and calibration (never reported as a result)."""
    text = resources.files("speech.intents").joinpath("tuning.tsv").read_text(encoding="utf-8")
    return read_rows(text.splitlines())
