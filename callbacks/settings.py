"""Callback settings: app config keys first, then ``IVR_CALLBACK_*`` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any


@dataclass(frozen=True)
class Settings:
    """Limits and timings of the callback queue."""

    caller_id: str | None = None
    allowed_regions: tuple[str, ...] = ("DE",)
    per_number_per_hour: int = 3
    #: Accepted requests one calling number may make per hour (for any numbers, its own included).
    per_caller_per_hour: int = 3
    #: Accepted requests all callers with a withheld caller ID may make together per hour.
    withheld_per_hour: int = 5
    global_per_hour: int = 600
    claim_lease: timedelta = timedelta(seconds=60)
    dial_lease: timedelta = timedelta(minutes=15)
    offer_after_seconds: int = 120
    handle_seconds: int = 300
    batch_size: int = 10
    api_retries: int = 3
    api_retry_delay: float = 0.5
    poll_seconds: float = 2.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Build from the app config (``CALLBACK_LEASE_SECONDS``...) or the environment."""

        def get(key: str, default: Any) -> Any:
            value = config.get(f"CALLBACK_{key}")
            if value is None:
                value = os.environ.get(f"IVR_CALLBACK_{key}")
            return default if value is None else value

        regions = get("ALLOWED_REGIONS", "DE")
        if isinstance(regions, str):
            regions = tuple(r.strip().upper() for r in regions.split(",") if r.strip())
        return cls(
            caller_id=get("CALLER_ID", None),
            allowed_regions=tuple(regions),
            per_number_per_hour=int(get("PER_NUMBER_PER_HOUR", cls.per_number_per_hour)),
            per_caller_per_hour=int(get("PER_CALLER_PER_HOUR", cls.per_caller_per_hour)),
            withheld_per_hour=int(get("WITHHELD_PER_HOUR", cls.withheld_per_hour)),
            global_per_hour=int(get("GLOBAL_PER_HOUR", cls.global_per_hour)),
            claim_lease=timedelta(seconds=float(get("LEASE_SECONDS", 60))),
            dial_lease=timedelta(seconds=float(get("DIAL_LEASE_SECONDS", 900))),
            offer_after_seconds=int(get("OFFER_AFTER_SECONDS", cls.offer_after_seconds)),
            handle_seconds=int(get("HANDLE_SECONDS", cls.handle_seconds)),
            batch_size=int(get("BATCH_SIZE", cls.batch_size)),
            api_retries=int(get("API_RETRIES", cls.api_retries)),
            api_retry_delay=float(get("API_RETRY_DELAY", cls.api_retry_delay)),
            poll_seconds=float(get("POLL_SECONDS", cls.poll_seconds)),
        )
