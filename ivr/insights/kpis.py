"""KPIs over a period, in total and grouped by day, hour, intent, queue or agent.

``compute_kpis`` is the one function behind the API, the CLI and the console reports.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, false, func, literal, not_, or_, select, text, true
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ivr.insights.callfacts import CallFacts, milliseconds, refresh
from ivr.insights.definitions import definitions
from ivr.insights.facts import (
    CallbackFacts,
    Contact,
    SurveyAnswer,
    contacts_with_next,
    epoch_function,
    load_callbacks,
    load_presence,
)
from ivr.insights.settings import KpiSettings
from ivr.models import Interaction

GROUPINGS = ("day", "hour", "intent", "queue", "agent")
#: Groupings summed per quarter hour in SQL (then named in the shop's time zone).
QUARTER_GROUPINGS = ("day", "hour")
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
    """Every KPI over ``period``, in total and per group, with their definitions and settings.

    The per-call facts are brought up to date first (``callfacts.refresh``, its own transaction);
    the sums per group are done in SQL, so only one row per group reaches Python.
    """
    if by is not None and by not in GROUPINGS:
        raise PeriodError(f"by must be one of {', '.join(GROUPINGS)}")
    engine = session.get_bind().engine
    refresh(engine, timeout=settings.statement_timeout)
    if engine.dialect.name == "postgresql":
        _limits(session, settings)
        # The agents' presence (and the call mix, when not read with the sums) are read beside
        # the calls' sums, on a second connection: two server processes share the work.
        with ThreadPoolExecutor(max_workers=1) as beside:
            reading = beside.submit(_read_apart, engine, period, by, settings)
            tallies, mix = tally_groups(session, period, by, settings)
            presence, mix_apart = reading.result()
    else:
        presence = load_presence(session, period.start, period.end)
        tallies, mix = tally_groups(session, period, by, settings)
        mix_apart = call_mix(session, period) if mix is None else None
    mix = mix if mix is not None else mix_apart or {}
    callbacks = load_callbacks(session, period.start, period.end)
    total = Tally()
    for tally in tallies.values():
        total.add(tally)
    figures = total.figures(settings)
    figures["utilisation"] = _utilisation(presence.values())
    figures["callbacks"] = _callbacks(callbacks, settings)
    figures.update(mix)
    result: dict[str, Any] = {
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "by": by,
        "settings": settings.as_dict(),
        "definitions": definitions(settings),
        "total": figures,
    }
    if by is not None:
        if by == "agent":
            _survey_by_agent(session, period, tallies)
        result["groups"] = _groups(by, period, tallies, presence, callbacks, settings)
    return result


def _limits(session: Session, settings: KpiSettings) -> None:
    """PostgreSQL settings for a KPI read's transaction."""
    # Skip JIT compiling (it costs more than it saves on these aggregations).
    session.execute(text("SET LOCAL work_mem = '64MB'"))
    session.execute(text("SET LOCAL jit = off"))
    # A report over months may take longer than a webhook's statement timeout (docs/insights.md).
    session.execute(text(f"SET LOCAL statement_timeout = {int(settings.statement_timeout * 1000)}"))


def _read_apart(
    engine: Engine, period: Period, by: str | None, settings: KpiSettings
) -> tuple[dict[int, dict[str, float]], dict[str, dict[str, int]] | None]:
    """The agents' presence, and the call mix if ``tally_groups`` does not read it, in a session of
    their own."""
    with Session(engine) as session:
        _limits(session, settings)
        try:
            presence = load_presence(session, period.start, period.end)
            return presence, call_mix(session, period) if by in QUARTER_GROUPINGS else None
        finally:
            session.rollback()


