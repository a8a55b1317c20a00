"""Complaint and spike alarms: is this window's count or share of a subject out of line?

Pure statistics, no database: ``alarms_store`` counts the windows and stores what fires here.

The method (docs/alarms.md): for each subject (an intent, ``abandoned``,
``failed_self_service``) the window is compared with the same window on each of the last
``weeks`` weeks (weekly season) and on each of the last ``days`` days (recent level). The
expected value is the **median** of those windows (one past spike does not raise it), and
the variation beyond chance is estimated robustly from their median absolute deviation
(at least ``min_cv``). The p-value is a negative-binomial upper tail, widened for the
uncertainty of a median of few windows.
- **count**: unusual against the weekly *and* the daily baseline.
- **share** (the count given today's number of calls): unusual against both baselines
  pooled; its spread is also estimated from windows an hour or two beside them.
A subject fires when p < ``alpha`` and at least ``min_count`` calls were seen.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import median

from scipy.special import betainc

#: Subjects that are not intents: callers who hung up while queued, and callers the IVR lost.
ABANDONED = "abandoned"
FAILED_SELF_SERVICE = "failed_self_service"
#: The key of a window's count of all calls (the denominator of the shares).
TOTAL = "_total"
#: Expected counts below this are raised to it: a quiet subject's first call is no spike.
MIN_EXPECTED = 0.5
#: Fewer baseline windows than this give no verdict.
MIN_WINDOWS = 3
#: At most this squared coefficient of variation is estimated from a handful of windows.
MAX_VARIATION = 1.0


@dataclass(frozen=True)
class DetectorSettings:
    """How sensitive the detector is."""

    #: Probability under the baseline below which a window is unusual (both baselines must agree).
    alpha: float = 0.0001
    #: Fewer calls than this never raise an alarm.
    min_count: int = 5
    #: Beyond chance, a subject's hourly level varies at least this much from one baseline
    #: window to the next (coefficient of variation; see docs/alarms.md).
    min_cv: float = 0.15


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
    nearby: Sequence[Mapping[str, int]] = (),
) -> list[Finding]:
    """The subjects of ``window`` (counts by subject) that are out of line.

    ``nearby`` are more past windows (e.g. an hour or two beside the baseline windows) that
    only help to estimate how much a subject's share varies: shares hardly follow the hour.
    """
    names = subjects if subjects is not None else sorted(k for k in window if k != TOTAL)
    found = []
    for subject in names:
        observed = window.get(subject, 0)
        if observed < settings.min_count:
            continue
        for kind in ("count", "share"):
            # Counts depend on the weekday: only the same window of past weeks is comparable.
            # Shares do not, so a share must also be unusual against the recent days.
            bases = (weekly, daily) if kind == "count" else ([*weekly, *daily],)
            if any(len(base) < MIN_WINDOWS for base in bases):
                continue  # too little history (a new hotline): no verdict rather than a wrong one
            tests = [_test(kind, subject, window, base, settings, nearby) for base in bases]
            worst = max(tests, key=lambda t: t.p_value)
            if worst.p_value < settings.alpha and worst.observed > worst.expected:
                found.append(
                    Finding(
                        subject=subject,
                        kind=kind,
                        observed=worst.observed,
                        expected=worst.expected,
                        score=round(-math.log10(max(worst.p_value, 1e-300)), 2),
                        details={"tests": [_describe(test) for test in tests]},
                    )
                )
                break  # one alarm per subject and window: the count when both fire
    return found


def _test(
    kind: str,
    subject: str,
    window: Mapping[str, int],
    base: Sequence[Mapping[str, int]],
    settings: DetectorSettings,
    nearby: Sequence[Mapping[str, int]] = (),
) -> Test:
    counts = [b.get(subject, 0) for b in base]
    observed = window.get(subject, 0)
    if kind == "count":
        expected = max(median(counts), MIN_EXPECTED)
        extra = max(variation(counts) - 1 / expected, settings.min_cv**2)
        return Test(observed, expected, nb_tail(observed, expected, extra, len(counts)))
    total = window.get(TOTAL, 0)
    shares = [c / b[TOTAL] for c, b in zip(counts, base, strict=True) if b.get(TOTAL)]
    if not total or len(shares) < MIN_WINDOWS:  # too few windows with calls to know a share
        return Test(0.0, 0.0, 1.0)
    share = max(median(shares), MIN_EXPECTED / total)
    wider = [*base, *nearby]
    spread = [b.get(subject, 0) / b[TOTAL] for b in wider if b.get(TOTAL)]
    typical = max(median(b.get(subject, 0) for b in wider), MIN_EXPECTED)
    # As for counts, the windows' chance variation (≈ 1 / count) is not part of the extra.
    extra = max(variation(spread) - 1 / typical, settings.min_cv**2)
    # The share test asks: given today's number of calls, are this many about the subject usual?
    p = nb_tail(observed, share * total, extra, len(shares))
    return Test(observed / total, share, p)


def variation(values: Sequence[float]) -> float:
    """Squared coefficient of variation from the median absolute deviation (robust to one odd window)."""
    centre = median(values)
    if len(values) < 3 or centre <= 0:
        return 0.0
    spread = 1.4826 * median(abs(v - centre) for v in values)
    return float(min((spread / centre) ** 2, MAX_VARIATION))


def nb_tail(observed: float, mean: float, extra: float, windows: int) -> float:
    """P(X ≥ observed) for a negative binomial with variance mean + extra · mean², widened by the
    uncertainty of a median of ``windows`` baseline windows (variance × (1 + π / 2k))."""
    if observed <= 0:
        return 1.0
    widen = 1 + math.pi / (2 * windows)
    variance = widen * (mean + extra * mean**2)
    size = mean**2 / (variance - mean)
    return float(betainc(observed, size, mean / (size + mean)))


def _describe(test: Test) -> dict[str, float]:
    return {
        "observed": round(test.observed, 4),
        "expected": round(test.expected, 4),
        "p_value": float(f"{test.p_value:.3g}"),
    }
