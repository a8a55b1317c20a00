"""Complaint and spike alarms: is this window's count or share of a subject out of line?

Pure statistics, no database: ``alarms_store`` counts the windows and stores what fires here.

The method (docs/alarms.md): for each subject (an intent, ``abandoned``,
``failed_self_service``) the window's count is compared with two baselines, the same window
on each of the last ``weeks`` weeks (weekly season) and on each of the last ``days`` days
(recent level). Per baseline, the expected count is the **median** of its windows (one past
spike does not raise it), and over-dispersion is estimated robustly from the windows' median
absolute deviation. The count test is a quasi-Poisson upper tail, the share test (the
subject's share of all calls) a binomial upper tail with the same dispersion. A subject
fires only when a test is improbable against **both** baselines (p < ``alpha``) and at least
``min_count`` calls were seen, so small numbers and normal seasonal swings stay quiet.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import median

from scipy.special import betainc, gammainc

#: Subjects that are not intents: callers who hung up while queued, and callers the IVR lost.
ABANDONED = "abandoned"
FAILED_SELF_SERVICE = "failed_self_service"
#: The key of a window's count of all calls (the denominator of the shares).
TOTAL = "_total"
#: Expected counts below this are raised to it: a quiet subject's first call is no spike.
MIN_EXPECTED = 0.5
#: Bounds of the dispersion factor (variance ÷ mean) estimated from a handful of windows.
MAX_DISPERSION = 5.0


@dataclass(frozen=True)
class DetectorSettings:
    """How sensitive the detector is."""

    #: Probability under the baseline below which a window is unusual (both baselines must agree).
    alpha: float = 0.001
    #: Fewer calls than this never raise an alarm.
    min_count: int = 5


@dataclass(frozen=True)
class Test:
    """One test of one subject against one baseline."""

    observed: float
    expected: float
    p_value: float


@dataclass(frozen=True)
class Finding:
    """A subject that is out of line in a window."""

    subject: str
    #: ``count`` (more calls than usual) or ``share`` (a larger part of all calls than usual).
    kind: str
    observed: float
    expected: float
    #: −log10 of the larger of the two baselines' p-values: 3 means "1 in 1,000".
    score: float
    details: dict[str, object] = field(default_factory=dict)


def detect(
    window: Mapping[str, int],
    weekly: Sequence[Mapping[str, int]],
    daily: Sequence[Mapping[str, int]],
    settings: DetectorSettings,
    subjects: Sequence[str] | None = None,
) -> list[Finding]:
    """The subjects of ``window`` (counts by subject) out of line against both baselines."""
    names = subjects if subjects is not None else sorted(k for k in window if k != TOTAL)
    found = []
    for subject in names:
        observed = window.get(subject, 0)
        if observed < settings.min_count:
            continue
        for kind in ("count", "share"):
            tests = [_test(kind, subject, window, base) for base in (weekly, daily) if base]
            if not tests:
                continue
            worst = max(tests, key=lambda t: t.p_value)
            if worst.p_value < settings.alpha and worst.observed > worst.expected:
                found.append(
                    Finding(
                        subject=subject,
                        kind=kind,
                        observed=worst.observed,
                        expected=worst.expected,
                        score=round(-math.log10(max(worst.p_value, 1e-300)), 2),
                        details={
                            "weekly": _describe(tests[0]) if weekly else None,
                            "daily": _describe(tests[-1]) if daily else None,
                        },
                    )
                )
                break  # one alarm per subject and window: the count when both fire
    return found


def _test(kind: str, subject: str, window: Mapping[str, int], base: Sequence[Mapping[str, int]]) -> Test:
    counts = [b.get(subject, 0) for b in base]
    expected = max(median(counts), MIN_EXPECTED)
    phi = dispersion(counts, expected)
    observed = window.get(subject, 0)
    if kind == "count":
        return Test(observed, expected, poisson_tail(observed / phi, expected / phi))
    total = window.get(TOTAL, 0)
    share = (sum(counts) + 0.5) / (sum(b.get(TOTAL, 0) for b in base) + 1.0)
    p = binomial_tail(observed / phi, total / phi, min(share, 1.0))
    return Test(observed / total if total else 0.0, share, p)


def dispersion(counts: Sequence[int], expected: float) -> float:
    """Variance ÷ mean of the baseline windows, from the MAD (robust to one odd window), ≥ 1."""
    if len(counts) < 3:
        return 1.0
    centre = median(counts)
    mad = median(abs(c - centre) for c in counts)
    variance = (1.4826 * mad) ** 2
    return min(max(variance / expected, 1.0), MAX_DISPERSION)


def poisson_tail(k: float, mean: float) -> float:
    """P(X ≥ k) for X ~ Poisson(mean), continuous in k (regularised incomplete gamma)."""
    if k <= 0:
        return 1.0
    return float(gammainc(k, mean))


def binomial_tail(k: float, n: float, p: float) -> float:
    """P(X ≥ k) for X ~ Binomial(n, p), continuous in k and n (regularised incomplete beta)."""
    if k <= 0:
        return 1.0
    if k > n or p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    return float(betainc(k, n - k + 1, p))


def _describe(test: Test) -> dict[str, float]:
    return {
        "observed": round(test.observed, 4),
        "expected": round(test.expected, 4),
        "p_value": float(f"{test.p_value:.3g}"),
    }
