"""What each KPI means, written once: shown as tooltips, returned by the API, in docs/insights.md."""

from __future__ import annotations

from ivr.insights.settings import KpiSettings


def definitions(settings: KpiSettings) -> dict[str, str]:
    """Each KPI's definition, with the configured thresholds filled in (English source text)."""
    s = settings
    denominator = (
        "calls queued minus short abandons minus callers who chose a callback"
        if s.service_level_denominator == "offered"
        else "answered calls plus calls abandoned after the short-abandon threshold"
    )
    return {
        "contacts": "Inbound calls that started in the period (local time of the shop), test calls excluded.",
        "queued": "Calls that entered an agent queue.",
        "service_level": (
            f"Calls answered by an agent within {s.service_level_seconds} s of entering the queue ÷ "
            f"{denominator}. Target {s.service_level_percent} %."
        ),
        "asa_seconds": (
            "Average speed of answer: from entering the queue to an agent answering (IVR time excluded)."
        ),
        "abandonment_rate": (
            f"Callers who hung up while queued after {s.short_abandon_seconds} s or more ÷ "
            "(calls queued − short abandons − callers who chose a callback). IVR hang-ups are not counted."
        ),
        "short_abandon_rate": (
            f"Callers who hung up within {s.short_abandon_seconds} s of entering the queue ÷ "
            "(calls queued − callers who chose a callback)."
        ),
        "longest_wait_seconds": "The longest time a caller waited in a queue, answered or not.",
        "aht_seconds": (
            "Average handling time = (talk + hold + wrap-up) ÷ calls handled by an agent. Hold is 0 "
            "(the desk has no hold); wrap-up lasts from the end of the conversation to the agent's "
            "disposition, at most "
            f"the automatic wrap-up of {int(s.wrapup_limit.total_seconds())} s."
        ),
        "utilisation": (
            "Time agents spent offered a call, talking or wrapping up ÷ their time on duty "
            "(available, offered, talking, wrap-up), from their presence log."
        ),
        "containment_rate": (
            "Calls finished in the IVR without an agent, callback or voicemail, without the IVR giving up on "
            f"the caller (no-input/no-match exits), and without the same customer calling again within "
            f"{s.containment_repeat_hours} h ÷ contacts."
        ),
        "fcr_rate": (
            f"First-contact resolution = 1 − contacts followed by another call of the same customer within "
            f"{s.fcr_days} days ÷ contacts of known customers (withheld numbers cannot be followed)."
        ),
        "resolved_rate": "Share of survey answers 'yes' to 'was your issue resolved?'.",
        "csat": "Share of CSAT answers 4 or 5 on the 1–5 scale of the in-call survey.",
        "nps": "Net promoter score: % of answers 9–10 minus % of answers 0–6 on the 0–10 scale.",
        "callbacks": (
            "Callback requests made in the period; reached = the customer was reached; kept = reached by the "
            "end of the local day the request was due; attempts per success = dials ÷ reached."
        ),
    }
