"""The callback service nodes and webhooks use: one request per caller, in the current transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from callbacks.numbers import NumberCheck, check_callback_number
from callbacks.queue import NewRequest, Submitted, request_callback
from callbacks.settings import Settings
from ivr.phone import caller_key
from ivr.services import Services, register_service


class CallbackService:
    """Check numbers and queue requests for the call being served."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = Settings.from_config(services.config)

    def check(self, raw: str | None) -> NumberCheck:
        """Whether we may call this number back."""
        return check_callback_number(
            raw, self.services.config.get("DEFAULT_REGION", "DE"), self.settings.allowed_regions
        )

    @staticmethod
    def check_number(config: Mapping[str, Any], raw: str | None) -> str | None:
        """The caller's number in E.164 when we may call it back, else None."""
        settings = Settings.from_config(config)
        return check_callback_number(raw, config.get("DEFAULT_REGION", "DE"), settings.allowed_regions).e164

    def submit(self, phone: str, now: datetime, **fields: Any) -> Submitted:
        """Queue (or update) the caller's request; see ``request_callback`` for the outcomes."""
        caller = caller_key(self.services.caller)
        new = NewRequest(phone=phone, call_sid=self.services.call_sid, caller=caller, **fields)
        if not self.services.test:
            return request_callback(self.services.session, new, now, self.settings)
        # A console test call hears what a caller would hear, but nobody is called back.
        savepoint = self.services.session.begin_nested()
        try:
            result = request_callback(self.services.session, new, now, self.settings)
        finally:
            savepoint.rollback()
        return Submitted(result.outcome, None, result.call_at)


register_service("callbacks", CallbackService)
