"""Alarm settings, and sending alarms to a webhook (JSON) and by e-mail (SMTP), once each."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import requests
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from ivr.db import transaction
from ivr.insights.alarms import DetectorSettings
from ivr.insights.alarms_store import Alarm, Windows

log = logging.getLogger(__name__)

#: Alarms older than this are not sent any more (a notifier that was down for a day).
SEND_WITHIN = timedelta(hours=6)
SUBJECT_WORDS = {
    "abandoned": "hang-ups while waiting",
    "failed_self_service": "callers the IVR could not help",
}


class AlarmConfigError(ValueError):
    """A bad alarm setting (the message names the variable)."""


@dataclass(frozen=True)
class AlarmSettings:
    """Where alarms go and how sensitive they are (``ALARMS_*`` / ``IVR_ALARMS_*``, ``IVR_SMTP_*``)."""

    windows: Windows = Windows()
    detector: DetectorSettings = DetectorSettings()
    webhook_url: str | None = None
    #: Signs the webhook body (``X-Hotline-Signature: sha256=<hex HMAC>``) when set.
    webhook_secret: str | None = None
    webhook_timeout: float = 5.0
    email_to: tuple[str, ...] = ()
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "hotline@localhost"
    #: ``starttls`` (default), ``ssl`` (port 465) or ``none`` (a relay on localhost only).
    smtp_security: str = "starttls"
    smtp_timeout: float = 10.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> AlarmSettings:
        """Read the app config, else the environment; a bad number stops with the variable's name."""

        def get(key: str, default: Any = None) -> Any:
            value = config.get(key)
            if value is None:
                value = os.environ.get(f"IVR_{key}")
            return default if value in (None, "") else value

        def number(key: str, default: float, kind: type = float) -> Any:
            raw = get(key, default)
            try:
                value = kind(raw)
            except (TypeError, ValueError):
                raise AlarmConfigError(f"IVR_{key} must be a number, not {raw!r}") from None
            if value <= 0:
                raise AlarmConfigError(f"IVR_{key} must be positive, not {raw!r}")
            return value

        security = str(get("SMTP_SECURITY", cls.smtp_security)).lower()
        if security not in ("starttls", "ssl", "none"):
            raise AlarmConfigError(f"IVR_SMTP_SECURITY must be starttls, ssl or none, not {security!r}")
        alpha = number("ALARMS_ALPHA", DetectorSettings.alpha)
        if alpha >= 0.5:
            raise AlarmConfigError("IVR_ALARMS_ALPHA must be below 0.5 (e.g. 0.001)")
        recipients = get("ALARMS_EMAIL_TO", "")
        return cls(
            windows=Windows(
                length=timedelta(minutes=number("ALARMS_WINDOW_MINUTES", 60, int)),
                step=timedelta(minutes=number("ALARMS_STEP_MINUTES", 15, int)),
                weeks=number("ALARMS_WEEKS", Windows.weeks, int),
                days=number("ALARMS_DAYS", Windows.days, int),
            ),
            detector=DetectorSettings(
                alpha=alpha, min_count=number("ALARMS_MIN_COUNT", DetectorSettings.min_count, int)
            ),
            webhook_url=get("ALARMS_WEBHOOK_URL"),
            webhook_secret=get("ALARMS_WEBHOOK_SECRET"),
            email_to=tuple(a.strip() for a in str(recipients).split(",") if a.strip()),
            smtp_host=get("SMTP_HOST"),
            smtp_port=number("SMTP_PORT", cls.smtp_port, int),
            smtp_user=get("SMTP_USER"),
            smtp_password=get("SMTP_PASSWORD"),
            smtp_from=get("SMTP_FROM", cls.smtp_from),
            smtp_security=security,
        )


def describe(alarm: Mapping[str, Any]) -> str:
    """One line for people: what, how many, how many usually."""
    subject = SUBJECT_WORDS.get(alarm["subject"], f"calls about '{alarm['subject']}'")
    if alarm["kind"] == "share":
        return (
            f"Hotline alarm: {subject} are {alarm['observed']:.0%} of calls "
            f"({alarm['window_start']} to {alarm['window_end']}), usually {alarm['expected']:.0%}."
        )
    return (
        f"Hotline alarm: {alarm['observed']:.0f} {subject} "
        f"({alarm['window_start']} to {alarm['window_end']}), usually about {alarm['expected']:.1f}."
    )