@dataclass
class Tally:
    """The sums one group's KPIs are computed from (times in milliseconds)."""

    contacts: int = 0
    queued: int = 0
    answered: int = 0
    within: int = 0
    wait_ms: int = 0
    longest_ms: int | None = None
    abandons: int = 0
    short_abandons: int = 0
    to_callback: int = 0
    handled: int = 0
    talk: int = 0
    wrapup_ms: int = 0
    self_served: int = 0
    contained: int = 0
    known: int = 0
    repeated: int = 0
    csat_answers: int = 0
    csat_good: int = 0
    csat_sum: int = 0
    nps_answers: int = 0
    nps_promoters: int = 0
    nps_detractors: int = 0
    resolved_answers: int = 0
    resolved_yes: int = 0

    def add(self, other: Tally) -> None:
        """Add another group's sums to these."""
        for name in SUMS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.longest_ms is not None:
            self.longest_ms = max(self.longest_ms or 0, other.longest_ms)

    def figures(self, settings: KpiSettings) -> dict[str, Any]:
        """The call KPIs of the group."""
        abandoned = self.abandons - self.short_abandons
        if settings.service_level_denominator == "offered":
            sl_base = self.queued - self.short_abandons - self.to_callback
        else:
            sl_base = self.answered + abandoned
        wrap = self.wrapup_ms / 1000
        return {
            "contacts": self.contacts,
            "queued": self.queued,
            "answered": self.answered,
            "answered_within_threshold": self.within,
            "service_level": _ratio(self.within, sl_base),
            "service_level_denominator": sl_base,
            "asa_seconds": round(self.wait_ms / 1000 / self.answered, 1) if self.answered else None,
            "abandoned": abandoned,
            "short_abandons": self.short_abandons,
            "queue_to_callback": self.to_callback,
            "abandonment_rate": _ratio(abandoned, self.queued - self.short_abandons - self.to_callback),
            "short_abandon_rate": _ratio(self.short_abandons, self.queued - self.to_callback),
            "longest_wait_seconds": None if self.longest_ms is None else self.longest_ms / 1000,
            "handled": self.handled,
            "talk_seconds": self.talk,
            "hold_seconds": 0,
            "wrapup_seconds": round(wrap, 1),
            "aht_seconds": _ratio(self.talk + wrap, self.handled, 1),
            "self_served": self.self_served,
            "contained": self.contained,
            "containment_rate": _ratio(self.contained, self.contacts),
            "known_customer_contacts": self.known,
            "repeat_contacts": self.repeated,
            "fcr_rate": _ratio(self.known - self.repeated, self.known),
            **self.survey_figures(),
        }

    def survey_figures(self) -> dict[str, Any]:
        """CSAT, NPS and resolved rate from the survey answers' sums."""
        return {
            "csat_answers": self.csat_answers,
            "csat": _ratio(self.csat_good, self.csat_answers),
            "csat_mean": round(self.csat_sum / self.csat_answers, 1) if self.csat_answers else None,
            "nps_answers": self.nps_answers,
            "nps": (
                round(100 * (self.nps_promoters - self.nps_detractors) / self.nps_answers, 1)
                if self.nps_answers
                else None
            ),
            "resolved_answers": self.resolved_answers,
            "resolved_rate": _ratio(self.resolved_yes, self.resolved_answers),
        }


SUMS = tuple(name for name in Tally.__dataclass_fields__ if name != "longest_ms")
SURVEY_SUMS = (
    "csat_answers",
    "csat_good",
    "csat_sum",
    "nps_answers",
    "nps_promoters",
    "nps_detractors",
    "resolved_answers",
    "resolved_yes",
)


def _calls(period: Period, settings: KpiSettings) -> Any:
    """The period's calls with their facts and the customer's next call, as a subquery."""
    follow = max(timedelta(days=settings.fcr_days), timedelta(hours=settings.containment_repeat_hours))
    calls = contacts_with_next(period.start, period.end, follow)
    f = CallFacts.__table__.c
    return (
        select(calls, *[c for c in CallFacts.__table__.c if c.key not in ("interaction_id", "started_at")])
        .select_from(calls.outerjoin(CallFacts, f.interaction_id == calls.c.id))
        .subquery()
    )


def _sums(dialect: str, c: Any, settings: KpiSettings) -> list[Any]:
    """The Tally's sums over the calls ``c`` (same order as Tally's fields)."""
    postgres = dialect == "postgresql"
    epoch = epoch_function(dialect)

    def count(*conditions: Any) -> Any:
        return func.count(case((and_(*conditions), literal(1))))

    def total(value: Any, *conditions: Any) -> Any:
        return func.coalesce(func.sum(case((and_(*conditions), value))), 0)

    queued = c.queued == true()
    answered = and_(queued, c.wait_ms.is_not(None))
    abandon = and_(queued, c.abandon_ms.is_not(None))
    handled = and_(answered, c.talk_ended == true())
    limit = int(settings.wrapup_limit.total_seconds() * 1000)
    least = func.least if postgres else func.min
    wrapup = case((c.wrapup_ms.is_(None), limit), else_=least(c.wrapup_ms, limit))
    gap = epoch(c.next_at) - epoch(c.started_at)
    known = c.customer_id.is_not(None)
    again = and_(known, c.next_at.is_not(None))
    self_served = and_(
        c.outcome.in_(SELF_SERVED),
        or_(c.queued.is_(None), c.queued == false()),
        func.coalesce(c.voicemails, 0) == 0,
        func.coalesce(c.gave_up, 0) == 0,
    )
    longest = (func.greatest if postgres else func.max)(
        func.max(case((answered, c.wait_ms))), func.max(case((abandon, c.abandon_ms)))
    )
    if not postgres:  # SQLite's max() of a NULL is NULL; PostgreSQL's greatest skips it
        longest = func.coalesce(
            longest, func.max(case((answered, c.wait_ms))), func.max(case((abandon, c.abandon_ms)))
        )
    return [
        func.count(),
        count(queued),
        count(answered),
        count(answered, c.wait_ms <= settings.service_level_seconds * 1000),
        total(c.wait_ms, answered),
        longest,
        count(abandon),
        count(abandon, c.abandon_ms < settings.short_abandon_seconds * 1000),
        count(queued, c.wait_ms.is_(None), c.abandon_ms.is_(None), c.outcome == "callback"),
        count(handled),
        total(c.talk_seconds, handled),
        total(wrapup, handled),
        count(self_served),
        count(self_served, not_(and_(again, gap <= settings.containment_repeat_hours * 3600))),
        count(known),
        count(again, gap <= settings.fcr_days * 86400),
        *[func.coalesce(func.sum(c[name]), 0) for name in SURVEY_SUMS],
    ]


