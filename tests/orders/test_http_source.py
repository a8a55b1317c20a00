"""The HTTP order source against a real local HTTP server: mapping, timeout, circuit breaker."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ivr.orders.http_source import CircuitBreaker, HttpOrderSource
from ivr.orders.source import SourceUnavailable

SHOP_ORDER = {
    "id": "4711",
    "state": "shipped",
    "customer": {"phone": "+4915112345678", "zip": "10115"},
    "shipping": {"carrier": "DHL", "eta": "2026-11-26"},
}
FIELDS = {
    "order_number": "id",
    "status": "state",
    "phone": "customer.phone",
    "postal_code": "customer.zip",
    "carrier": "shipping.carrier",
    "expected_delivery": "shipping.eta",
}


class Shop(BaseHTTPRequestHandler):
    """A shop API: /orders/4711 answers, others 404; ``delay`` seconds of slowness on demand."""

    delay = 0.0
    requests: list[tuple[str, str | None]] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        Shop.requests.append((self.path, self.headers.get("Authorization")))
        if Shop.delay:
            time.sleep(Shop.delay)
        if self.path == "/orders/4711":
            body, status = json.dumps(SHOP_ORDER).encode(), 200
        else:
            body, status = b'{"error": "not found"}', 404
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting, as it should

    def log_message(self, *args: object) -> None:
        """Keep test output quiet."""


@pytest.fixture
def shop() -> Iterator[str]:
    """A shop API on 127.0.0.1; yields its base URL."""
    Shop.delay, Shop.requests = 0.0, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Shop)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class FakeClock:
    """A clock the test moves by hand, so the breaker's cool-down needs no sleeping."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _source(base: str, clock: FakeClock | None = None, timeout: float = 2.0) -> HttpOrderSource:
    return HttpOrderSource(
        f"{base}/orders/{{order_number}}",
        headers={"Authorization": "Bearer s3cret"},
        fields=FIELDS,
        timeout=timeout,
        breaker=CircuitBreaker(threshold=3, reset_after=30, clock=clock or FakeClock()),
    )


def test_maps_the_shops_fields_and_sends_the_auth_header(shop):
    order = _source(shop).find("4711")
    assert (order.order_number, order.status, order.phone, order.postal_code, order.carrier) == (
        "4711",
        "shipped",
        "+4915112345678",
        "10115",
        "DHL",
    )
    assert order.expected_delivery == date(2026, 11, 26)
    assert Shop.requests == [("/orders/4711", "Bearer s3cret")]


def test_unknown_order_is_none_and_input_is_url_quoted(shop):
    source = _source(shop)
    assert source.find("9999") is None
    assert source.find("47/../11") is None
    assert Shop.requests[-1][0] == "/orders/47%2F..%2F11"


def test_slow_shop_times_out_and_three_failures_open_the_breaker(shop):
    clock = FakeClock()
    source = _source(shop, clock, timeout=0.3)
    Shop.delay = 1.0
    for _ in range(3):
        with pytest.raises(SourceUnavailable):
            source.find("4711")
    assert source.breaker.is_open
    asked = len(Shop.requests)
    with pytest.raises(SourceUnavailable):
        source.find("4711")  # refused at once: the shop is not asked while the breaker is open
    assert len(Shop.requests) == asked

    Shop.delay = 0.0
    clock.now += 31  # after the cool-down one trial goes through and closes the breaker
    assert source.find("4711").status == "shipped"
    assert not source.breaker.is_open


def test_a_failed_trial_opens_the_breaker_again(shop):
    clock = FakeClock()
    source = _source(shop, clock)
    source.breaker.opened_at, source.breaker.failures = 0.0, 3
    clock.now = 31
    source.url = "http://127.0.0.1:9/orders/{order_number}"  # nothing listens on the discard port
    with pytest.raises(SourceUnavailable):
        source.find("4711")
    assert source.breaker.is_open and not source.breaker.allow()


def test_caller_hears_the_shops_answer_through_the_http_source(orders_app, phone, shop):
    orders_app.config.update(
        ORDERS_SOURCE="http",
        ORDERS_HTTP_URL=f"{shop}/orders/{{order_number}}",
        ORDERS_HTTP_FIELDS=json.dumps(FIELDS),
    )
    caller = phone("+4915112345678")
    caller.dial()
    caller.press("1")
    caller.press("4711#")
    assert "Ihre Bestellung vier sieben — eins eins ist unterwegs mit DHL" in caller.heard


def test_an_unreachable_shop_sends_the_caller_to_a_person(orders_app, phone):
    orders_app.config.update(ORDERS_SOURCE="http", ORDERS_HTTP_URL="http://127.0.0.1:9/orders/{order_number}")
    caller = phone()
    caller.dial()
    caller.press("1")
    turn = caller.press("4711#")
    assert "Unser Bestellsystem ist gerade leider nicht erreichbar" in caller.heard
    assert turn.verb == "Enqueue"
