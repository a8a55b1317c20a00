"""What callers and agents hear about callbacks, in German and English."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date

from ivr.flows.phrases import NO_INPUT, NO_MATCH

TEXTS: dict[str, dict[str, str]] = {
    "confirm": {
        "de": "Sollen wir Sie unter der Nummer {number} zurückrufen? Dann sagen Sie ja oder drücken Sie "
        "die 1. Für eine andere Nummer die 2.",
        "en": "Shall we call you back on {number}? Then say yes or press 1. For a different number, press 2.",
    },
    "ask_number": {
        "de": "Bitte geben Sie Ihre Rückrufnummer mit Vorwahl ein und drücken Sie dann die Raute.",
        "en": "Please enter your phone number with the area code, then press hash.",
    },
    "confirm_entered": {
        "de": "Sie haben die Nummer {number} eingegeben. Stimmt das? Dann sagen Sie ja oder drücken Sie "
        "die 1. Zum Ändern die 2.",
        "en": "You entered {number}. Is that right? Then say yes or press 1. To change it, press 2.",
    },
    "invalid": {
        "de": "Diese Nummer können wir leider nicht anrufen.",
        "en": "Sorry, we cannot call that number.",
    },
    "premium": {
        "de": "Sondernummern können wir leider nicht zurückrufen.",
        "en": "Sorry, we cannot call premium-rate numbers.",
    },
    "foreign": {
        "de": "Wir rufen leider nur Rufnummern in Deutschland zurück.",
        "en": "Sorry, we can only call numbers in Germany.",
    },
    "window": {
        "de": "Wann passt es Ihnen am besten? So bald wie möglich: die 1. Vormittags: die 2. "
        "Nachmittags: die 3.",
        "en": "When suits you best? As soon as possible, press 1. In the morning, 2. In the afternoon, 3.",
    },
    "no_input": {"de": NO_INPUT.get("de", "de"), "en": NO_INPUT.get("en", "de")},
    "no_match": {"de": NO_MATCH.get("de", "de"), "en": NO_MATCH.get("en", "de")},
    "done": {
        "de": "Vielen Dank. Wir rufen Sie {when} unter der Nummer {number} zurück.",
        "en": "Thank you. We will call you back on {number} {when}.",
    },
    "known": {
        "de": "Ihr Rückrufwunsch liegt uns bereits vor. Wir rufen Sie {when} zurück.",
        "en": "We already have your callback request. We will call you {when}.",
    },
    "refused": {
        "de": "Leider können wir gerade keine weiteren Rückrufwünsche annehmen.",
        "en": "Sorry, we cannot take more callback requests right now.",
    },
    "position": {
        "de": "Sie sind an Position {position}. Die Wartezeit beträgt etwa {minutes} Minuten.",
        "en": "You are number {position} in the queue. The wait is about {minutes} minutes.",
    },
    "offer": {
        "de": "Wenn wir Sie unter der Nummer {number} zurückrufen sollen, drücken Sie die 1. "
        "Sie behalten Ihren Platz in der Warteschlange.",
        "en": "To be called back on {number}, press 1. You keep your place in the queue.",
    },
    "offer_done": {
        "de": "Vielen Dank. Sie behalten Ihren Platz: Wir rufen Sie {when} zurück. Auf Wiederhören.",
        "en": "Thank you. You keep your place: we will call you back {when}. Goodbye.",
    },
    "offer_failed": {
        "de": "Das hat leider nicht geklappt. Bitte bleiben Sie in der Leitung.",
        "en": "Sorry, that did not work. Please stay on the line.",
    },
    "brief": {
        "de": "Rückruf für {number}. Anliegen: {reason}. Frühere Kontakte: {contacts}. Wir verbinden jetzt.",
        "en": "Callback for {number}. Reason: {reason}. Earlier contacts: {contacts}. Connecting now.",
    },
    "gone": {"de": "Dieser Rückruf ist nicht mehr offen.", "en": "This callback is no longer open."},
    "missed": {
        "de": "Der Kunde war nicht erreichbar. Wir versuchen es später noch einmal.",
        "en": "The customer did not answer. We will try again later.",
    },
}

GERMAN_DATE = "EEEE, 'dem' d. MMMM"
UNKNOWN_REASON = {"de": "nicht angegeben", "en": "not given"}


def text(key: str, lang: str, **values: object) -> str:
    """A prompt in ``lang`` (German when the language is unknown)."""
    variants = TEXTS[key]
    return variants.get(lang, variants["de"]).format(**values)


def spoken_time(when: datetime, now: datetime, timezone: str, lang: str) -> str:
    """When we will call, as a caller would say it: "in Kürze", "heute ab 14 Uhr", "am Montag, dem ..."."""
    zone = ZoneInfo(timezone)
    local, today = when.astimezone(zone), now.astimezone(zone)
    if (when - now).total_seconds() <= 300:
        return "in Kürze" if lang == "de" else "shortly"
    clock = f"{local.hour} Uhr" if local.minute == 0 else f"{local.hour}:{local.minute:02d} Uhr"
    if lang != "de":
        clock = f"{local.hour}:{local.minute:02d}"
    days = (local.date() - today.date()).days
    if days == 0:
        return f"heute ab {clock}" if lang == "de" else f"today from {clock}"
    if days == 1:
        return f"morgen ab {clock}" if lang == "de" else f"tomorrow from {clock}"
    if lang == "de":
        return f"am {format_date(local.date(), GERMAN_DATE, locale='de')}, ab {clock}"
    return f"on {format_date(local.date(), 'EEEE, d MMMM', locale='en')}, from {clock}"