def tally_groups(
    session: Session, period: Period, by: str | None, settings: KpiSettings
) -> tuple[dict[str, Tally], dict[str, dict[str, int]] | None]:
    """The Tally of each group of the period's calls (one group ``""`` when not grouped), and the
    call mix (``call_mix``) read in the same pass (None when grouped by day or hour)."""
    dialect = session.get_bind().dialect.name
    c = _calls(period, settings).c
    key: Any
    if by in ("day", "hour"):
        key = func.floor(epoch_function(dialect)(c.started_at) / 900)
    elif by == "intent":
        key = c.intent
    elif by == "queue":
        key = c.queue
    elif by == "agent":
        key = c.agent_id
    else:
        key = literal(0)
    mixed = by not in QUARTER_GROUPINGS  # a row per quarter hour and mix would be too many
    parts = _mix_columns(c.intent, c.language, c.entry) if mixed else []
    firsts = [func.min(c.started_at), func.min(c.id)] if mixed else []
    query = select(key, *parts, *firsts, *_sums(dialect, c, settings)).group_by(key, *parts)
    key_of = _key_function(by, settings)
    tallies: dict[str, Tally] = {}
    mix_rows = []
    for row in session.execute(query):
        name = key_of(row[0])
        tally = Tally(*row[1 + len(parts) + len(firsts) :])
        if mixed:
            mix_rows.append((*row[1:6], tally.contacts))
        if name in tallies:
            tallies[name].add(tally)
        else:
            tallies[name] = tally
    return tallies, _mix(mix_rows) if mixed else None


def _mix_columns(intent: Any, language: Any, entry: Any) -> list[Any]:
    return [func.coalesce(intent, "none"), func.coalesce(language, "unknown"), func.coalesce(entry, "direct")]


def _survey_by_agent(session: Session, period: Period, tallies: dict[str, Tally]) -> None:
    """Survey answers go to the agent they name, not necessarily the one who answered the call."""
    i, f = Interaction, CallFacts
    key = func.coalesce(f.survey_agent_id, f.agent_id)
    for tally in tallies.values():
        for name in SURVEY_SUMS:
            setattr(tally, name, 0)
    rows = session.execute(
        select(key, *[func.sum(getattr(f, name)) for name in SURVEY_SUMS])
        .join(i, i.id == f.interaction_id)
        .where(
            i.channel == "voice",
            i.direction == "inbound",
            i.started_at >= period.start,
            i.started_at < period.end,
            f.csat_answers + f.nps_answers + f.resolved_answers > 0,
        )
        .group_by(key)
    )
    for agent, *sums in rows:
        tally = tallies.setdefault(str(agent) if agent is not None else "(none)", Tally())
        for name, value in zip(SURVEY_SUMS, sums, strict=True):
            setattr(tally, name, value or 0)


def call_mix(session: Session, period: Period) -> dict[str, dict[str, int]]:
    """Calls by intent, language and first menu choice (``by_intent``, ``by_language``, ``by_entry``)."""
    i, f = Interaction, CallFacts
    parts = _mix_columns(i.intent, i.language, f.entry)
    rows = session.execute(
        select(*parts, func.min(i.started_at), func.min(i.id), func.count())
        .select_from(i)
        .outerjoin(f, f.interaction_id == i.id)
        .where(
            i.channel == "voice",
            i.direction == "inbound",
            i.started_at >= period.start,
            i.started_at < period.end,
        )
        .group_by(*parts)
    ).all()
    return _mix([tuple(row) for row in rows])


