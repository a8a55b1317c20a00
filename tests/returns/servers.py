"""Local stand-ins on real sockets: an SMTP server (RFC 5321, the subset smtplib speaks) and a shop."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Mailbox:
    """What the SMTP server received; ``reject`` scripts answers to ``RCPT TO`` (e.g. 451, 550)."""

    messages: list[tuple[str, list[str], Message]] = field(default_factory=list)
    reject: list[int] = field(default_factory=list)


class _SmtpHandler(socketserver.StreamRequestHandler):
    server: Any

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        box: Mailbox = self.server.mailbox
        sender, recipients = "", []
        self.reply("220 localhost ESMTP test")
        while line := self.rfile.readline(1000):
            command = line.decode().strip()
            verb = command[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 localhost")
            elif verb == "MAIL":
                sender, recipients = command.split(":", 1)[1].strip(" <>"), []
                self.reply("250 OK")
            elif verb == "RCPT":
                if box.reject:
                    code = box.reject.pop(0)
                    self.reply(f"{code} {'try again later' if code < 500 else 'no such user'}")
                    continue
                recipients.append(command.split(":", 1)[1].strip(" <>"))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                box.messages.append((sender, recipients, message_from_bytes(data, policy=default)))
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 OK" if verb in ("RSET", "NOOP") else "502 not implemented")


@contextmanager
def smtp_server() -> Iterator[tuple[int, Mailbox]]:
    """An SMTP server on a free local port: (port, mailbox)."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpHandler)
    server.daemon_threads = True
    server.mailbox = Mailbox()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], server.mailbox  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class ShopInbox:
    """Requests the shop received (headers and raw body) and scripted statuses to answer first."""

    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


@contextmanager
def shop_server() -> Iterator[tuple[str, ShopInbox]]:
    """A shop endpoint on a free local port: (URL, inbox); answers 204 unless scripted otherwise."""
    inbox = ShopInbox()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            inbox.received.append((dict(self.headers), body))
            self.send_response(inbox.statuses.pop(0) if inbox.statuses else 204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hotline/returns", inbox
    finally:
        server.shutdown()
        server.server_close()
