"""What each KPI means, written once: tooltips, the API's ``definitions``, docs/insights.md.

The texts are gettext message ids (German in ``ivr/desk/translations/de.po``); the configured
thresholds are filled into their ``%(name)s`` placeholders.
"""

from __future__ import annotations

from collections.abc import Callable

from ivr.insights.settings import KpiSettings

DENOMINATOR_TEXT = {
    "offered": "calls queued minus short abandons minus callers who chose a callback",
    "handled": "answered calls plus calls abandoned after the short-abandon threshold",
}

TEXTS = {
    "contacts": "Inbound calls that started in the period (shop's local time); test calls are not counted.",
    "queued": "Calls that entered an agent queue.",
    "service_level": (
        "Calls answered by an agent within %(sl_seconds)s s of entering the queue ÷ %(denominator)s. "
        "Target %(sl_percent)s %%."
    ),
    "asa_seconds": "Average speed of answer: from queue entry to an agent's answer (IVR time excluded).",
    "abandonment_rate": (
        "Callers who hung up while queued after %(short)s s or more ÷ (calls queued − short abandons − "
        "callers who chose a callback). Hang-ups in the IVR are not counted."
    ),
    "short_abandon_rate": (
        "Callers who hung up within %(short)s s of entering the queue ÷ (calls queued − callers who chose "
        "a callback)."
    ),
    "longest_wait_seconds": "The longest time a caller waited in a queue, answered or not.",
    "aht_seconds": (
        "Average handling time = (talk + hold + wrap-up) ÷ calls handled by an agent. Hold is 0 (the desk "
        "has no hold); wrap-up lasts from the end of the conversation to the agent's disposition, at most "
        "the automatic %(wrapup)s s."
    ),
    "utilisation": (
        "Time agents were offered a call, talking or wrapping up ÷ their time on duty (available, offered, "
        "talking, wrap-up), from their presence log."
    ),
    "containment_rate": (
        "Calls finished in the IVR (no agent, callback or voicemail), where the IVR did not give up on the "
        "caller (no-input/no-match exits) and the same customer did not call again within %(contain)s h ÷ "
        "contacts."
    ),
    "fcr_rate": (
        "First-contact resolution = 1 − contacts followed by another call of the same customer within "
        "%(fcr)s days ÷ contacts of known customers (withheld numbers cannot be followed)."
    ),
    "resolved_rate": "Share of survey answers 'yes' to 'Was your issue resolved?'.",
    "csat": "Share of CSAT answers 4 or 5 on the 1–5 scale of the in-call survey.",
    "nps": "Net promoter score: %% of answers 9–10 minus %% of answers 0–6 on the 0–10 scale of the survey.",
    "callbacks": (
        "Callback requests made in the period; reached: the customer was reached; kept: reached by the end "
        "of the local day the request was due; attempts per success: dials ÷ reached."
    ),
}


def definitions(settings: KpiSettings, translate: Callable[[str], str] = lambda text: text) -> dict[str, str]:
    """Each KPI's definition with the configured thresholds filled in (``translate``: gettext)."""
    values = {
        "sl_seconds": settings.service_level_seconds,
        "sl_percent": settings.service_level_percent,
        "denominator": translate(DENOMINATOR_TEXT[settings.service_level_denominator]),
        "short": settings.short_abandon_seconds,
        "wrapup": int(settings.wrapup_limit.total_seconds()),
        "contain": settings.containment_repeat_hours,
        "fcr": settings.fcr_days,
    }
    return {name: translate(text) % values for name, text in TEXTS.items()}
