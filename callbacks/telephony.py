"""The Twilio REST client, pointed at the configured API host."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

API_TIMEOUT = 10.0


def make_client(config: Mapping[str, Any], http_client: HttpClient | None = None) -> Client:
    """A REST client; ``TWILIO_API_BASE_URL`` serves Twilio-compatible providers (and tests)."""
    client = Client(
        config["TWILIO_ACCOUNT_SID"],
        config["TWILIO_AUTH_TOKEN"],
        http_client=http_client or TwilioHttpClient(timeout=API_TIMEOUT),
    )
    base = config.get("TWILIO_API_BASE_URL")
    if base:
        client.api.base_url = str(base).rstrip("/")
    return client
