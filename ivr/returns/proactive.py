"""Outbound delay notices: an SMS when the shop marks an order delayed.

Off by default (``IVR_DELAY_NOTICES=on``); only to numbers with a stored opt-in (source and time);
at most one per order and Berlin day; never at night (21:00-08:00 Berlin: they wait for morning).
"""

from __future__ import annotations

import logging
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from twilio.base.exceptions import TwilioRestException

from callbacks.telephony import make_client
from ivr.db import transaction
from ivr.flows.steps import Event
from ivr.history import get_or_create_customer, log_events
from ivr.models import Interaction, Order
from ivr.orders.services import setting
from ivr.orders.wording import say_date, say_order_date
from ivr.returns.delivery import BACKOFF, LEASE, MAX_ATTEMPTS
from ivr.returns.models import FAILED, PENDING, SENT, ContactConsent, DelayNotice

log = logging.getLogger(__name__)

PURPOSE = "delay_notices"
BERLIN = ZoneInfo("Europe/Berlin")
DAY_STARTS, NIGHT_STARTS = time(8, 0), time(21, 0)
SKIPPED = "skipped"


def notices_enabled(config: dict[str, Any]) -> bool:
    """Whether delay notices are switched on (``IVR_DELAY_NOTICES=on``); off by default."""
    return str(setting(config, "DELAY_NOTICES", "off")).lower() in ("1", "on", "true", "yes")


def give_consent(session: Session, phone: str, source: str, at: datetime, purpose: str = PURPOSE) -> None:
    """Store (or renew) an opt-in with where and when it was given."""
    consent = session.scalar(
        select(ContactConsent).where(ContactConsent.phone == phone, ContactConsent.purpose == purpose)
    )
    if consent is None:
        session.add(ContactConsent(phone=phone, purpose=purpose, source=source, given_at=at))
    else:
        consent.source, consent.given_at, consent.withdrawn_at = source, at, None
    session.flush()


