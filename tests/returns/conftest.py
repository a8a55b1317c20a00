"""Fixtures for return tests: orders from tests/orders, the shipped hotline, Twilio's fake REST edge."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.callbacks.fakes import ACCOUNT_SID, FakeTwilio
from tests.conftest import AUTH_TOKEN
from tests.desk.conftest import create_user  # noqa: F401
from tests.orders.conftest import CALLER, STRANGER, create_order, history_events  # noqa: F401

#: A landline: the label goes by e-mail.
LANDLINE = "+493012345678"
SMS_FROM = "+4915799990000"


@pytest.fixture
def fake_twilio(app: Flask) -> FakeTwilio:
    """Twilio's REST API behind its HttpClient seam, wired into the app."""
    fake = FakeTwilio(AUTH_TOKEN)
    app.config.update(
        TWILIO_HTTP_CLIENT=fake,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_API_BASE_URL="https://api.twilio.test",
        RETURNS_SMS_FROM=SMS_FROM,
        RETURNS_LABEL_URL="https://shop.example/returns/label/{token}",
    )
    return fake


def delivered(**fields: Any) -> dict[str, Any]:
    """Order fields of a parcel delivered last Friday (four days before the tests' today)."""
    return {"status": "delivered", "delivered_at": "2026-11-20", **fields}


def register_by_phone(phone: Any, number: str = CALLER, language: str = "de") -> Any:
    """Call the hotline from ``number`` and register a return of its delivered single-item order."""
    caller = phone(number)
    caller.dial()
    if language == "en":
        caller.press("9")
    caller.press("2")
    caller.press("1")  # the offered order
    caller.press("1")  # does not fit
    caller.press("1")  # confirm
    assert "Rücksendenummer" in caller.heard or "return number" in caller.heard
    return caller
