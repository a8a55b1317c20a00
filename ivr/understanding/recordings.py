"""Fetch a caller's recording from Twilio: only from Twilio's media hosts, bounded in time and size."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

log = logging.getLogger(__name__)

MAX_BYTES = 2 * 1024 * 1024  # a 15 s answer is ~240 KB as 8 kHz WAV; anything far bigger is not one
CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 4.0
# Twilio may answer 404 for a moment after the <Record> action fires, until the file is stored.
NOT_YET_RETRIES = 3
NOT_YET_PAUSE = 0.4
MAX_REDIRECTS = 2
#: The whole download, retries included, must leave time for recognition inside Twilio's
#: 15 s webhook timeout.
DEADLINE = 6.0
AUDIO_TYPES = ("audio/", "application/octet-stream")


class RecordingRefused(Exception):
    """The RecordingUrl points somewhere we do not fetch from (a possible SSRF attempt)."""


class RecordingUnavailable(Exception):
    """The recording could not be fetched in time, was too large, or is not audio."""


def is_media_host(url: str, extra_hosts: Iterable[str] = ()) -> bool:
    """Whether ``url`` is on Twilio's media hosts (https) or on an explicitly allowed host."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.netloc.lower() in {h.lower() for h in extra_hosts}:
        return parts.scheme in ("http", "https")
    # api.twilio.com and the regional hosts (api.dublin.ie1.twilio.com, ...); never userinfo tricks.
    twilio = host == "api.twilio.com" or host.endswith(".twilio.com")
    return parts.scheme == "https" and twilio and "@" not in parts.netloc and parts.port in (None, 443)


def fetch_recording(url: str, config: dict[str, Any], session: requests.Session | None = None) -> bytes:
    """Download a recording with the account's credentials; raise RecordingRefused/Unavailable."""
    extra = _extra_hosts(config)
    if not is_media_host(url, extra):
        raise RecordingRefused(urlsplit(url).netloc)
    if session is None:
        with requests.Session() as own:
            return _fetch(own, url, config, extra)
    return _fetch(session, url, config, extra)


def _fetch(http: requests.Session, url: str, config: dict[str, Any], extra: list[str]) -> bytes:
    """GET, retrying briefly while Twilio still answers 404."""
    attempt = 0
    give_up = time.monotonic() + DEADLINE
    while True:
        resp = _follow(http, url, config, extra, give_up)
        late = time.monotonic() + NOT_YET_PAUSE + CONNECT_TIMEOUT > give_up
        if resp.status_code == 404 and attempt < NOT_YET_RETRIES and not late:
            resp.close()
            attempt += 1
            time.sleep(NOT_YET_PAUSE)
            continue
        return _body(resp)


def _follow(
    http: requests.Session, url: str, config: dict[str, Any], extra: list[str], give_up: float
) -> requests.Response:
    """GET with credentials; follow a few redirects, to allowed hosts only and without credentials."""
    auth: tuple[str, str] | None = (config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"])
    resp = _get(http, url, auth, give_up)
    for _hop in range(MAX_REDIRECTS):
        if not resp.is_redirect:
            break
        url = urljoin(url, resp.headers.get("Location", ""))
        resp.close()
        if not is_media_host(url, extra):
            raise RecordingRefused(urlsplit(url).netloc)
        resp = _get(http, url, None, give_up)
    return resp


def _get(http: requests.Session, url: str, auth: tuple[str, str] | None, give_up: float) -> requests.Response:
    read_timeout = max(0.5, min(READ_TIMEOUT, give_up - time.monotonic()))
    try:
        return http.get(
            url, auth=auth, timeout=(CONNECT_TIMEOUT, read_timeout), stream=True, allow_redirects=False
        )
    except requests.RequestException as exc:
        raise RecordingUnavailable(f"fetching the recording failed: {exc}") from None


def _body(resp: requests.Response) -> bytes:
    with resp:
        if resp.status_code != 200:
            raise RecordingUnavailable(f"recording fetch answered HTTP {resp.status_code}")
        kind = resp.headers.get("Content-Type", "").lower()
        if not kind.startswith(AUDIO_TYPES):
            raise RecordingUnavailable(f"recording has content type {kind or 'none'}")
        if int(resp.headers.get("Content-Length") or 0) > MAX_BYTES:
            raise RecordingUnavailable("recording too large")
        data = bytearray()
        for chunk in resp.iter_content(64 * 1024):
            data += chunk
            if len(data) > MAX_BYTES:
                raise RecordingUnavailable("recording too large")
        return bytes(data)


def _extra_hosts(config: dict[str, Any]) -> list[str]:
    return [str(h) for h in config.get("RECORDING_HOSTS") or []]
