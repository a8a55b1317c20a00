"""The returns outbox worker: label SMS and e-mails, and the shop webhook, retried with backoff.

Rows are claimed with a compare-and-set on their due time (a lease), sent outside any
transaction, and the outcome of every attempt is written to the return's call history.
"""

from __future__ import annotations

import logging
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import requests
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from twilio.base.exceptions import TwilioRestException

from callbacks.telephony import make_client
from ivr.db import transaction
from ivr.flows.steps import Event
from ivr.history import log_events
from ivr.models import Interaction, Order
from ivr.models._types import utcnow
from ivr.orders.services import setting
from ivr.returns.messages import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    email_message,
    shop_payload,
    sign,
    sms_body,
)
from ivr.returns.models import (
    EMAIL,
    FAILED,
    LABEL_SENT,
    PENDING,
    REGISTERED,
    SENT,
    SHOP,
    SMS,
    ReturnDelivery,
    ReturnRequest,
)

log = logging.getLogger(__name__)

#: Wait after failed attempt n (1-based) before the next; after the last one the delivery fails.
BACKOFF = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
#: A claimed delivery is another worker's again after this (a worker that crashed mid-send).
LEASE = timedelta(minutes=2)
HTTP_TIMEOUT = 5.0
SMTP_TIMEOUT = 10.0


class Permanent(Exception):
    """A failure that retrying cannot fix (a 4xx answer, a bad address, missing configuration)."""


class Transient(Exception):
    """A failure worth retrying (timeouts, 5xx, 429, a refused connection)."""


@dataclass(frozen=True)
class Job:
    """One claimed delivery, with what sending it needs (loaded in the claiming transaction)."""

    delivery_id: int
    kind: str
    attempt: int
    row: ReturnRequest
    phone: str | None
    email: str | None


