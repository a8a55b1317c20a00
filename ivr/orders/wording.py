"""What a caller hears about an order: numbers in groups, dates as weekday and date."""

from __future__ import annotations

from datetime import date, timedelta

from babel.dates import format_date

from ivr.orders.source import OrderInfo
from ivr.readback import spell_number


def say_date(day: date, lang: str, today: date) -> str:
    """``am Donnerstag, dem 26. November`` (with ``heute``/``morgen`` and a year when it differs)."""
    if lang == "de":
        text = "am " + format_date(day, "EEEE, 'dem' d. MMMM", locale="de")
        year = f" {day.year}"
        near = {today: "heute", today + timedelta(days=1): "morgen"}.get(day)
    else:
        text = "on " + format_date(day, "EEEE, MMMM d", locale="en")
        year = f", {day.year}"
        near = {today: "today", today + timedelta(days=1): "tomorrow"}.get(day)
    if day.year != today.year:
        text += year
    return f"{near}, {text}" if near else text


def say_order_date(day: date | None, lang: str, today: date) -> str:
    """``vom 12. November`` / ``from November 12`` for the caller-ID offer."""
    if day is None:
        return ""
    if lang == "de":
        text = "vom " + format_date(day, "d. MMMM" + (" y" if day.year != today.year else ""), locale="de")
    else:
        text = "from " + format_date(day, "MMMM d" + (", y" if day.year != today.year else ""), locale="en")
    return text


_DE = {
    "pending_payment": "Ihre Bestellung {number} wartet noch auf Ihre Zahlung. Sobald sie eingegangen "
    "ist, schicken wir die Bestellung los.",
    "processing": "Ihre Bestellung {number} wird gerade für den Versand vorbereitet.{expected}",
    "shipped": "Ihre Bestellung {number} ist unterwegs{carrier}.{expected}",
    "out_for_delivery": "Gute Nachricht: Ihre Bestellung {number} ist heute in der Zustellung{carrier}.",
    "delivered": "Ihre Bestellung {number} wurde {delivered} zugestellt. Falls damit etwas nicht "
    "stimmt, können Sie uns gleich ein Problem melden.",
    "delayed": "Es tut uns leid: Ihre Bestellung {number} verzögert sich.{new_date}",
    "cancelled": "Ihre Bestellung {number} wurde storniert.",
    "returned": "Ihre Rücksendung zur Bestellung {number} ist bei uns eingegangen.",
    "refunded": "Der Betrag für Ihre Bestellung {number} wurde Ihnen erstattet.",
    "overdue_shipped": "Ihre Bestellung {number} ist unterwegs{carrier}. Sie sollte {due} ankommen "
    "und ist damit leider überfällig. Das tut uns leid.",
    "overdue_processing": "Ihre Bestellung {number} sollte {due} ankommen, wird aber leider erst jetzt "
    "für den Versand vorbereitet. Das tut uns leid.",
}
_EN = {
    "pending_payment": "Your order {number} is waiting for your payment. As soon as it arrives, "
    "we will send it out.",
    "processing": "Your order {number} is being prepared for shipping.{expected}",
    "shipped": "Your order {number} is on its way{carrier}.{expected}",
    "out_for_delivery": "Good news: your order {number} is out for delivery today{carrier}.",
    "delivered": "Your order {number} was delivered {delivered}. If something is wrong with it, "
    "you can report a problem right away.",
    "delayed": "We are sorry: your order {number} is delayed.{new_date}",
    "cancelled": "Your order {number} has been cancelled.",
    "returned": "We have received your return for order {number}.",
    "refunded": "Your order {number} has been refunded.",
    "overdue_shipped": "Your order {number} is on its way{carrier}. It was expected {due}, so it is "
    "running late. We are sorry.",
    "overdue_processing": "Your order {number} was expected {due}, but it is only now being prepared "
    "for shipping. We are sorry.",
}
_PARTS = {
    "de": {
        "carrier": " mit {}",
        "expected": " Sie kommt voraussichtlich {}.",
        "new_date": " Der neue voraussichtliche Liefertermin ist {}.",
        "no_date": " Einen neuen Liefertermin haben wir leider noch nicht.",
        "unknown": "kürzlich",
        "tracking": "Die Sendungsnummer endet auf {}.",
        "no_tracking": "Eine Sendungsnummer gibt es für diese Bestellung noch nicht.",
    },
    "en": {
        "carrier": " with {}",
        "expected": " It should arrive {}.",
        "new_date": " We now expect to deliver it {}.",
        "no_date": " We do not have a new delivery date yet.",
        "unknown": "recently",
        "tracking": "The tracking number ends in {}.",
        "no_tracking": "There is no tracking number for this order yet.",
    },
}


def is_overdue(order: OrderInfo, today: date) -> bool:
    """Whether an order on its way (or still being prepared) has missed its expected date."""
    due = order.expected_delivery
    return order.status in ("processing", "shipped") and due is not None and due < today


def compose_answer(order: OrderInfo, lang: str, today: date) -> str:
    """The status of a verified caller's order in one or two warm sentences."""
    lang = lang if lang in _PARTS else "en"
    parts = _PARTS[lang]
    key = f"overdue_{order.status}" if is_overdue(order, today) else order.status
    template = (_DE if lang == "de" else _EN)[key]
    expected = order.expected_delivery
    upcoming = expected if expected and expected >= today else None  # a past date is no promise

    def when(day: date | None) -> str:
        return say_date(day, lang, today) if day else parts["unknown"]

    return template.format(
        number=spell_number(order.order_number, lang),
        carrier=parts["carrier"].format(order.carrier) if order.carrier else "",
        expected=parts["expected"].format(when(upcoming)) if upcoming else "",
        new_date=parts["new_date"].format(when(upcoming)) if upcoming else parts["no_date"],
        delivered=when(order.delivered_at),
        due=when(expected),
    )


def compose_tracking(order: OrderInfo, lang: str) -> str:
    """The last six characters of the tracking number, read in groups."""
    parts = _PARTS[lang if lang in _PARTS else "en"]
    if not order.tracking_number:
        return parts["no_tracking"]
    return parts["tracking"].format(spell_number(order.tracking_number[-6:], lang))
