"""The gunicorn worker of ``ivr serve``: a thread only for a request that has fully arrived.

gunicorn's gthread worker hands a connection to a thread as soon as its first byte arrives; the
thread then blocks reading the rest. Eight clients sending headers or bodies slowly held all
eight threads, and nothing else (not even /health) was answered. This worker reads each request
(headers and a body up to the size limit) in its event loop without a thread, within a header
and a body timeout, and only then hands it to a thread, where gunicorn parses it from memory.
A buffering reverse proxy in front does the same job better (docs/deploy.md); this keeps the
service upright without one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from gunicorn.glogging import Logger
from gunicorn.workers.gthread import TConn, ThreadWorker

from ivr.config import DEFAULT_MAX_BODY, positive_int

#: The access log line: a path without its query string and no referrer (query strings and the
#: console pages a referrer names may carry phone or order numbers).
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(L)s'
#: Headers larger than this are gunicorn's to refuse (431/400): hand them over unfinished.
MAX_HEADER_BYTES = 64 * 1024
RECV_BYTES = 64 * 1024
#: With several workers, the requests a kept-alive connection carries before it closes.
REQUESTS_PER_CONNECTION = 20


@dataclass
class Arrival:
    """A request still arriving: the bytes so far and when we stop waiting for the rest."""

    deadline: float
    data: bytearray = field(default_factory=bytearray)
    headers_done: bool = False


class AccessLogger(Logger):  # type: ignore[misc]  # gunicorn ships no types
    """gunicorn's logger, building only the atoms ``ACCESS_LOG_FORMAT`` writes.

    gunicorn builds every atom for every request (each request and response header, the whole
    WSGI environ) and copies them escaped, for a line that uses eleven: 4 % of a webhook's CPU
    (docs/benchmarks.md). Any other format gets gunicorn's atoms.
    """

    def setup(self, cfg: Any) -> None:
        """Set up as gunicorn does (also on a reload); note whether the format is ours."""
        super().setup(cfg)
        self.our_format = cfg.access_log_format == ACCESS_LOG_FORMAT

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        """The atoms of the access log line, as gunicorn computes them."""
        if not self.our_format:
            return super().atoms(resp, req, environ, request_time)  # type: ignore[no-any-return]
        status = resp.status
        sent = getattr(resp, "sent", None)
        return {
            "h": environ.get("REMOTE_ADDR", "-"),
            "l": "-",
            "u": self._get_user(environ) or "-",
            "t": self.now(),
            "m": environ.get("REQUEST_METHOD"),
            "U": environ.get("PATH_INFO"),
            "H": environ.get("SERVER_PROTOCOL"),
            "s": status.split(None, 1)[0] if isinstance(status, str) else status,
            "b": str(sent) if sent is not None else "-",
            "a": environ.get("HTTP_USER_AGENT", "-"),
            "L": f"{request_time.seconds}.{request_time.microseconds:06d}",
        }


class BufferingThreadWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn ships no types
    """gthread, but requests are read in the event loop; threads only run complete requests."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Read the timeouts and the body limit from the environment (``gunicorn.conf.py``)."""
        super().__init__(*args, **kwargs)
        self.header_timeout = float(os.environ.get("IVR_HEADER_TIMEOUT", "10"))
        self.body_timeout = float(os.environ.get("IVR_BODY_TIMEOUT", "30"))
        self.max_body = positive_int(os.environ, "IVR_MAX_BODY_BYTES", DEFAULT_MAX_BODY)
        self.arriving: dict[TConn, Arrival] = {}
        # A kept-alive connection stays with the worker that accepted it: ten benchmark callers
        # all landed on one of two workers (docs/benchmarks.md). With several workers one closes
        # after a few requests, and the client's next connection goes to whichever worker accepts
        # it first, the one with time to; reconnecting every 20th request costs little.
        default = REQUESTS_PER_CONNECTION if self.cfg.workers > 1 else 0  # 0: no limit
        self.requests_per_connection = positive_int(os.environ, "IVR_REQUESTS_PER_CONNECTION", default)
        #: gunicorn's ``cfg.is_ssl`` looks two settings up at every use (1 % of a webhook).
        self.tls = bool(self.cfg.is_ssl)

    def accept(self, listener: Any) -> None:
        """Accept a connection and wait for its request without a thread."""
        if self.tls:  # TLS belongs to the proxy in front; read it the plain gthread way
            super().accept(listener)
            return
        try:
            client, address = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        self.watch(TConn(self.cfg, client, address, listener.getsockname()))

    def on_client_socket_readable(self, conn: TConn, client: Any) -> None:
        """A kept-alive connection sends its next request: read it without a thread, too."""
        if self.tls:
            super().on_client_socket_readable(conn, client)
            return
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self.watch(conn)

    def finish_request(self, conn: TConn, fs: Any) -> None:
        """After a response: a next request already read ahead (pipelined) must arrive in full, too."""
        reuse = self.alive and not self.tls and not fs.cancelled() and fs.exception() is None
        parser = getattr(conn, "parser", None)
        if reuse and fs.result() is True and parser is not None and parser.unreader.buf.getvalue():
            self.watch(conn, parser.unreader.take_buffered())
            return
        super().finish_request(conn, fs)

    def watch(self, conn: TConn, data: bytes = b"") -> None:
        """Collect the request's bytes in the event loop until it is complete."""
        conn.sock.setblocking(False)
        self.arriving[conn] = Arrival(deadline=time.monotonic() + self.header_timeout)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_request_bytes, conn))
        if data:
            self.arrived(conn, data)

    def on_request_bytes(self, conn: TConn, client: Any) -> None:
        """Read what arrived on the socket."""
        try:
            chunk = conn.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:  # the client went away
            self.drop(conn)
            return
        self.arrived(conn, chunk)

    def arrived(self, conn: TConn, chunk: bytes) -> None:
        """Add bytes to the request; hand it to a thread once it is complete."""
        arrival = self.arriving[conn]
        arrival.data += chunk
        if not arrival.headers_done and b"\r\n\r\n" in arrival.data:
            arrival.headers_done = True
            arrival.deadline = time.monotonic() + self.body_timeout
        if request_complete(bytes(arrival.data), self.max_body):
            self.poller.unregister(conn.sock)
            del self.arriving[conn]
            conn.prebuffered = bytes(arrival.data)
            conn.data_ready = True
            self.enqueue_req(conn)

    def handle_request(self, req: Any, conn: TConn) -> Any:
        """Serve a request; the last one a kept-alive connection may carry closes it."""
        conn.served = getattr(conn, "served", 0) + 1
        if self.requests_per_connection and conn.served >= self.requests_per_connection:
            req.must_close = True  # gunicorn answers with "Connection: close"
        return super().handle_request(req, conn)

    def handle(self, conn: TConn) -> Any:
        """Let gunicorn parse the request from the bytes already read (in a worker thread)."""
        buffered = getattr(conn, "prebuffered", None)
        if buffered is not None:
            conn.prebuffered = None
            conn.sock.setblocking(True)
            conn.init()
            conn.parser.unreader.unread(buffered)
        return super().handle(conn)

    def murder_pending(self) -> None:
        """Close connections whose request did not arrive within the header or body timeout."""
        super().murder_pending()
        now = time.monotonic()
        for conn in [c for c, a in self.arriving.items() if a.deadline <= now]:
            self.drop(conn)

    def drop(self, conn: TConn) -> None:
        """Forget a connection whose request will not come."""
        self.arriving.pop(conn, None)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(conn.sock)
        self.nr_conns -= 1
        conn.close()


