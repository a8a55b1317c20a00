"""Fetch a caller's recording from Twilio: only from Twilio's media hosts, bounded in time and size."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urljoin

import requests
from urllib3.exceptions import LocationParseError
from urllib3.util import Url, parse_url

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


#: Twilio's own hosts: api.twilio.com and the regional ones (api.dublin.ie1.twilio.com, ...).
TWILIO_HOST = re.compile(r"(?:[a-z0-9-]+\.)+twilio\.com")


def media_url(url: str, extra_hosts: Iterable[str] = ()) -> str | None:
    """``url`` exactly as the HTTP client will send it, if it is on an allowed media host; else None.

    Twilio's hosts only over HTTPS on the default port; ``extra_hosts`` (``host:port`` of a
    Twilio-compatible provider) over HTTP(S). The host is parsed by the same code as requests
    parses it, so a URL cannot mean one host to this check and another to the download.
    """
    parts = _parsed(url)
    if parts is None or parts.auth is not None or not parts.host:
        return None
    host = parts.host.lower()
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    if netloc in {h.strip().lower() for h in extra_hosts}:
        return parts.url if parts.scheme in ("http", "https") else None
    twilio = TWILIO_HOST.fullmatch(host) is not None
    return parts.url if parts.scheme == "https" and twilio and parts.port in (None, 443) else None


def is_media_host(url: str, extra_hosts: Iterable[str] = ()) -> bool:
    """Whether ``url`` is on Twilio's media hosts (https) or on an explicitly allowed host."""
    return media_url(url, extra_hosts) is not None


def _parsed(url: str) -> Url | None:
    """The URL as requests prepares and urllib3 parses it; None if either refuses it."""
    try:
        prepared = requests.Request("GET", url).prepare().url
        return parse_url(prepared) if prepared else None
    except (requests.RequestException, LocationParseError, ValueError):
        return None


def _host_of(url: str) -> str:
    """The host for a log line: what the client would contact, never the path or query."""
    parts = _parsed(url)
    return parts.host if parts is not None and parts.host else "an unparsable URL"


def fetch_recording(
    url: str, config: dict[str, Any], session: requests.Session | None = None, max_bytes: int = MAX_BYTES
) -> bytes:
    """Download a recording with the account's credentials; raise RecordingRefused/Unavailable."""
    extra = _extra_hosts(config)
    checked = media_url(url, extra)
    if checked is None:
        raise RecordingRefused(_host_of(url))
    if session is None:
        with requests.Session() as own:
            own.trust_env = False  # no .netrc credentials or proxies from the environment
            return _fetch(own, checked, config, extra, max_bytes)
    return _fetch(session, checked, config, extra, max_bytes)


def _fetch(
    http: requests.Session, url: str, config: dict[str, Any], extra: list[str], max_bytes: int
) -> bytes:
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
        return _body(resp, max_bytes)


def _follow(
    http: requests.Session, url: str, config: dict[str, Any], extra: list[str], give_up: float
) -> requests.Response:
    """GET with credentials; follow a few redirects, to allowed hosts only and without credentials."""
    auth: tuple[str, str] | None = (config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"])
    resp = _get(http, url, auth, give_up)
    for _hop in range(MAX_REDIRECTS):
        if not resp.is_redirect:
            break
        resp.close()
        try:
            target = urljoin(url, resp.headers.get("Location", ""))
        except ValueError:
            raise RecordingRefused("an unparsable redirect") from None
        checked = media_url(target, extra)
        if checked is None:
            raise RecordingRefused(_host_of(target))
        url = checked
        resp = _get(http, url, None, give_up)  # never the credentials to where a redirect points
    return resp


def _get(http: requests.Session, url: str, auth: tuple[str, str] | None, give_up: float) -> requests.Response:
    read_timeout = max(0.5, min(READ_TIMEOUT, give_up - time.monotonic()))
    try:
        return http.get(
            url, auth=auth, timeout=(CONNECT_TIMEOUT, read_timeout), stream=True, allow_redirects=False
        )
    except requests.RequestException as exc:
        raise RecordingUnavailable(f"fetching the recording failed: {exc}") from None


def _body(resp: requests.Response, max_bytes: int) -> bytes:
    with resp:
        if resp.status_code != 200:
            raise RecordingUnavailable(f"recording fetch answered HTTP {resp.status_code}")
        kind = resp.headers.get("Content-Type", "").lower()
        if not kind.startswith(AUDIO_TYPES):
            raise RecordingUnavailable(f"recording has content type {kind or 'none'}")
        if int(resp.headers.get("Content-Length") or 0) > max_bytes:
            raise RecordingUnavailable("recording too large")
        data = bytearray()
        for chunk in resp.iter_content(64 * 1024):
            data += chunk
            if len(data) > max_bytes:
                raise RecordingUnavailable("recording too large")
        return bytes(data)


def _extra_hosts(config: dict[str, Any]) -> list[str]:
    return [str(h) for h in config.get("RECORDING_HOSTS") or []]
