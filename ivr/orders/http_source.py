"""Orders from the shop's own API over HTTP, behind a timeout and a circuit breaker."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import requests

from ivr.models.order import OPEN_STATUSES, ORDER_STATUSES
from ivr.orders.source import OrderInfo, SourceUnavailable, mask_order_number

log = logging.getLogger(__name__)

#: Our field → the shop's JSON key (dotted for nested objects); configurable per shop.
DEFAULT_FIELDS = {name: name for name in OrderInfo.__dataclass_fields__}
MAX_BODY = 256 * 1024


class CircuitBreaker:
    """Stop calling a failing system for a while, then let one trial request through."""

    def __init__(
        self, threshold: int = 3, reset_after: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.threshold, self.reset_after, self.clock = threshold, reset_after, clock
        self.failures = 0
        self.opened_at: float | None = None
        self.trial = False
        self.lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        """Whether requests are currently refused without trying."""
        return self.opened_at is not None

    def allow(self) -> bool:
        """Whether a request may go out now (at most one trial while half-open)."""
        with self.lock:
            if self.opened_at is None:
                return True
            if self.trial or self.clock() - self.opened_at < self.reset_after:
                return False
            self.trial = True
            return True

    def succeeded(self) -> None:
        """Close the breaker."""
        with self.lock:
            self.failures, self.opened_at, self.trial = 0, None, False

    def failed(self) -> None:
        """Count a failure; open (again) at the threshold or when the trial failed."""
        with self.lock:
            self.failures += 1
            if self.trial or self.failures >= self.threshold:
                self.opened_at, self.trial = self.clock(), False


#: One breaker per shop URL per process: services are built per webhook, the breaker outlives them.
_breakers: dict[str, CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(url: str, threshold: int = 3, reset_after: float = 30.0) -> CircuitBreaker:
    """The process-wide breaker guarding ``url``."""
    with _breakers_lock:
        if url not in _breakers:
            _breakers[url] = CircuitBreaker(threshold, reset_after)
        return _breakers[url]


class HttpOrderSource:
    """Looks orders up at ``url`` (``{order_number}`` placeholder) and ``phone_url`` (``{phone}``)."""

    def __init__(
        self,
        url: str,
        phone_url: str | None = None,
        headers: Mapping[str, str] | None = None,
        fields: Mapping[str, str] | None = None,
        timeout: float = 2.0,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.url, self.phone_url = url, phone_url
        self.headers = dict(headers or {})
        self.fields = {**DEFAULT_FIELDS, **(fields or {})}
        self.timeout = timeout
        self.breaker = breaker or breaker_for(url)

    def find(self, order_number: str) -> OrderInfo | None:
        """The order with this number, or None (SourceUnavailable when the shop is down)."""
        data = self._get(
            self.url.format(order_number=quote(order_number, safe="")), mask_order_number(order_number)
        )
        return self._info(data) if isinstance(data, dict) else None

    def latest_open(self, phone: str) -> OrderInfo | None:
        """The shop's newest open order for this phone, when the shop offers that lookup."""
        if not self.phone_url:
            return None
        data = self._get(self.phone_url.format(phone=quote(phone, safe="")), "by phone")
        found = (
            [self._info(d) for d in data if isinstance(d, dict)]
            if isinstance(data, list)
            else ([self._info(data)] if isinstance(data, dict) else [])
        )
        open_ = [o for o in found if o.status in OPEN_STATUSES]
        return max(open_, key=lambda o: o.ordered_at or date.min, default=None)

    def _get(self, url: str, what: str) -> Any:
        """GET JSON within the time budget; None on 404."""
        if not self.breaker.allow():
            raise SourceUnavailable("circuit open")
        deadline = time.monotonic() + self.timeout
        try:
            # requests' timeout bounds each socket wait; the deadline bounds the whole body.
            with requests.get(url, headers=self.headers, timeout=self.timeout, stream=True) as resp:
                if resp.status_code == 404:
                    self.breaker.succeeded()
                    return None
                resp.raise_for_status()
                body = b""
                for chunk in resp.iter_content(8192):
                    body += chunk
                    if time.monotonic() > deadline or len(body) > MAX_BODY:
                        raise requests.Timeout("order API answered too slowly or too much")
            data = json.loads(body)
        except (requests.RequestException, ValueError) as exc:
            self.breaker.failed()
            # The URL carries the order number: log only its masked form.
            log.warning(
                "order API failed (%s, %s): %s",
                what,
                type(exc).__name__,
                "circuit opened" if self.breaker.is_open else "will retry",
            )
            raise SourceUnavailable(type(exc).__name__) from None
        self.breaker.succeeded()
        return data

    def _info(self, data: dict[str, Any]) -> OrderInfo:
        values = {name: _pick(data, key) for name, key in self.fields.items()}
        status = str(values.get("status") or "")
        if status not in ORDER_STATUSES or not values.get("order_number"):
            raise SourceUnavailable("order API sent an unknown status or no order number")
        dates = {
            k: _as_date(values[k]) for k in ("ordered_at", "shipped_at", "expected_delivery", "delivered_at")
        }
        texts = {k: (str(v) if v not in (None, "") else None) for k, v in values.items() if k not in dates}
        return OrderInfo(**{**texts, **dates, "status": status})  # type: ignore[arg-type]


def _pick(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        data = data.get(part) if isinstance(data, dict) else None
    return data


def _as_date(value: Any) -> date | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value)).date()
    except ValueError:
        return None
