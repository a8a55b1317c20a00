"""False-alarm rate and detection power of the spike alarms on synthetic call streams.

Usage: ``python benchmarks/alarms.py [WEEKS] [SEED]`` (default 20 weeks after 4 weeks of
history, seed 1). No database: the detector (``ivr.insights.alarms.detect``) is run on counts
per 15-minute bucket exactly as ``ivr alarms run`` sees them (1-hour windows every 15 minutes,
4 weekly and 6 daily baselines, one alarm per subject while its windows overlap).

The stream: about 5,000 calls a day with a daily curve (most between 8 and 20 h), a weekly
one (Monday busiest, Sunday quietest), and over-dispersion at three levels: a random level
per day (±15 %), per hour (±10 %) and Poisson noise per bucket; each subject's share also
wanders from day to day (±20 %). Without spikes every alarm is a false alarm. Then spikes are
added, one hour of a subject at 1.5×, 2× and 3× its usual count, to measure detection.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the package it measures: import the package, not this script.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import numpy as np  # noqa: E402

from ivr.insights.alarms import TOTAL, DetectorSettings, detect  # noqa: E402

BUCKETS_PER_DAY = 96
WINDOW = 4  # buckets: one hour
#: Offsets (buckets) of the extra windows beside each daily baseline window, for the share's spread.
NEARBY = (-8, -4, 4, 8)
SHARES = {
    "order_status": 0.30,
    "delivery_issue": 0.15,
    "return_refund": 0.15,
    "complaint": 0.05,
    "payment_invoice": 0.07,
    "product_question": 0.10,
    "abandoned": 0.08,
    "failed_self_service": 0.04,
}
WEEKDAY = [1.3, 1.05, 1.0, 1.0, 0.95, 0.6, 0.3]  # Monday .. Sunday


def hourly_profile() -> np.ndarray:
    """Relative call volume per hour of the day (peaks late morning and early evening)."""
    hours = np.arange(24)
    curve = np.exp(-((hours - 10.5) ** 2) / 8) + 0.7 * np.exp(-((hours - 17.5) ** 2) / 6) + 0.02
    return curve / curve.sum()


def simulate(days: int, rng: np.random.Generator, per_day: float = 5000) -> dict[str, np.ndarray]:
    """Counts per 15-minute bucket: all calls and each subject."""
    profile = np.repeat(hourly_profile(), 4) / 4
    means = np.concatenate([per_day * WEEKDAY[d % 7] * rng.gamma(45, 1 / 45) * profile for d in range(days)])
    hour_noise = np.repeat(rng.gamma(100, 1 / 100, size=days * 24), 4)
    total = rng.poisson(means * hour_noise)
    counts = {TOTAL: total}
    for subject, share in SHARES.items():
        daily = np.repeat(np.clip(share * rng.gamma(25, 1 / 25, size=days), 0, 0.9), BUCKETS_PER_DAY)
        counts[subject] = rng.binomial(total, daily)
    return counts


def window_of(counts: dict[str, np.ndarray], cums: dict[str, np.ndarray], end: int) -> dict[str, int]:
    """Counts of the window ending at bucket ``end`` (exclusive)."""
    return {k: int(c[end] - c[end - WINDOW]) for k, c in cums.items()}


def run(counts: dict[str, np.ndarray], first: int, settings: DetectorSettings) -> list[tuple[int, str]]:
    """(window end, subject) of every alarm raised, one per subject while windows overlap."""
    cums = {k: np.concatenate([[0], np.cumsum(v)]) for k, v in counts.items()}
    subjects = sorted(k for k in counts if k != TOTAL)
    last: dict[str, int] = {}
    raised = []
    for end in range(first, len(counts[TOTAL]) + 1):
        window = window_of(counts, cums, end)
        weekly = [window_of(counts, cums, end - w * 7 * BUCKETS_PER_DAY) for w in range(1, 5)]
        daily = [window_of(counts, cums, end - d * BUCKETS_PER_DAY) for d in range(1, 7)]
        nearby = [
            window_of(counts, cums, end - d * BUCKETS_PER_DAY + shift)
            for d in range(1, 7)
            for shift in NEARBY
        ]
        for finding in detect(window, weekly, daily, settings, subjects, nearby):
            if end - last.get(finding.subject, -WINDOW) >= WINDOW:
                last[finding.subject] = end
                raised.append((end, finding.subject))
    return raised


def main() -> None:
    """Print false alarms per week and the share of spikes found."""
    weeks = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    rng = np.random.default_rng(seed)
    history = 28 * BUCKETS_PER_DAY
    days = 28 + weeks * 7
    counts = simulate(days, rng)
    settings = DetectorSettings()
    print(f"{weeks} weeks, {counts[TOTAL][history:].sum() / (weeks * 7):,.0f} calls/day, seed {seed}")
    print(f"alpha {settings.alpha}, min_count {settings.min_count}")

    false = run(counts, history + WINDOW, settings)
    tests = (len(counts[TOTAL]) - history) * len(SHARES)
    by_subject: dict[str, int] = {}
    for _end, subject in false:
        by_subject[subject] = by_subject.get(subject, 0) + 1
    print(
        f"false alarms: {len(false)} in {weeks} weeks = {len(false) / weeks:.2f} per week "
        f"({len(false) / tests:.1e} per subject-window tested); by subject: {by_subject}"
    )

    # Spikes: one hour (10-11 h on a weekday) of one subject raised by a factor.
    for factor in (1.5, 2.0, 3.0):
        found = tried = 0
        for subject in ("complaint", "delivery_issue", "abandoned", "failed_self_service"):
            for day in range(28, days, 3):
                if day % 7 >= 5:
                    continue
                start = day * BUCKETS_PER_DAY + 40  # 10:00
                spiked = {k: v[start - history : start + WINDOW].copy() for k, v in counts.items()}
                extra = rng.poisson(spiked[subject][-WINDOW:] * (factor - 1))
                spiked[subject][-WINDOW:] += extra
                spiked[TOTAL][-WINDOW:] += extra
                hits = run(spiked, history + WINDOW, settings)
                tried += 1
                found += any(s == subject for _e, s in hits)
        print(f"spike ×{factor}: found {found} of {tried} ({found / tried:.0%})")


if __name__ == "__main__":
    main()