def withdraw_consent(session: Session, phone: str, at: datetime, purpose: str = PURPOSE) -> bool:
    """Withdraw an opt-in; False if there was none."""
    result = session.execute(
        update(ContactConsent)
        .where(ContactConsent.phone == phone, ContactConsent.purpose == purpose)
        .values(withdrawn_at=at)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def is_night(now: datetime) -> bool:
    """21:00 to 08:00 in Berlin."""
    local = now.astimezone(BERLIN).time()
    return local >= NIGHT_STARTS or local < DAY_STARTS


def queue_delay_notices(session: Session, now: datetime) -> int:
    """A notice for each delayed order of an opted-in customer that the shop (re)marked since the last one."""
    day = now.astimezone(BERLIN).date()
    last_notice = (
        select(DelayNotice.order_number, func.max(DelayNotice.created_at).label("at"))
        .group_by(DelayNotice.order_number)
        .subquery()
    )
    candidates = session.execute(
        select(Order.order_number)
        .join(ContactConsent, ContactConsent.phone == Order.phone)
        .outerjoin(last_notice, last_notice.c.order_number == Order.order_number)
        .where(
            Order.status == "delayed",
            ContactConsent.purpose == PURPOSE,
            ContactConsent.withdrawn_at.is_(None),
            (last_notice.c.at.is_(None)) | (Order.updated_at > last_notice.c.at),
        )
    ).scalars()
    queued = 0
    for number in candidates:
        try:
            with session.begin_nested():
                session.add(DelayNotice(order_number=number, day=day, next_attempt_at=now, created_at=now))
            queued += 1
        except IntegrityError:  # one a day: today's is queued already
            continue
    return queued


def send_delay_notices(sessions: sessionmaker[Session], config: dict[str, Any], now: datetime) -> int:
    """Queue and send due notices (none at night, none when switched off); returns how many were tried."""
    if not notices_enabled(config) or is_night(now):
        return 0
    with sessions() as session, transaction(session):
        queue_delay_notices(session, now)
        claimed = _claim(session, now)
    for notice_id in claimed:
        _send_one(sessions, config, notice_id, now)
    return len(claimed)


def _claim(session: Session, now: datetime) -> list[int]:
    due = session.scalars(
        select(DelayNotice.id)
        .where(DelayNotice.state == PENDING, DelayNotice.next_attempt_at <= now)
        .limit(20)
    ).all()
    claimed = []
    for notice_id in due:
        result = session.execute(
            update(DelayNotice)
            .where(
                DelayNotice.id == notice_id, DelayNotice.state == PENDING, DelayNotice.next_attempt_at <= now
            )
            .values(next_attempt_at=now + LEASE, attempts=DelayNotice.attempts + 1)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(notice_id)
    return claimed


def _send_one(sessions: sessionmaker[Session], config: dict[str, Any], notice_id: int, now: datetime) -> None:
    with sessions() as session, transaction(session):
        notice = session.get_one(DelayNotice, notice_id)
        order = session.scalar(select(Order).where(Order.order_number == notice.order_number))
        consent = (
            session.scalar(
                select(ContactConsent).where(
                    ContactConsent.phone == order.phone,
                    ContactConsent.purpose == PURPOSE,
                    ContactConsent.withdrawn_at.is_(None),
                )
            )
            if order is not None and order.phone
            else None
        )
        if order is None or order.status != "delayed" or consent is None or not order.phone:
            notice.state = SKIPPED  # delivered meanwhile, or the opt-in was withdrawn
            return
        phone, body, attempt = order.phone, notice_text(order, now), notice.attempts
    error, final = None, False
    try:
        sender = setting(config, "RETURNS_SMS_FROM")
        if not sender:
            raise ValueError("no sender number (IVR_RETURNS_SMS_FROM)")
        make_client(config, config.get("TWILIO_HTTP_CLIENT")).messages.create(
            to=phone, from_=str(sender), body=body
        )
    except TwilioRestException as exc:
        error, final = (
            f"Twilio answered {exc.status} (error {exc.code})",
            exc.status < 500 and exc.status != 429,
        )
    except requests.RequestException as exc:
        error = f"Twilio not reached: {type(exc).__name__}"
    except ValueError as exc:
        error, final = str(exc), True
    with sessions() as session, transaction(session):
        notice = session.get_one(DelayNotice, notice_id)
        if error is None:
            notice.state, notice.sent_at = SENT, now
            _record_in_history(session, phone, notice.order_number, now)
        elif final or attempt >= MAX_ATTEMPTS:
            notice.state, notice.last_error = FAILED, error[:200]
        else:
            notice.next_attempt_at, notice.last_error = now + BACKOFF[attempt - 1], error[:200]
    log.info("delay notice %s attempt %d: %s", notice_id, attempt, "sent" if error is None else "not sent")


def _record_in_history(session: Session, phone: str, order_number: str, now: datetime) -> None:
    """An outbound SMS interaction in the customer's history."""
    customer = get_or_create_customer(session, phone)
    interaction = Interaction(
        customer_id=customer.id if customer else None,
        channel="sms",
        direction="outbound",
        to_number=phone,
        started_at=now,
        ended_at=now,
        status="completed",
        outcome="delay_notice",
    )
    session.add(interaction)
    session.flush()
    log_events(session, interaction, [Event("delay_notice", {"order_number": order_number})], at=now)


def notice_text(order: Order, now: datetime) -> str:
    """The SMS: the order, that it is late, the new date if there is one (German, the market's language)."""
    today = now.astimezone(BERLIN).date()
    new = order.expected_delivery
    when = f" Neuer voraussichtlicher Termin: {say_date(new, 'de', today)}." if new and new >= today else ""
    ordered = say_order_date(order.ordered_at, "de", today)
    return (
        f"Ihre Bestellung {order.order_number} {ordered} verspätet sich leider.{when} "
        "Wir bitten um Entschuldigung. Ihr Kundenservice"
    ).replace("  ", " ")
