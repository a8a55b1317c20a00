"""Data minimisation: free text goes to the transcript store, a call forgets its details when it ends."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ivr.db import insert_row
from ivr.flows.steps import Event
from ivr.models import Call, Interaction
from ivr.privacy.models import Recording, Transcript
from ivr.privacy.recordings import recording_sid

#: Event fields that carry what a caller said; stored as transcripts, referenced as ``<field>_ref``.
FREE_TEXT_FIELDS = ("speech", "text", "transcript")
#: What a finished call keeps of its variables: the routing summary KPIs and agents use, no free text,
#: no numbers the caller gave.
KEPT_AFTER_CALL = (
    "outcome",
    "intent",
    "intent_confidence",
    "voicemail",
    "abandoned_in_queue",
    "callback_request_id",
    "order_problem",
    "order_overdue",
    "recording_consent",
)
FINISHED_RESPONSE = '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup /></Response>'


def store_free_text(session: Session, interaction: Interaction, events: list[Event]) -> list[Event]:
    """The events with their free text moved to ``transcripts`` (one row per distinct utterance)
    and the recordings they mention to ``recordings``."""
    made: dict[str, Transcript] = {}
    cleaned: list[tuple[Event, dict[str, Transcript]]] = []
    for event in events:
        refs: dict[str, Transcript] = {}
        for name in FREE_TEXT_FIELDS:
            value = event.data.get(name)
            if not isinstance(value, str) or not value.strip():
                continue
            if value not in made:  # inserted at once: the events reference its id
                made[value] = insert_row(
                    session,
                    Transcript,
                    {
                        "interaction_id": interaction.id,
                        "call_sid": interaction.call_sid,
                        "node": _str(event.data.get("node")),
                        "source": f"{event.kind}.{name}"[:30],
                        "text": value,
                        "confidence": _float(event.data.get("confidence")),
                    },
                )
            refs[name] = made[value]
        cleaned.append((event, refs))
    recordings = {id(e): _recording(session, interaction, e) for e in events if e.data.get("recording_url")}
    if not made and not recordings:
        return events
    if recordings:
        session.flush()  # the recordings' ids, for the references
    result = []
    for event, refs in cleaned:
        recording = recordings.get(id(event))
        if not refs and recording is None:
            result.append(event)
            continue
        data: dict[str, Any] = {k: v for k, v in event.data.items() if k not in refs}
        if recording is not None:  # the recording's link lives with the recording, under its retention
            del data["recording_url"]
            data["recording_ref"] = recording.id
        for name, transcript in refs.items():
            data[f"{name}_ref"] = transcript.id
            data[f"{name}_length"] = len(transcript.text)
        result.append(Event(event.kind, data))
    return result


def _recording(session: Session, interaction: Interaction, event: Event) -> Recording:
    """A recording an event mentions (a voicemail), kept apart so retention and erasure reach it."""
    url = str(event.data["recording_url"])[:500]
    row = Recording(
        interaction_id=interaction.id,
        call_sid=interaction.call_sid,
        kind="voicemail" if event.kind == "voicemail" else "speech",
        recording_sid=recording_sid(url),
        url=url,
        duration=event.data.get("duration") if isinstance(event.data.get("duration"), int) else None,
    )
    session.add(row)
    return row


def call_details_forgotten(call: Call) -> dict[str, Any]:
    """What an ended call keeps: only its routing summary, no free text, numbers or spoken answers."""
    return {
        "variables": {k: v for k, v in call.variables.items() if k in KEPT_AFTER_CALL},
        "last_response": FINISHED_RESPONSE,
    }


def _str(value: Any) -> str | None:
    return str(value)[:100] if value is not None else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
