"""Routing settings from the app config (``DESK_*``) or the environment (``IVR_DESK_*``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any


@dataclass(frozen=True)
class DeskSettings:
    """Timings of offers and wrap-up."""

    #: How long an agent's device rings before the caller goes to the next agent.
    ring_seconds: int = 20
    #: Wrap-up after each conversation before the agent is offered the next caller.
    wrapup: timedelta = timedelta(seconds=30)
    #: Intents whose callers are served first (priority +1).
    urgent_intents: tuple[str, ...] = ("complaint", "delivery_issue", "warranty_defect")
    #: A caller who called within this time before is served first (priority +1).
    repeat_window: timedelta = timedelta(hours=24)
    #: Music a caller on hold hears (an MP3/WAV URL Twilio can fetch); none: a note and quiet.
    hold_music_url: str | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DeskSettings:
        """Build from ``DESK_RING_SECONDS``/``IVR_DESK_RING_SECONDS`` and ``..._WRAPUP_SECONDS``."""

        def get(key: str, default: Any) -> Any:
            value = config.get(f"DESK_{key}")
            if value is None:
                value = os.environ.get(f"IVR_DESK_{key}")
            return default if value is None else value

        return cls(
            ring_seconds=int(get("RING_SECONDS", cls.ring_seconds)),
            wrapup=timedelta(seconds=int(get("WRAPUP_SECONDS", int(cls.wrapup.total_seconds())))),
            hold_music_url=get("HOLD_MUSIC_URL", None) or None,
        )