def _mix(rows: list[tuple[Any, ...]]) -> dict[str, dict[str, int]]:
    """From (intent, language, entry, first start, first id, calls) rows."""
    mix: dict[str, dict[str, list[Any]]] = {"by_intent": {}, "by_language": {}, "by_entry": {}}
    for intent, language, entry, first, first_id, calls in rows:
        for name, value in zip(mix, (intent, language, entry), strict=True):
            seen = mix[name].setdefault(value, [0, first, first_id])
            seen[0] += calls
            seen[1:] = min(seen[1:], [first, first_id])
    # Most frequent first, ties in order of their first call (as Counter.most_common keeps them).
    return {
        "by_intent": _most_common(mix["by_intent"]),
        "by_language": _most_common(mix["by_language"]),
        "by_entry": {k: v[0] for k, v in sorted(mix["by_entry"].items())},
    }


def _most_common(counts: dict[str, list[Any]]) -> dict[str, int]:
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1][0], kv[1][1], kv[1][2]))
    return {k: v[0] for k, v in ordered}


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
    """The call KPIs of one group of contacts read with ``load_contacts`` (the wallboard's today)."""
    tally = Tally()
    limit = round(settings.wrapup_limit.total_seconds() * 1000)
    for c in contacts:
        tally.contacts += 1
        wait, abandon = milliseconds(c.wait), milliseconds(c.abandon_wait)
        if c.queued:
            tally.queued += 1
            if wait is not None:
                tally.answered += 1
                tally.within += wait <= settings.service_level_seconds * 1000
                tally.wait_ms += wait
                tally.longest_ms = max(tally.longest_ms or 0, wait)
                if c.talk_ended:
                    tally.handled += 1
                    tally.talk += c.talk_seconds
                    gap = milliseconds(c.wrapup_gap)
                    tally.wrapup_ms += limit if gap is None else min(limit, gap)
            if abandon is not None:
                tally.abandons += 1
                tally.short_abandons += abandon < settings.short_abandon_seconds * 1000
                tally.longest_ms = max(tally.longest_ms or 0, abandon)
            if wait is None and abandon is None and c.outcome == "callback":
                tally.to_callback += 1
        flags = repeats.get(c.id)
        if _self_served(c):
            tally.self_served += 1
            tally.contained += not (flags or (False, False))[1]
        if flags is not None:
            tally.known += 1
            tally.repeated += flags[0]
    for answer in survey:
        value = answer.value
        if answer.question == "csat" and 1 <= value <= 5:
            tally.csat_answers += 1
            tally.csat_good += value >= 4
            tally.csat_sum += value
        elif answer.question == "nps" and 0 <= value <= 10:
            tally.nps_answers += 1
            tally.nps_promoters += value >= 9
            tally.nps_detractors += value <= 6
        elif answer.question == "resolved" and value in (0, 1):
            tally.resolved_answers += 1
            tally.resolved_yes += value
    return tally.figures(settings)


def _self_served(c: Contact) -> bool:
    """Finished in the IVR: never queued, no callback or voicemail, and the IVR did not give up."""
    return c.outcome in SELF_SERVED and not c.queued and not c.voicemails and not c.gave_up


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
    tallies: dict[str, Tally],
    presence: dict[int, dict[str, float]],
    callbacks: list[CallbackFacts],
    settings: KpiSettings,
) -> list[dict[str, Any]]:
    keys = _all_keys(by, period, settings) or sorted(tallies)
    requested = Counter(_time_key(r.requested_at, by, settings) for r in callbacks if by in ("day", "hour"))
    rows = []
    for key in keys:
        row = {"key": key, **tallies.get(key, Tally()).figures(settings)}
        if by == "agent" and key.isdigit():
            row["utilisation"] = _utilisation([presence.get(int(key), {})])["utilisation"]
        if by in ("day", "hour"):
            row["callback_requests"] = requested[key]
        rows.append(row)
    return rows


def _key_function(by: str | None, settings: KpiSettings) -> Callable[[Any], str]:
    """The group's name from the value SQL grouped by (a quarter hour's number for day and hour)."""
    if by in ("day", "hour"):
        cache: dict[int, str] = {}

        def key(quarter: Any) -> str:
            quarter = int(quarter)
            if quarter not in cache:
                cache[quarter] = _time_key(datetime.fromtimestamp(quarter * 900, UTC), by, settings)
            return cache[quarter]

        return key
    if by == "intent":
        return lambda value: value or "none"
    if by == "queue":
        return lambda value: value or "(ivr)"
    if by == "agent":
        return lambda value: str(value) if value is not None else "(none)"
    return lambda value: ""


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
