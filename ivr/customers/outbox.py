"""Outbound webhooks (``interaction.created``, ``call.ended``): an outbox written with the change,
delivered by a worker, signed with HMAC-SHA256, retried with backoff, never to private addresses.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import socket
import ssl
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session, sessionmaker

from ivr.db import transaction
from ivr.models import Interaction, WebhookDelivery
from ivr.models._types import utcnow

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Hotline-Signature"
#: A delivery claimed by a worker is not retried by another for this long: well above a batch of
#: slow receivers (BATCH × a few TIMEOUT_SECONDS), so a live worker's claim is not sent twice.
LEASE = timedelta(minutes=5)
#: Retry after 30 s, 1, 2, 4 … min, at most 6 h apart; give up after this many attempts (~1.5 days).
MAX_ATTEMPTS = 12
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=6)
TIMEOUT_SECONDS = 5.0
BATCH = 20
#: Sent and given-up events are kept this long (to answer "did you send it?"), then deleted.
KEEP_SENT = timedelta(days=7)


class UnsafeTarget(Exception):
    """A webhook URL that resolves to an address we must not send to (SSRF)."""


@dataclass(frozen=True)
class WebhookSettings:
    """Where events go and how they are signed."""

    urls: tuple[str, ...]
    secret: str
    allow_private: bool = False
    wrapup_wait: timedelta = timedelta(minutes=10)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WebhookSettings | None:
        """The configured webhooks, or None when no URL is configured."""
        urls = tuple(config.get("WEBHOOK_URLS") or ())
        if not urls or not config.get("WEBHOOK_SECRET"):
            return None
        return cls(
            urls,
            str(config["WEBHOOK_SECRET"]),
            bool(config.get("WEBHOOK_ALLOW_PRIVATE")),
            timedelta(seconds=int(config.get("WEBHOOK_WRAPUP_WAIT", 600))),
        )


def enqueue(
    session: Session,
    config: Mapping[str, Any],
    event: str,
    data: dict[str, Any],
    interaction_id: int | None = None,
    due_at: datetime | None = None,
) -> None:
    """Queue ``event`` for every configured URL in the current transaction (the outbox)."""
    settings = WebhookSettings.from_config(config)
    if settings is None:
        return
    now = utcnow()
    event_id = uuid.uuid4().hex
    payload = {"id": event_id, "event": event, "created_at": now.isoformat(), "data": data}
    for url in settings.urls:
        session.add(
            WebhookDelivery(
                event_id=event_id,
                event=event,
                url=url,
                payload=payload,
                interaction_id=interaction_id,
                created_at=now,
                due_at=due_at or now,
                attempts=0,
            )
        )


def interaction_created(session: Session, config: Mapping[str, Any], interaction: Interaction) -> None:
    """Queue ``interaction.created`` for a contact another channel recorded."""
    enqueue(
        session,
        config,
        "interaction.created",
        {
            "interaction_id": interaction.id,
            "customer_id": interaction.customer_id,
            "channel": interaction.channel,
            "direction": interaction.direction,
            "occurred_at": interaction.started_at.isoformat(),
            "subject": interaction.subject,
            "summary": interaction.summary,
            "external_ref": interaction.external_ref,
        },
        interaction.id,
    )


def call_ended(session: Session, config: Mapping[str, Any], interaction: Interaction) -> None:
    """Queue ``call.ended``; a call an agent took waits for their wrap-up (at most ``wrapup_wait``)."""
    settings = WebhookSettings.from_config(config)
    if settings is None:
        return
    from ivr.desk.models import Task

    # The caller's task, by its unique CallSid (tasks have no index on the interaction).
    task = (
        session.scalar(
            select(Task).where(Task.call_sid == interaction.call_sid, Task.connected_at.is_not(None))
        )
        if interaction.call_sid
        else None
    )
    disposition = task.context.get("disposition") if task else None
    now = utcnow()
    enqueue(
        session,
        config,
        "call.ended",
        {
            "interaction_id": interaction.id,
            "customer_id": interaction.customer_id,
            "call_sid": interaction.call_sid,
            "started_at": interaction.started_at.isoformat(),
            "ended_at": (interaction.ended_at or now).isoformat(),
            "duration": interaction.duration,
            "status": interaction.status,
            "outcome": interaction.outcome,
            "intent": interaction.intent,
            "disposition": disposition,
        },
        interaction.id,
        due_at=now + settings.wrapup_wait if task is not None and disposition is None else now,
    )


def add_disposition(session: Session, interaction_id: int, disposition: str) -> None:
    """Put the agent's wrap-up into the waiting ``call.ended`` events and release them now."""
    waiting = session.scalars(
        select(WebhookDelivery).where(
            WebhookDelivery.interaction_id == interaction_id,
            WebhookDelivery.event == "call.ended",
            WebhookDelivery.attempts == 0,
            WebhookDelivery.delivered_at.is_(None),
        )
    )
    now = utcnow()
    for delivery in waiting:
        payload = dict(delivery.payload)
        payload["data"] = {**payload["data"], "disposition": disposition}
        delivery.payload = payload
        delivery.due_at = min(delivery.due_at, now)


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header's value: ``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def deliver_due(
    factory: sessionmaker[Session], settings: WebhookSettings, now: datetime | None = None
) -> int:
    """Send the deliveries that are due (one batch); returns how many were delivered."""
    now = now or utcnow()
    with factory() as session, transaction(session):
        query = (
            select(WebhookDelivery)
            .where(
                WebhookDelivery.delivered_at.is_(None),
                WebhookDelivery.failed_at.is_(None),
                WebhookDelivery.due_at <= now,
            )
            .order_by(WebhookDelivery.due_at, WebhookDelivery.id)
            .limit(BATCH)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        claimed = list(session.scalars(query))
        for delivery in claimed:
            delivery.due_at = now + LEASE  # a crashed worker's claim comes back after the lease
        jobs = [(d.id, d.url, d.event, d.event_id, json.dumps(d.payload).encode()) for d in claimed]
    delivered = 0
    for delivery_id, url, event, event_id, body in jobs:
        error = post(url, body, event, event_id, settings)
        with factory() as session, transaction(session):
            row = session.get(WebhookDelivery, delivery_id)
            if row is None:  # erased meanwhile
                continue
            row.attempts += 1
            if error is None:
                row.delivered_at = utcnow()
                row.last_error = None
                delivered += 1
            else:
                row.last_error = error[:200]
                if row.attempts >= MAX_ATTEMPTS:
                    row.failed_at = now
                else:
                    row.due_at = now + retry_delay(row.attempts)
                log.warning(
                    "webhook delivery %s (%s) failed, attempt %s: %s", delivery_id, event, row.attempts, error
                )
    return delivered


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failure."""
    delay: timedelta = FIRST_RETRY * (2 ** min(attempts - 1, 20))
    return min(delay, LONGEST_RETRY)


def post(url: str, body: bytes, event: str, event_id: str, settings: WebhookSettings) -> str | None:
    """POST one signed event; None when the receiver answered 2xx, else why not."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    try:
        address = safe_address(host, port, settings.allow_private)
    except UnsafeTarget as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot resolve the host: {exc.__class__.__name__}"
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = _PinnedHTTPS(host, address, port)
    else:
        connection = _PinnedHTTP(host, address, port)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Hotline-Webhooks/1",
        "Hotline-Event": event,
        "Hotline-Delivery": event_id,
        SIGNATURE_HEADER: sign(settings.secret, body, int(time.time())),
    }
    try:
        connection.request(
            "POST", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), body, headers
        )
        response = connection.getresponse()
        response.read(1024)  # the answer is not used; do not let a receiver stream at us
        status = response.status
    except (OSError, http.client.HTTPException) as exc:
        return f"{exc.__class__.__name__} talking to the receiver"
    finally:
        connection.close()
    return None if 200 <= status < 300 else f"the receiver answered {status}"


