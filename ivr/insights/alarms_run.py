"""One alarm pass: test the last window, store what is out of line, then send it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ivr.db import transaction
from ivr.insights.alarms_notify import AlarmSettings, deliver_pending
from ivr.insights.alarms_store import evaluate, store_alarms


@dataclass(frozen=True)
class Pass:
    """What one pass did."""

    window_start: datetime
    window_end: datetime
    new_alarms: list[int]
    sent: int


def run_alarms(sessions: sessionmaker[Session], config: Mapping[str, Any], now: datetime) -> Pass:
    """Check the window that ended last, store new alarms (committed), then deliver unsent ones."""
    settings = AlarmSettings.from_config(config)
    with sessions() as session, transaction(session):
        window, findings = evaluate(session, now, settings.windows, settings.detector)
        stored = store_alarms(session, window, findings, now)
    # Sending happens after the commit: a failed e-mail never loses the stored alarm.
    sent = deliver_pending(sessions, settings, now)
    return Pass(window[0], window[1], stored, sent)