def request_complete(data: bytes, max_body: int) -> bool:
    """Whether ``data`` holds a whole request, or so much that gunicorn or the app must refuse it."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return len(data) > MAX_HEADER_BYTES
    body_start = end + 4
    if len(data) - body_start > max_body:
        return True  # the app answers 413 after reading just past the limit
    headers = _headers(data[:end])
    if "transfer-encoding" in headers:
        return _chunked_complete(data, body_start)
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        return True  # gunicorn answers 400
    return length > max_body or len(data) - body_start >= length


def _headers(head: bytes) -> dict[str, str]:
    """Header names (lower case) and values; a repeated header keeps its first value."""
    found: dict[str, str] = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        key = name.strip().lower().decode("latin-1")
        found.setdefault(key, value.strip().decode("latin-1"))
    return found


def _chunked_complete(data: bytes, pos: int) -> bool:
    """Whether a chunked body has arrived up to its last chunk and trailers (or is malformed)."""
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return False
        try:
            size = int(data[pos:eol].split(b";")[0], 16)
        except ValueError:
            return True  # gunicorn answers 400
        if size == 0:
            return data.find(b"\r\n\r\n", eol) >= 0  # "0", trailers if any, empty line
        pos = eol + 2 + size + 2
        if pos > len(data):
            return False
