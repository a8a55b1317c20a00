"""Configuration from the environment, with secure defaults."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ivr.db import Timeouts
from ivr.models._types import utcnow

TOKEN_FILE = "twilio_auth_token"
#: Request bodies: Twilio's webhooks are a few KB, an orders upload of 1000 orders ~0.5 MB.
DEFAULT_MAX_BODY = 1024 * 1024


class ConfigError(ValueError):
    """A setting that would make the service unsafe or unusable; stops start-up with its message."""


def load_config(instance_path: str) -> dict[str, Any]:
    """Read the service configuration from environment variables."""
    env = os.environ
    instance = Path(instance_path)
    return {
        "DATABASE_URL": env.get("IVR_DATABASE_URL") or f"sqlite:///{instance / 'hotline.db'}",
        # Seconds; all well below Twilio's 15 s webhook timeout (ivr.db.Timeouts).
        "DB_TIMEOUTS": Timeouts(
            connect=float(env.get("IVR_DB_CONNECT_TIMEOUT", Timeouts.connect)),
            statement=float(env.get("IVR_DB_STATEMENT_TIMEOUT", Timeouts.statement)),
            lock=float(env.get("IVR_DB_LOCK_TIMEOUT", Timeouts.lock)),
            sqlite_busy=float(env.get("IVR_DB_SQLITE_BUSY_TIMEOUT", Timeouts.sqlite_busy)),
        ),
        "TWILIO_ACCOUNT_SID": env.get("TWILIO_ACCOUNT_SID", "AC" + "0" * 32),
        "TWILIO_AUTH_TOKEN": auth_token(env.get("TWILIO_AUTH_TOKEN"), instance),
        "TWILIO_API_BASE_URL": env.get("TWILIO_API_BASE_URL"),
        "PUBLIC_URL": (env.get("IVR_PUBLIC_URL") or "").rstrip("/") or None,
        "FALLBACK_NUMBER": env.get("IVR_FALLBACK_NUMBER"),
        "DEFAULT_REGION": env.get("IVR_DEFAULT_REGION", "DE"),
        "VOICE_DE": env.get("IVR_VOICE_DE", "Polly.Vicki-Neural"),
        "VOICE_EN": env.get("IVR_VOICE_EN", "Polly.Joanna-Neural"),
        "SPEECH_MODE": env.get("IVR_SPEECH_MODE", "twilio"),
        # vosk mode: how audio reaches the recogniser (record | stream), and what to use
        # when no model is configured (twilio | off).
        "SPEECH_CAPTURE": env.get("IVR_SPEECH_CAPTURE", "record"),
        "SPEECH_FALLBACK": env.get("IVR_SPEECH_FALLBACK", "off"),
        "VOSK_MODEL": env.get("IVR_VOSK_MODEL") or None,
        # Media streams: this much silence after words ends the caller's turn (seconds). Shorter
        # answers sooner but cuts callers off who pause mid-sentence (docs/understanding.md).
        "SPEECH_END_SILENCE": float(env.get("IVR_SPEECH_END_SILENCE", "0.8")),
        # Hosts besides Twilio's own that may serve recordings (a Twilio-compatible provider).
        "RECORDING_HOSTS": [h.strip() for h in env.get("IVR_RECORDING_HOSTS", "").split(",") if h.strip()],
        # A twilio.http.HttpClient for the REST client; tests inject one.
        "TWILIO_HTTP_CLIENT": None,
        # Larger bodies are answered 413 before they are read (ivr/limits.py, ivr/serving.py).
        "MAX_CONTENT_LENGTH": positive_int(env, "IVR_MAX_BODY_BYTES", DEFAULT_MAX_BODY),
        "MAX_FORM_MEMORY_SIZE": 64 * 1024,
        "MAX_FORM_PARTS": 200,
        "FLOW_NAME": env.get("IVR_FLOW", "hotline"),
        "SECRET_KEY": env.get("IVR_SECRET_KEY") or instance_secret(instance, "secret_key"),
        # Outbound webhooks of the customer history (ivr/customers/outbox.py, docs/history-api.md).
        "WEBHOOK_URLS": webhook_urls(env),
        "WEBHOOK_SECRET": env.get("IVR_WEBHOOK_SECRET") or None,
        "WEBHOOK_ALLOW_PRIVATE": env.get("IVR_WEBHOOK_ALLOW_PRIVATE", "").lower() in ("1", "true", "yes"),
        "WEBHOOK_WRAPUP_WAIT": positive_int(env, "IVR_WEBHOOK_WRAPUP_WAIT", 600),
        # Days each kind of personal data is kept (docs/privacy.md); IVR_RETENTION_<KIND>_DAYS.
        "RETENTION_DAYS": _retention(env),
        # How often a worker runs the privacy purge (hours); 0 = only by `ivr privacy purge`.
        "PURGE_INTERVAL_HOURS": _hours(env.get("IVR_PURGE_INTERVAL_HOURS", "1")),
        # The clock the flows see (opening hours); tests replace it.
        "CLOCK": utcnow,
    }


def _hours(raw: str) -> float:
    """IVR_PURGE_INTERVAL_HOURS: hours between purges in a worker, 0 for none."""
    try:
        hours = float(raw)
    except ValueError:
        raise ConfigError(f"IVR_PURGE_INTERVAL_HOURS must be a number of hours, not {raw!r}") from None
    if not 0 <= hours < 24 * 365:
        raise ConfigError("IVR_PURGE_INTERVAL_HOURS must be 0 (off) or a positive number of hours")
    return hours


def _retention(env: Mapping[str, str]) -> dict[str, int]:
    from ivr.privacy.retention import retention_days

    return retention_days(env)


def positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    """An integer setting above zero, or a ConfigError naming the variable."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be above zero")
    return value


