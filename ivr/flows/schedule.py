"""Opening hours: a weekly schedule in a time zone, closed on public holidays."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ivr.flows.nodes.base import Text

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_days(spec: str) -> list[int]:
    """``mon-fri`` or ``sat,sun`` → weekday numbers (Monday = 0)."""
    result: list[int] = []
    for part in spec.lower().split(","):
        part = part.strip()
        if "-" in part:
            first, last = (DAYS.index(p.strip()) for p in part.split("-", 1))
            result.extend(range(first, last + 1))
        else:
            result.append(DAYS.index(part))
    return result


def parse_ranges(spec: str) -> list[tuple[time, time]]:
    """``08:00-12:00, 13:00-18:00`` → time ranges."""
    ranges = []
    for part in spec.split(","):
        m = _RANGE.match(part)
        if not m:
            raise ValueError(f"'{part.strip()}' is not a time range like 08:00-18:00")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        start, end = time(h1, m1), time(23, 59, 59) if (h2, m2) == (24, 0) else time(h2, m2)
        if start >= end:
            raise ValueError(f"'{part.strip()}' ends before it starts")
        ranges.append((start, end))
    return ranges


class Schedule(BaseModel):
    """Weekly opening hours with public holidays (``holidays`` country and state)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "Europe/Berlin"
    country: str = "DE"
    subdivision: str | None = None
    weekly: dict[str, str]
    closed_on: list[date] = Field(default_factory=list)
    describe: Text | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}'") from None
        return value

    @field_validator("weekly")
    @classmethod
    def _valid_week(cls, value: dict[str, str]) -> dict[str, str]:
        for days, hours in value.items():
            try:
                parse_days(days)
            except ValueError:
                raise ValueError(f"'{days}' is not a day or day range like mon-fri") from None
            parse_ranges(hours)
        return value

    @cached_property
    def week(self) -> dict[int, list[tuple[time, time]]]:
        """Opening ranges per weekday."""
        week: dict[int, list[tuple[time, time]]] = {}
        for days, hours in self.weekly.items():
            for day in parse_days(days):
                week.setdefault(day, []).extend(parse_ranges(hours))
        return week

    @cached_property
    def public_holidays(self) -> holidays.HolidayBase:
        """The country's (and state's) public holidays."""
        return holidays.country_holidays(self.country, subdiv=self.subdivision)

    def is_open(self, when: datetime) -> bool:
        """Whether the line is staffed at ``when`` (an aware datetime)."""
        local = when.astimezone(ZoneInfo(self.timezone))
        if local.date() in self.closed_on or local.date() in self.public_holidays:
            return False
        now = local.time()
        return any(start <= now < end for start, end in self.week.get(local.weekday(), []))
