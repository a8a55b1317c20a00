"""KPI settings from the app config (``KPI_*``) or the environment (``IVR_KPI_*``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ivr.desk.settings import DeskSettings

#: Service-level denominators: offered (queued − short abandons − callbacks) or handled
#: (answered + abandoned after the short-abandon threshold).
DENOMINATORS = ("offered", "handled")


class KpiSettingsError(ValueError):
    """A KPI setting that makes no sense (message names the variable)."""


@dataclass(frozen=True)
class KpiSettings:
    """The knobs of the KPI definitions; the defaults are the issue's (80/20, 7 days)."""

    #: Target share (percent) answered within ``service_level_seconds``.
    service_level_percent: int = 80
    service_level_seconds: int = 20
    service_level_denominator: str = "offered"
    #: Callers who hang up in the queue sooner than this are short abandons, reported apart.
    short_abandon_seconds: int = 5
    #: A contact followed by another of the same customer within this many days was not resolved.
    fcr_days: int = 7
    #: A self-served caller who calls again within this many hours was not contained.
    containment_repeat_hours: int = 24
    timezone: str = "Europe/Berlin"
    #: Seconds a KPI computation may take on PostgreSQL (webhooks keep their shorter limit).
    statement_timeout: int = 30
    #: Wrap-up that the agent does not end themselves ends by itself after this (ivr.desk.settings).
    wrapup_limit: timedelta = timedelta(seconds=30)

    @property
    def zone(self) -> ZoneInfo:
        """The shop's time zone: days and hours are local."""
        return ZoneInfo(self.timezone)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> KpiSettings:
        """Build and check; a bad value raises KpiSettingsError naming the variable."""

        def get(key: str, default: Any) -> Any:
            value = config.get(f"KPI_{key}")
            if value is None:
                value = os.environ.get(f"IVR_KPI_{key}")
            return default if value in (None, "") else value

        def number(key: str, default: int, low: int, high: int) -> int:
            raw = get(key, default)
            try:
                value = int(raw)
            except (TypeError, ValueError):
                raise KpiSettingsError(f"IVR_KPI_{key} must be a whole number, not {raw!r}") from None
            if not low <= value <= high:
                raise KpiSettingsError(f"IVR_KPI_{key} must be between {low} and {high}")
            return value

        denominator = str(get("SERVICE_LEVEL_DENOMINATOR", cls.service_level_denominator))
        if denominator not in DENOMINATORS:
            raise KpiSettingsError(
                f"IVR_KPI_SERVICE_LEVEL_DENOMINATOR must be one of {', '.join(DENOMINATORS)}"
            )
        timezone = str(config.get("TIMEZONE") or os.environ.get("IVR_TIMEZONE") or cls.timezone)
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise KpiSettingsError(f"unknown time zone {timezone!r}") from None
        return cls(
            service_level_percent=number("SERVICE_LEVEL_PERCENT", cls.service_level_percent, 1, 100),
            service_level_seconds=number("SERVICE_LEVEL_SECONDS", cls.service_level_seconds, 1, 3600),
            service_level_denominator=denominator,
            short_abandon_seconds=number("SHORT_ABANDON_SECONDS", cls.short_abandon_seconds, 0, 600),
            fcr_days=number("FCR_DAYS", cls.fcr_days, 1, 30),
            containment_repeat_hours=number("CONTAINMENT_REPEAT_HOURS", cls.containment_repeat_hours, 1, 720),
            timezone=timezone,
            statement_timeout=number("STATEMENT_TIMEOUT", cls.statement_timeout, 1, 600),
            wrapup_limit=DeskSettings.from_config(config).wrapup,
        )

    def as_dict(self) -> dict[str, Any]:
        """The settings as shown next to the numbers."""
        return {
            "service_level_percent": self.service_level_percent,
            "service_level_seconds": self.service_level_seconds,
            "service_level_denominator": self.service_level_denominator,
            "short_abandon_seconds": self.short_abandon_seconds,
            "fcr_days": self.fcr_days,
            "containment_repeat_hours": self.containment_repeat_hours,
            "timezone": self.timezone,
            "wrapup_limit_seconds": int(self.wrapup_limit.total_seconds()),
        }
