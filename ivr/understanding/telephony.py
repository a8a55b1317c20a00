"""Move a live call on through Twilio's REST API (after a media stream heard the caller)."""

from __future__ import annotations

from typing import Any

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

API_TIMEOUT = 3.0  # the caller is waiting in silence; a slow API must not hold the stream


def rest_client(config: dict[str, Any]) -> Client:
    """A REST client on the configured API host, with the injected HttpClient if any."""
    http_client = config.get("TWILIO_HTTP_CLIENT") or TwilioHttpClient(timeout=API_TIMEOUT)
    client = Client(config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"], http_client=http_client)
    base = config.get("TWILIO_API_BASE_URL")
    if base:  # Twilio-compatible providers, and tests
        client.api.base_url = str(base).rstrip("/")
    return client


def redirect_call(config: dict[str, Any], call_sid: str, url: str) -> None:
    """Send the live call to ``url`` (POST), as Twilio's "modify a call" documents."""
    rest_client(config).calls(call_sid).update(url=url, method="POST")