def webhook_urls(env: Mapping[str, str]) -> list[str]:
    """``IVR_WEBHOOK_URLS`` (comma-separated): http(s) URLs, usable only with a signing secret."""
    urls = [u.strip() for u in env.get("IVR_WEBHOOK_URLS", "").split(",") if u.strip()]
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or len(url) > 500:
            raise ConfigError(
                "IVR_WEBHOOK_URLS must be http(s) URLs without user info, at most 500 characters"
            )
    if urls and len(env.get("IVR_WEBHOOK_SECRET", "").strip()) < 16:
        raise ConfigError("IVR_WEBHOOK_URLS needs IVR_WEBHOOK_SECRET (at least 16 characters) to sign with")
    return urls


def auth_token(configured: str | None, instance: Path) -> str:
    """The webhook signing key (also the REST password): the configured one, or the instance's."""
    if configured is None or configured == "":
        return instance_auth_token(instance)
    token = configured.strip()
    if not token:  # a blank key would let anyone sign webhooks with it
        raise ConfigError("TWILIO_AUTH_TOKEN is blank; set your Twilio auth token or unset the variable")
    return token


def instance_auth_token(instance: Path) -> str:
    """Return the generated Twilio auth token of this instance, creating it once."""
    return instance_secret(instance, TOKEN_FILE)


def instance_secret(instance: Path, name: str) -> str:
    """Return a random secret kept in the instance folder, generated on first use."""
    path = instance / name
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(16)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


SPEECH_CAPTURES = ("twilio", "record", "stream", "off")


def capture_mode(config: dict[str, Any]) -> str:
    """How a spoken answer is captured: twilio, record, stream or off (keypad only)."""
    mode = config.get("SPEECH_MODE", "twilio")
    if mode != "vosk":
        return mode if mode in SPEECH_CAPTURES else "off"
    if not config.get("VOSK_MODEL"):
        fallback = config.get("SPEECH_FALLBACK", "off")
        return fallback if fallback in ("twilio", "off") else "off"
    return "stream" if config.get("SPEECH_CAPTURE") == "stream" else "record"