def safe_address(host: str, port: int, allow_private: bool) -> str:
    """The IP address to connect to; UnsafeTarget if any address of ``host`` is not public."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise UnsafeTarget("the host has no address")
    if not allow_private:
        for raw in addresses:
            ip = ipaddress.ip_address(raw.split("%")[0])
            if not ip.is_global or ip.is_multicast:
                raise UnsafeTarget("refused: the host resolves to a private, loopback or reserved address")
    return addresses[0]


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the checked address, so DNS cannot change between the check and the request."""

    def __init__(self, host: str, address: str, port: int) -> None:
        super().__init__(host, port, timeout=TIMEOUT_SECONDS)
        self._address = address

    def connect(self) -> None:
        """Open the TCP connection to the pinned address."""
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to the checked address; the certificate is still verified for the host name."""

    def __init__(self, host: str, address: str, port: int) -> None:
        super().__init__(host, port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        """Open TCP to the pinned address and TLS for the host name."""
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def prune_sent(session: Session, now: datetime) -> int:
    """Delete events delivered or given up more than ``KEEP_SENT`` ago; returns how many."""
    cutoff = now - KEEP_SENT
    result = session.execute(
        delete(WebhookDelivery).where(
            or_(WebhookDelivery.delivered_at < cutoff, WebhookDelivery.failed_at < cutoff)
        ),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