def claim_due(session: Session, now: datetime, limit: int = 20) -> list[int]:
    """Claim up to ``limit`` due deliveries: each by exactly one worker, leased until ``now + LEASE``."""
    due = session.scalars(
        select(ReturnDelivery.id)
        .where(ReturnDelivery.state == PENDING, ReturnDelivery.next_attempt_at <= now)
        .order_by(ReturnDelivery.next_attempt_at, ReturnDelivery.id)
        .limit(limit)
    ).all()
    claimed = []
    for delivery_id in due:
        result = session.execute(
            update(ReturnDelivery)
            .where(
                ReturnDelivery.id == delivery_id,
                ReturnDelivery.state == PENDING,
                ReturnDelivery.next_attempt_at <= now,
            )
            .values(next_attempt_at=now + LEASE, attempts=ReturnDelivery.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(delivery_id)
    return claimed


def deliver_due(
    sessions: sessionmaker[Session],
    config: dict[str, Any],
    now: datetime | None = None,
    limit: int = 20,
) -> int:
    """One pass of the worker: claim due deliveries, send each, record the outcome; returns how many."""
    moment = now or utcnow()
    with sessions() as session, transaction(session):
        jobs = [_job(session, delivery_id) for delivery_id in claim_due(session, moment, limit)]
    for job in jobs:
        error, permanent = None, False
        try:
            SENDERS[job.kind](config, job)
        except Permanent as exc:
            error, permanent = str(exc), True
        except Transient as exc:
            error = str(exc)
        with sessions() as session, transaction(session):
            _record(session, job, moment, error, permanent)
    return len(jobs)


def run_worker(
    sessions: sessionmaker[Session], config: dict[str, Any], interval: float, stop: Callable[[], bool]
) -> None:
    """Deliver until ``stop()``; sleeps ``interval`` seconds when nothing was due."""
    while not stop():
        if run_pass(sessions, config) == 0:
            time.sleep(interval)


def run_pass(sessions: sessionmaker[Session], config: dict[str, Any], now: datetime | None = None) -> int:
    """Deliveries about returns, then delay notices (ivr/returns/proactive.py); how many were tried."""
    from ivr.returns.proactive import send_delay_notices

    moment = now or utcnow()
    return deliver_due(sessions, config, moment) + send_delay_notices(sessions, config, moment)


def _job(session: Session, delivery_id: int) -> Job:
    delivery = session.get_one(ReturnDelivery, delivery_id)
    row = session.get_one(ReturnRequest, delivery.return_id)
    order = session.scalar(select(Order).where(Order.order_number == row.order_number))
    session.expunge(row)
    return Job(
        delivery_id,
        delivery.kind,
        delivery.attempts,
        row,
        order.phone if order else None,
        order.email if order else None,
    )


def _record(session: Session, job: Job, now: datetime, error: str | None, permanent: bool) -> None:
    """Store the attempt's outcome, and note it in the history of the call that registered the return."""
    delivery = session.get_one(ReturnDelivery, job.delivery_id)
    if error is None:
        delivery.state, delivery.sent_at, delivery.last_error = SENT, now, None
        if job.kind in (SMS, EMAIL):
            row = session.get_one(ReturnRequest, job.row.id)
            row.label_sent_at = now
            if row.state == REGISTERED:
                row.state = LABEL_SENT
    elif permanent or job.attempt >= MAX_ATTEMPTS:
        delivery.state, delivery.last_error = FAILED, error[:200]
    else:
        delivery.next_attempt_at = now + BACKOFF[job.attempt - 1]
        delivery.last_error = error[:200]
    result = "sent" if error is None else delivery.state if delivery.state == FAILED else "retry"
    log.info("return delivery %s (%s) attempt %d: %s", job.delivery_id, job.kind, job.attempt, result)
    if job.row.interaction_id is not None:
        interaction = session.get_one(Interaction, job.row.interaction_id)
        data = {
            "return_number": job.row.return_number,
            "kind": job.kind,
            "attempt": job.attempt,
            "result": result,
            "error": error[:200] if error else None,
            "next_attempt_at": delivery.next_attempt_at.isoformat() if result == "retry" else None,
        }
        log_events(session, interaction, [Event("return_delivery", data)], at=now)


# --- senders ----------------------------------------------------------------------------------


def send_sms(config: dict[str, Any], job: Job) -> None:
    """The label link by SMS through Twilio's Messaging REST API (the same client as calls)."""
    sender = setting(config, "RETURNS_SMS_FROM")
    if not sender or not job.phone:
        raise Permanent("no sender number (IVR_RETURNS_SMS_FROM) or no mobile number on the order")
    client = make_client(config, config.get("TWILIO_HTTP_CLIENT"))
    try:
        client.messages.create(to=job.phone, from_=str(sender), body=sms_body(config, job.row))
    except TwilioRestException as exc:
        message = f"Twilio answered {exc.status} (error {exc.code})"
        raise (Transient if exc.status == 429 or exc.status >= 500 else Permanent)(message) from None
    except requests.RequestException as exc:
        raise Transient(f"Twilio not reached: {type(exc).__name__}") from None


def send_email(config: dict[str, Any], job: Job) -> None:
    """The label by e-mail over SMTP (``IVR_SMTP_HOST``, port, STARTTLS and login from configuration)."""
    host = setting(config, "SMTP_HOST")
    if not host or not job.email:
        raise Permanent("no SMTP server (IVR_SMTP_HOST) or no e-mail address on the order")
    port = int(setting(config, "SMTP_PORT", 25))
    try:
        with smtplib.SMTP(str(host), port, timeout=SMTP_TIMEOUT) as smtp:
            if str(setting(config, "SMTP_STARTTLS", "")).lower() in ("1", "true", "yes"):
                smtp.starttls()
            user = setting(config, "SMTP_USER")
            if user:
                smtp.login(str(user), str(setting(config, "SMTP_PASSWORD", "")))
            smtp.send_message(email_message(config, job.row, job.email))
    except smtplib.SMTPResponseException as exc:
        _smtp_failure(exc.smtp_code)
    except smtplib.SMTPRecipientsRefused as exc:
        _smtp_failure(min(code for code, _text in exc.recipients.values()))
    except (OSError, smtplib.SMTPException) as exc:
        raise Transient(f"SMTP server not reached: {type(exc).__name__}") from None


def _smtp_failure(code: int) -> None:
    """5xx is final (no such mailbox), 4xx is worth another try (greylisting, a full queue)."""
    raise (Permanent if 500 <= code < 600 else Transient)(f"SMTP server answered {code}") from None


def send_to_shop(config: dict[str, Any], job: Job) -> None:
    """POST the return to the shop, signed with HMAC-SHA256 (``X-Hotline-Signature``)."""
    url, secret = setting(config, "RETURNS_WEBHOOK_URL"), setting(config, "RETURNS_WEBHOOK_SECRET")
    if not url or not secret:
        raise Permanent("IVR_RETURNS_WEBHOOK_URL and IVR_RETURNS_WEBHOOK_SECRET must both be set")
    check_webhook_url(str(url))
    body, stamp = shop_payload(job.row), int(time.time())
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(stamp),
        SIGNATURE_HEADER: sign(str(secret), stamp, body),
        DELIVERY_HEADER: str(job.delivery_id),  # the same on every retry: the shop can deduplicate
    }
    try:
        resp = requests.post(
            str(url), data=body, headers=headers, timeout=HTTP_TIMEOUT, allow_redirects=False
        )
    except requests.RequestException as exc:
        raise Transient(f"shop not reached: {type(exc).__name__}") from None
    if resp.status_code in (408, 429) or resp.status_code >= 500:
        raise Transient(f"shop answered {resp.status_code}")
    if not 200 <= resp.status_code < 300:
        raise Permanent(f"shop answered {resp.status_code}")


def check_webhook_url(url: str) -> None:
    """Only HTTPS leaves the machine: plain HTTP is allowed to this host alone (a local shop, tests)."""
    parsed = urlparse(url)
    local = parsed.hostname in ("localhost", "127.0.0.1", "::1")
    if parsed.scheme != "https" and not (parsed.scheme == "http" and local):
        raise Permanent("the shop webhook must be an https:// URL")


SENDERS: dict[str, Callable[[dict[str, Any], Job], None]] = {
    SMS: send_sms,
    EMAIL: send_email,
    SHOP: send_to_shop,
}