def post_webhook(settings: AlarmSettings, alarm: Mapping[str, Any]) -> None:
    """POST the alarm as JSON (with a ``text`` line chat channels show); raises on failure."""
    assert settings.webhook_url is not None
    body = json.dumps({"text": describe(alarm), "alarm": dict(alarm)}).encode()
    headers = {"Content-Type": "application/json"}
    if settings.webhook_secret:
        digest = hmac.new(settings.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        headers["X-Hotline-Signature"] = f"sha256={digest}"
    response = requests.post(
        settings.webhook_url,
        data=body,
        headers=headers,
        timeout=settings.webhook_timeout,
        allow_redirects=False,
    )
    response.raise_for_status()


def send_email(settings: AlarmSettings, alarm: Mapping[str, Any]) -> None:
    """Send the alarm by e-mail through the configured SMTP server; raises on failure."""
    assert settings.smtp_host is not None
    message = EmailMessage()
    message["Subject"] = describe(alarm)[:150]
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(settings.email_to)
    message.set_content(describe(alarm) + "\n\n" + json.dumps(dict(alarm), indent=2))
    host, port, timeout = settings.smtp_host, settings.smtp_port, settings.smtp_timeout
    if settings.smtp_security == "ssl":
        context = ssl.create_default_context()
        server: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        server = smtplib.SMTP(host, port, timeout=timeout)
    with server:
        if settings.smtp_security == "starttls":
            server.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            server.login(settings.smtp_user, settings.smtp_password or "")
        server.send_message(message)


def deliver_pending(sessions: sessionmaker[Session], settings: AlarmSettings, now: datetime) -> int:
    """Send every unsent recent alarm to each configured channel; returns how many went out.

    Each alarm is claimed (``sent_at`` set) in its own transaction before sending, so two
    workers never both send it; a failed delivery gives it back for the next run.
    """
    if not settings.webhook_url and not (settings.smtp_host and settings.email_to):
        return 0
    with sessions() as session, transaction(session):
        pending = session.scalars(
            select(Alarm.id).where(Alarm.sent_at.is_(None), Alarm.created_at >= now - SEND_WITHIN)
        ).all()
    sent = 0
    for alarm_id in pending:
        with sessions() as session, transaction(session):
            claimed = session.scalar(
                update(Alarm)
                .where(Alarm.id == alarm_id, Alarm.sent_at.is_(None))
                .values(sent_at=now)
                .returning(Alarm.id)
            )
            alarm = session.get(Alarm, alarm_id) if claimed is not None else None
            data = alarm.as_dict() if alarm is not None else None
            done = list(alarm.delivered or []) if alarm is not None else []
        if data is None:
            continue
        reached, errors = _send(settings, data, done)
        with sessions() as session, transaction(session):
            session.execute(
                update(Alarm)
                .where(Alarm.id == alarm_id)
                .values(
                    delivered=done + reached,
                    sent_at=None if errors else now,
                    send_error="; ".join(errors)[:300] or None,
                )
            )
        sent += not errors
    return sent


def _send(settings: AlarmSettings, data: dict[str, Any], done: list[str]) -> tuple[list[str], list[str]]:
    """Send to each configured channel not yet reached: (channels reached now, errors)."""
    reached, errors = [], []
    if settings.webhook_url and "webhook" not in done:
        try:
            post_webhook(settings, data)
            reached.append("webhook")
        except requests.RequestException as exc:
            errors.append(f"webhook: {type(exc).__name__}")
            log.warning("alarm %s: webhook failed: %s", data["id"], type(exc).__name__)
    if settings.smtp_host and settings.email_to and "email" not in done:
        try:
            send_email(settings, data)
            reached.append("email")
        except (OSError, smtplib.SMTPException) as exc:
            errors.append(f"e-mail: {type(exc).__name__}")
            log.warning("alarm %s: e-mail failed: %s", data["id"], type(exc).__name__)
    return reached, errors
