"""German and English console text: gettext catalogs from ``translations/*.po``.

The catalogs are compiled in memory when first used (Babel's own compiler), so the repository
holds only the text sources and no build step is needed. Source strings are English.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import Flask, current_app, g, request

from ivr.phone import display_phone

LANGUAGES = ("de", "en")
DEFAULT = "de"
TRANSLATIONS = Path(__file__).parent / "translations"


@cache
def translations(language: str) -> NullTranslations:
    """The catalog of one language (English needs none: it is the source text)."""
    po = TRANSLATIONS / f"{language}.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def current_language() -> str:
    """The user's language: their choice (cookie), else the browser's, else German."""
    if "ui_language" not in g:
        chosen = request.cookies.get("lang")
        if chosen not in LANGUAGES:
            chosen = request.accept_languages.best_match(LANGUAGES) or DEFAULT
        g.ui_language = chosen
    language: str = g.ui_language
    return language


def gettext(message: str, **variables: object) -> str:
    """Translate ``message`` into the current language; ``%(name)s`` placeholders are filled."""
    text = translations(current_language()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    """Translate a message with a plural form."""
    text = translations(current_language()).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


def localtime(value: datetime | None, format: str = "medium") -> str:
    """A timestamp in the shop's time zone, written the way the user's language writes it."""
    if value is None:
        return ""
    zone = ZoneInfo(current_app.config.get("TIMEZONE", "Europe/Berlin"))
    return format_datetime(value, format, tzinfo=zone, locale=current_language())


def localdate(value: date | None) -> str:
    """A date the way the user's language writes it."""
    return format_date(value, "medium", locale=current_language()) if value else ""


def init_app(app: Flask) -> None:
    """Give the console's templates ``_()``, the user's language and local times."""
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["localdate"] = localdate
    app.jinja_env.filters["phone"] = display_phone
    app.context_processor(lambda: {"ui_language": current_language()})
