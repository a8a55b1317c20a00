"""KPIs over a period, in total and grouped by day, hour, intent, queue or agent.

``compute_kpis`` is the one function behind the API, the CLI and the console reports.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ivr.insights.definitions import definitions
from ivr.insights.facts import (
    CallbackFacts,
    Contact,
    SurveyAnswer,
    load_callbacks,
    load_contacts,
    load_presence,
    load_survey,
)
from ivr.insights.settings import KpiSettings

GROUPINGS = ("day", "hour", "intent", "queue", "agent")
#: The longest period one request may cover (hour grouping: 2,232 rows).
MAX_DAYS = 93
#: Outcomes of calls that finished in the IVR.
SELF_SERVED = ("self_service", "completed")
ON_DUTY = ("available", "offered", "busy", "wrapup")
WORKING = ("offered", "busy", "wrapup")


class PeriodError(ValueError):
    """A period that cannot be read (message is for the user)."""


@dataclass(frozen=True)
class Period:
    """A half-open interval ``[start, end)`` in UTC; days and hours are read in ``zone``."""

    start: datetime
    end: datetime

    def previous(self) -> Period:
        """The period of the same length just before this one (for comparisons)."""
        return Period(self.start - (self.end - self.start), self.start)


def parse_period(raw_from: str | None, raw_to: str | None, settings: KpiSettings) -> Period:
    """``from``/``to`` as local dates (``to`` included) or ISO times with offset (``to`` excluded)."""
    if not raw_from or not raw_to:
        raise PeriodError("give from and to (YYYY-MM-DD, or ISO 8601 times with an offset)")
    start, end = _moment(raw_from, settings, False), _moment(raw_to, settings, True)
    if end <= start:
        raise PeriodError("'to' must be after 'from'")
    if end - start > timedelta(days=MAX_DAYS + 1):
        raise PeriodError(f"a period may cover at most {MAX_DAYS} days")
    return Period(start, end)


def _moment(raw: str, settings: KpiSettings, is_end: bool) -> datetime:
    raw = raw.strip()
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            if is_end:
                day += timedelta(days=1)
            return datetime.combine(day, time(), tzinfo=settings.zone).astimezone(UTC)
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise PeriodError(f"'{raw[:40]}' is neither a date (YYYY-MM-DD) nor an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise PeriodError("times need an offset (e.g. 2026-03-29T00:00+01:00 or Z)")
    return moment.astimezone(UTC)


def compute_kpis(session: Session, period: Period, by: str | None, settings: KpiSettings) -> dict[str, Any]:
    """Every KPI over ``period``, in total and per group, with their definitions and settings."""
    if by is not None and by not in GROUPINGS:
        raise PeriodError(f"by must be one of {', '.join(GROUPINGS)}")
    if session.get_bind().dialect.name == "postgresql":
        # One big aggregation: sort in memory, and skip JIT compiling (it costs more than it saves).
        session.execute(text("SET LOCAL work_mem = '64MB'"))
        session.execute(text("SET LOCAL jit = off"))
        # A report over months may take longer than a webhook's statement timeout (docs/insights.md).
        session.execute(text(f"SET LOCAL statement_timeout = {int(settings.statement_timeout * 1000)}"))
    follow = max(timedelta(days=settings.fcr_days), timedelta(hours=settings.containment_repeat_hours))
    contacts = load_contacts(session, period.start, period.end, follow)
    repeats = repeat_flags(contacts, settings)
    survey = load_survey(session, period.start, period.end)
    presence = load_presence(session, period.start, period.end)
    callbacks = load_callbacks(session, period.start, period.end)
    total = summarise(contacts, repeats, survey, settings)
    total["utilisation"] = _utilisation(presence.values())
    total["callbacks"] = _callbacks(callbacks, settings)
    total["by_intent"] = dict(Counter(c.intent or "none" for c in contacts).most_common())
    total["by_language"] = dict(Counter(c.language or "unknown" for c in contacts).most_common())
    total["by_entry"] = dict(sorted(Counter(c.entry for c in contacts).items()))
    result: dict[str, Any] = {
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "by": by,
        "settings": settings.as_dict(),
        "definitions": definitions(settings),
        "total": total,
    }
    if by is not None:
        result["groups"] = _groups(by, period, contacts, repeats, survey, presence, callbacks, settings)
    return result


def repeat_flags(contacts: list[Contact], settings: KpiSettings) -> dict[int, tuple[bool, bool]]:
    """Per contact of a known customer: (called again within the FCR window, within the containment one)."""
    fcr = settings.fcr_days * 86400
    contain = settings.containment_repeat_hours * 3600
    return {
        c.id: (c.next_gap is not None and c.next_gap <= fcr, c.next_gap is not None and c.next_gap <= contain)
        for c in contacts
        if c.customer_id is not None
    }


def summarise(
    contacts: Iterable[Contact],
    repeats: dict[int, tuple[bool, bool]],
    survey: Iterable[SurveyAnswer],
    settings: KpiSettings,
) -> dict[str, Any]:
    """The call KPIs of one group of contacts."""
    contacts = list(contacts)
    threshold, short = settings.service_level_seconds, settings.short_abandon_seconds
    queued = [c for c in contacts if c.queued]
    answered = [c for c in queued if c.wait is not None]
    # Milliseconds: SQLite's julianday arithmetic is off by microseconds.
    waits = [max(0.0, round(c.wait, 3)) for c in answered if c.wait is not None]
    abandon_waits = [max(0.0, round(c.abandon_wait, 3)) for c in queued if c.abandon_wait is not None]
    short_abandons = sum(1 for w in abandon_waits if w < short)
    abandoned = len(abandon_waits) - short_abandons
    to_callback = sum(
        1 for c in queued if c.wait is None and c.abandon_wait is None and c.outcome == "callback"
    )
    within = sum(1 for w in waits if w <= threshold)
    if settings.service_level_denominator == "offered":
        sl_base = len(queued) - short_abandons - to_callback
    else:
        sl_base = len(answered) + abandoned
    handled = [c for c in answered if c.talk_ended]
    talk = sum(c.talk_seconds for c in handled)
    wrap = sum(_wrapup(c, settings) for c in handled)
    self_served = [c for c in contacts if _self_served(c)]
    contained = [c for c in self_served if not repeats.get(c.id, (False, False))[1]]
    known = [c for c in contacts if c.id in repeats]
    repeated = sum(1 for c in known if repeats[c.id][0])
    return {
        "contacts": len(contacts),
        "queued": len(queued),
        "answered": len(answered),
        "answered_within_threshold": within,
        "service_level": _ratio(within, sl_base),
        "service_level_denominator": sl_base,
        "asa_seconds": _mean(waits),
        "abandoned": abandoned,
        "short_abandons": short_abandons,
        "queue_to_callback": to_callback,
        "abandonment_rate": _ratio(abandoned, len(queued) - short_abandons - to_callback),
        "short_abandon_rate": _ratio(short_abandons, len(queued) - to_callback),
        "longest_wait_seconds": max(waits + abandon_waits, default=None),
        "handled": len(handled),
        "talk_seconds": talk,
        "hold_seconds": 0,
        "wrapup_seconds": round(wrap, 1),
        "aht_seconds": _ratio(talk + wrap, len(handled), 1),
        "self_served": len(self_served),
        "contained": len(contained),
        "containment_rate": _ratio(len(contained), len(contacts)),
        "known_customer_contacts": len(known),
        "repeat_contacts": repeated,
        "fcr_rate": _ratio(len(known) - repeated, len(known)),
        **_survey(survey),
    }


def _self_served(c: Contact) -> bool:
    """Finished in the IVR: never queued, no callback or voicemail, and the IVR did not give up."""
    return c.outcome in SELF_SERVED and not c.queued and not c.voicemails and not c.gave_up


def _wrapup(c: Contact, settings: KpiSettings) -> float:
    limit = settings.wrapup_limit.total_seconds()
    return limit if c.wrapup_gap is None else min(limit, max(0.0, round(c.wrapup_gap, 3)))


def _survey(answers: Iterable[SurveyAnswer]) -> dict[str, Any]:
    by_question: dict[str, list[int]] = defaultdict(list)
    for answer in answers:
        by_question[answer.question].append(answer.value)
    csat = [v for v in by_question["csat"] if 1 <= v <= 5]
    nps = [v for v in by_question["nps"] if 0 <= v <= 10]
    resolved = [v for v in by_question["resolved"] if v in (0, 1)]
    promoters, detractors = sum(1 for v in nps if v >= 9), sum(1 for v in nps if v <= 6)
    return {
        "csat_answers": len(csat),
        "csat": _ratio(sum(1 for v in csat if v >= 4), len(csat)),
        "csat_mean": _mean(csat),
        "nps_answers": len(nps),
        "nps": round(100 * (promoters - detractors) / len(nps), 1) if nps else None,
        "resolved_answers": len(resolved),
        "resolved_rate": _ratio(sum(resolved), len(resolved)),
    }


def _utilisation(agents: Iterable[dict[str, float]]) -> dict[str, Any]:
    states: Counter[str] = Counter()
    for seconds in agents:
        states.update(seconds)
    on_duty = sum(states[s] for s in ON_DUTY)
    return {
        "seconds_by_state": {s: round(v, 1) for s, v in sorted(states.items())},
        "on_duty_seconds": round(on_duty, 1),
        "utilisation": _ratio(sum(states[s] for s in WORKING), on_duty),
    }


def _callbacks(requests: list[CallbackFacts], settings: KpiSettings) -> dict[str, Any]:
    reached = [r for r in requests if r.status in ("connected", "completed")]
    zone = settings.zone
    kept = sum(1 for r in reached if r.updated_at.astimezone(zone).date() <= r.due_at.astimezone(zone).date())
    dials = sum(r.dials for r in requests)
    return {
        "requests": len(requests),
        "reached": len(reached),
        "kept_within_window": kept,
        "open": sum(1 for r in requests if r.status in ("queued", "claimed", "dialing")),
        "dials": dials,
        "attempts_per_success": _ratio(dials, len(reached), 2),
    }


def _groups(
    by: str,
    period: Period,
    contacts: list[Contact],
    repeats: dict[int, tuple[bool, bool]],
    survey: list[SurveyAnswer],
    presence: dict[int, dict[str, float]],
    callbacks: list[CallbackFacts],
    settings: KpiSettings,
) -> list[dict[str, Any]]:
    key_of = _key_function(by, settings)
    members: dict[str, list[Contact]] = defaultdict(list)
    for contact in contacts:
        members[key_of(contact)].append(contact)
    group_of = {c.id: key for key, group in members.items() for c in group}
    answers: dict[str, list[SurveyAnswer]] = defaultdict(list)
    for answer in survey:
        key = (
            str(answer.agent_id) if by == "agent" and answer.agent_id else group_of.get(answer.interaction_id)
        )
        if key is not None:
            answers[key].append(answer)
    keys = _all_keys(by, period, settings) or sorted(set(members) | set(answers))
    requested = Counter(_time_key(r.requested_at, by, settings) for r in callbacks if by in ("day", "hour"))
    rows = []
    for key in keys:
        row = {"key": key, **summarise(members.get(key, []), repeats, answers.get(key, []), settings)}
        if by == "agent" and key.isdigit():
            row["utilisation"] = _utilisation([presence.get(int(key), {})])["utilisation"]
        if by in ("day", "hour"):
            row["callback_requests"] = requested[key]
        rows.append(row)
    return rows


def _key_function(by: str, settings: KpiSettings) -> Callable[[Contact], str]:
    if by in ("day", "hour"):
        cache: dict[int, str] = {}

        def key(c: Contact) -> str:
            quarter = int(c.started // 900)
            if quarter not in cache:
                cache[quarter] = _time_key(datetime.fromtimestamp(quarter * 900, UTC), by, settings)
            return cache[quarter]

        return key
    if by == "intent":
        return lambda c: c.intent or "none"
    if by == "queue":
        return lambda c: c.queue or "(ivr)"
    return lambda c: str(c.agent_id) if c.agent_id is not None else "(none)"


def _time_key(moment: datetime, by: str, settings: KpiSettings) -> str:
    local = moment.astimezone(settings.zone)
    if by == "day":
        return local.date().isoformat()
    return local.replace(minute=0, second=0, microsecond=0).isoformat(timespec="minutes")


def _all_keys(by: str, period: Period, settings: KpiSettings) -> list[str]:
    """Every day or hour of the period, empty ones too (a DST day has 23 or 25 hours)."""
    if by not in ("day", "hour"):
        return []
    step = timedelta(hours=1)
    keys: list[str] = []
    moment = period.start
    while moment < period.end:
        key = _time_key(moment, by, settings)
        if not keys or keys[-1] != key:
            keys.append(key)
        moment += step
    return keys


def _ratio(part: float, whole: float, digits: int = 4) -> float | None:
    return round(part / whole, digits) if whole > 0 else None


def _mean(values: list[float] | list[int]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None
