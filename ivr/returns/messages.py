"""The messages about a return: the label by SMS or e-mail and the shop's signed webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from ivr.orders.services import setting
from ivr.returns.models import EMAIL, SMS, ReturnRequest

SIGNATURE_HEADER = "X-Hotline-Signature"
TIMESTAMP_HEADER = "X-Hotline-Timestamp"
DELIVERY_HEADER = "X-Hotline-Delivery"

_SMS = {
    "de": "Ihre Rücksendung {number} ist angemeldet. {label}",
    "en": "Your return {number} is registered. {label}",
}
_LABEL = {
    "de": ("Ihr Rücksendeetikett: {url}", "Das Rücksendeetikett schicken wir Ihnen separat."),
    "en": ("Your return label: {url}", "We will send you the return label separately."),
}
_SUBJECT = {"de": "Ihre Rücksendung {number}", "en": "Your return {number}"}
_MAIL = {
    "de": "Guten Tag,\n\nwie am Telefon besprochen ist Ihre Rücksendung {number} zur Bestellung {order} "
    "angemeldet.\n{label}\n\nBitte legen Sie die Rücksendenummer dem Paket bei.\n\nIhr Kundenservice\n",
    "en": "Hello,\n\nas discussed on the phone, your return {number} for order {order} is registered.\n"
    "{label}\n\nPlease put the return number into the parcel.\n\nYour customer service\n",
}


@dataclass(frozen=True)
class Recipient:
    """Where a return's label goes, read from its order when the message is sent (never stored twice)."""

    phone: str | None
    email: str | None


def label_url(config: dict[str, Any], row: ReturnRequest) -> str | None:
    """The label link (``IVR_RETURNS_LABEL_URL`` with ``{token}``), None when the shop sends labels itself."""
    template = setting(config, "RETURNS_LABEL_URL")
    if not template or not row.label_token:
        return None
    return str(template).format(token=row.label_token)


def sms_body(config: dict[str, Any], row: ReturnRequest) -> str:
    """The label SMS: the return number and the link, in the caller's language."""
    lang = row.language if row.language in _SMS else "en"
    url = label_url(config, row)
    label = _LABEL[lang][0].format(url=url) if url else _LABEL[lang][1]
    return _SMS[lang].format(number=row.return_number, label=label)


def email_message(config: dict[str, Any], row: ReturnRequest, to: str) -> EmailMessage:
    """The label e-mail, a service message the customer asked for in the call."""
    lang = row.language if row.language in _MAIL else "en"
    url = label_url(config, row)
    label = _LABEL[lang][0].format(url=url) if url else _LABEL[lang][1]
    message = EmailMessage()
    message["From"] = str(setting(config, "SMTP_FROM", "kundenservice@localhost"))
    message["To"] = to
    message["Subject"] = _SUBJECT[lang].format(number=row.return_number)
    message.set_content(_MAIL[lang].format(number=row.return_number, order=row.order_number, label=label))
    return message


def shop_payload(row: ReturnRequest) -> bytes:
    """The webhook body: the return as the shop needs it (no phone number, name or address)."""
    data = {
        "event": "return.registered",
        "return_number": row.return_number,
        "order_number": row.order_number,
        "items": list(row.items or []),
        "reason": row.reason,
        "state": row.state,
        "label_via": row.label_via,
        "label_token": row.label_token,
        "language": row.language,
        "created_at": row.created_at.isoformat(),
    }
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 over ``<timestamp>.<raw body>`` (the timestamp stops replays)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What the shop does with our webhook: recompute and compare in constant time."""
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


def label_kinds() -> tuple[str, str]:
    """The deliveries that carry a label."""
    return (SMS, EMAIL)
