"""Unauthenticated exhaustion: big bodies and bogus credentials are refused before the body is read."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from ivr.cli import main
from ivr.models import Interaction, Order

THIRTY_MB = 30 * 1024 * 1024
FORM = "application/x-www-form-urlencoded"


class Body(io.RawIOBase):
    """A request body of ``size`` bytes that counts how much of it the server read."""

    def __init__(self, size: int, chunk: bytes = b"a=1&") -> None:
        self.size, self.chunk, self.read_bytes, self.position = size, chunk, 0, 0

    def readable(self) -> bool:
        """A readable stream."""
        return True

    def seekable(self) -> bool:
        """The test client measures the body by seeking to its end and back."""
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        """Move the read position without reading."""
        self.position = self.size if whence == 2 else offset
        return self.position

    def tell(self) -> int:
        """The read position."""
        return self.position

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        """Hand out the next bytes of the body."""
        n = min(len(buffer), self.size - self.position)
        buffer[:n] = (self.chunk * (n // len(self.chunk) + 1))[:n]
        self.position += n
        self.read_bytes += n
        return n


@pytest.fixture
def api_key(runner):
    """A key made the way an admin makes one."""
    result = runner.invoke(main, ["apikeys", "create", "shop", "--scope", "orders"])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def post(client, path, body, headers, chunked=False):
    """POST ``body`` with a declared length, or chunked (no Content-Length) like a streaming client."""
    if chunked:  # what gunicorn hands over for Transfer-Encoding: chunked
        headers["Transfer-Encoding"] = "chunked"
    return client.post(
        path,
        input_stream=body,
        content_type=headers.pop("Content-Type", FORM),
        headers=headers,
        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""} if chunked else {},
    )


def test_huge_webhook_with_a_bogus_signature_is_refused_unread(client, session):
    body = Body(THIRTY_MB)
    resp = post(client, "/twilio/voice", body, {"X-Twilio-Signature": "forged"})
    assert resp.status_code == 413
    assert "too large" in resp.get_data(as_text=True)
    assert body.read_bytes == 0
    assert session.scalar(select(func.count()).select_from(Interaction)) == 0


def test_small_webhook_with_a_malformed_signature_is_refused_unread(client):
    body = Body(2000)
    resp = post(client, "/twilio/voice", body, {"X-Twilio-Signature": "not-a-signature"})
    assert resp.status_code == 403
    assert body.read_bytes == 0


def test_chunked_webhook_growing_past_the_limit_is_refused(client, app):
    body = Body(THIRTY_MB)
    resp = post(client, "/twilio/voice", body, {"X-Twilio-Signature": "A" * 27 + "="}, chunked=True)
    assert resp.status_code == 413
    assert body.read_bytes <= app.config["MAX_CONTENT_LENGTH"] + 64 * 1024


def test_huge_orders_upload_without_a_key_is_refused_unread(client):
    body = Body(THIRTY_MB, chunk=b"[{}]")
    resp = post(client, "/api/orders", body, {"Content-Type": "application/json"}, chunked=True)
    assert resp.status_code == 401
    assert resp.get_json() == {"error": "a valid API key is required"}
    assert body.read_bytes == 0


def test_huge_orders_upload_with_a_key_gets_413_and_nothing_is_stored(client, api_key, session):
    body = Body(THIRTY_MB, chunk=b"[{}]")
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {api_key}"}
    resp = post(client, "/api/orders", body, headers)
    assert resp.status_code == 413
    assert resp.get_json() == {"error": "request body too large (at most 1048576 bytes)"}
    assert body.read_bytes == 0
    assert session.scalar(select(func.count()).select_from(Order)) == 0


def test_chunked_orders_upload_past_the_limit_gets_413(client, api_key, app):
    body = Body(THIRTY_MB, chunk=b"[{}]")
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {api_key}"}
    resp = post(client, "/api/orders", body, headers, chunked=True)
    assert resp.status_code == 413
    assert body.read_bytes <= app.config["MAX_CONTENT_LENGTH"] + 64 * 1024
