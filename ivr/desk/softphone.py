"""The browser softphone: Twilio Voice JS SDK access tokens for agents, and where the SDK comes from.

The SDK is the npm package ``@twilio/voice-sdk``, pinned in ``package-lock.json`` and installed
into ``node_modules`` by ``ivr serve`` and ``.ci/run`` (``npm ci``); it is never copied into the
repository. Tokens are made by the ``twilio`` library (``AccessToken`` with a ``VoiceGrant``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant

from ivr.desk.models import User
from ivr.desk.routing import client_identity

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "node_modules" / "@twilio" / "voice-sdk" / "dist" / "twilio.min.js"
#: Every front-end file the console serves from ``node_modules`` (the reports' charts too).
FRONT_END = (SDK, ROOT / "node_modules" / "chart.js" / "dist" / "chart.umd.min.js")
TOKEN_TTL = 3600


@dataclass(frozen=True)
class SoftphoneSettings:
    """An API key (SID and secret) and the TwiML App the browser's calls belong to."""

    account_sid: str
    api_key_sid: str
    api_key_secret: str
    twiml_app_sid: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SoftphoneSettings | None:
        """The settings, or None when the softphone is not configured (agents use phones)."""

        def get(key: str) -> str:
            return str(config.get(key) or os.environ.get(key) or "").strip()

        key, secret, app = (
            get("TWILIO_API_KEY_SID"),
            get("TWILIO_API_KEY_SECRET"),
            get("TWILIO_TWIML_APP_SID"),
        )
        if not (key and secret and app):
            return None
        return cls(str(config["TWILIO_ACCOUNT_SID"]), key, secret, app)


def access_token(settings: SoftphoneSettings, user: User) -> str:
    """A one-hour token that lets this agent's browser receive the calls routed to them."""
    token = AccessToken(
        settings.account_sid,
        settings.api_key_sid,
        settings.api_key_secret,
        identity=client_identity(user.id),
        ttl=TOKEN_TTL,
    )
    token.add_grant(VoiceGrant(incoming_allow=True, outgoing_application_sid=settings.twiml_app_sid))
    return str(token.to_jwt())


def install_sdk() -> str:
    """Install the pinned front-end packages when they are missing; returns what happened."""
    if all(path.exists() for path in FRONT_END):
        return "softphone SDK installed"
    npm = shutil.which("npm")
    if npm is None or not (ROOT / "package-lock.json").exists():
        return "npm not found: the browser softphone is unavailable (agents' phones still ring)"
    subprocess.run(
        [npm, "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return "softphone SDK installed from package-lock.json"
