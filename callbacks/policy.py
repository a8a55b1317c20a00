"""When to call: opening hours, the caller's chosen window, backoff between attempts, priority."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ivr.flows.schedule import Schedule

MAX_ATTEMPTS = 3
#: Wait after a failed attempt n (1-based) before the next one.
BACKOFF = (timedelta(minutes=15), timedelta(hours=1))
#: How long a caller may wait for the call back once it may be made.
SLA = timedelta(hours=2)
#: Noon splits the day into the "morning" and "afternoon" windows.
NOON = time(12, 0)
#: How far ahead we look for an opening (long holidays included).
HORIZON_DAYS = 21

PRIORITY_REPEAT_CALLER = 1
PRIORITY_COMPLAINT = 2


def schedule_of(hours: dict[str, Any] | None) -> Schedule | None:
    """The opening hours stored with a request (None: no restriction)."""
    return Schedule.model_validate(hours) if hours else None


def earliest_call_time(after: datetime, window: str, schedule: Schedule | None) -> datetime | None:
    """The first moment at or after ``after`` inside opening hours and the caller's window.

    None when there is none within the horizon (a schedule that never opens).
    """
    if schedule is None:
        return after if window == "asap" else _window_without_hours(after, window)
    zone = ZoneInfo(schedule.timezone)
    local = after.astimezone(zone)
    for offset in range(HORIZON_DAYS):
        day = local.date() + timedelta(days=offset)
        if day in schedule.closed_on or day in schedule.public_holidays:
            continue
        for start, end in sorted(schedule.week.get(day.weekday(), [])):
            start, end = _clip(start, end, window)
            if start >= end:
                continue
            begin = datetime.combine(day, start, zone)
            finish = datetime.combine(day, end, zone)
            if finish <= local:
                continue
            return max(begin, local).astimezone(after.tzinfo)
    return None


def _clip(start: time, end: time, window: str) -> tuple[time, time]:
    if window == "morning":
        return start, min(end, NOON)
    if window == "afternoon":
        return max(start, NOON), end
    return start, end


def _window_without_hours(after: datetime, window: str) -> datetime:
    """Without opening hours, morning means 08:00–12:00 and afternoon 12:00–18:00 UTC."""
    start, end = (time(8), NOON) if window == "morning" else (NOON, time(18))
    for offset in range(2):
        day = after.date() + timedelta(days=offset)
        begin = datetime.combine(day, start, after.tzinfo)
        if datetime.combine(day, end, after.tzinfo) > after:
            return max(begin, after)
    return after


def next_attempt_after_failure(
    now: datetime, attempts: int, window: str, schedule: Schedule | None
) -> datetime | None:
    """When to try again after ``attempts`` failed attempts; None when we give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    delay = BACKOFF[min(attempts, len(BACKOFF)) - 1]
    return earliest_call_time(now + delay, window, schedule)


def priority_for(base: int, intent: str | None, recent_contacts: int) -> int:
    """Complaints and callers who tried several times recently go first."""
    priority = base
    if intent == "complaint":
        priority += PRIORITY_COMPLAINT
    if recent_contacts >= 2:
        priority += PRIORITY_REPEAT_CALLER
    return priority
