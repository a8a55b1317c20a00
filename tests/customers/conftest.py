"""Fixtures for the customer history: API keys by scope, a receiver of outbound webhooks."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask

from ivr.apikeys import create_api_key
from ivr.db import session_factory


@pytest.fixture
def make_key(app: Flask) -> Callable[..., dict[str, str]]:
    """Headers with a fresh API key allowed ``scopes``."""

    def make(*scopes: str, name: str = "ticket-system") -> dict[str, str]:
        with session_factory(app)() as session:
            key = create_api_key(session, name, scopes or ("history",))
            session.commit()
        return {"Authorization": f"Bearer {key}"}

    return make


@pytest.fixture
def history_key(make_key: Callable[..., dict[str, str]]) -> dict[str, str]:
    """Headers of a key with the history scope."""
    return make_key("history")


class Receiver:
    """A shop's ticket system: records what it was sent, answers with the statuses it is told."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()

    def answer(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else 200


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    """A local HTTP server thread receiving webhooks; yields it and its URL."""
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with state.lock:
                state.received.append({"headers": dict(self.headers), "body": body, "json": json.loads(body)})
            self.send_response(state.answer())
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/hooks/hotline"
    finally:
        server.shutdown()
        server.server_close()
