"""Recording only after the caller's active consent; the answer is stored with the flow version."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ivr.flows.definition import FlowError, parse_flow
from ivr.flows.store import publish_flow
from ivr.models import InteractionEvent
from ivr.privacy.models import Consent, Recording

FLOW = """
name: consent_test
languages: [de, en]
recording: {policy}
internal_line: {internal}
start: hello
nodes:
  hello:
    type: say
    say: {{de: "Willkommen.", en: "Welcome."}}
    next: ask
  ask:
    type: consent
    next: agent
  agent:
    type: route
    dial: "+4930111222"
"""
VOICEMAIL_FLOW = """
name: voicemail_test
start: vm
nodes:
  vm:
    type: voicemail
    prompt: "Bitte sprechen Sie nach dem Ton."
    thanks: "Danke."
"""


@pytest.fixture
def consent_flow(app, session):  # type: ignore[no-untyped-def]
    def publish(policy: str = "ask", internal: str = "false") -> None:
        publish_flow(session, FLOW.format(policy=policy, internal=internal), "consent_test.yaml")
        session.commit()
        app.config["FLOW_NAME"] = "consent_test"

    return publish


def _dial(turn_xml) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return dict(turn_xml.find("Dial").attrib)


def test_pressing_1_consents_and_the_call_is_recorded(consent_flow, phone, session):
    consent_flow("ask")
    caller = phone()
    caller.dial()
    assert "Dürfen wir dieses Gespräch" in caller.heard and "drücken Sie die 1" in caller.heard
    turn = caller.press("1")
    assert "wird aufgezeichnet" in caller.heard
    assert turn.verb == "Dial" and turn.attrs["record"] == "record-from-answer-dual"
    assert turn.attrs["recordingStatusCallback"].endswith("/twilio/recording")
    consent = session.scalars(select(Consent)).one()
    assert (consent.granted, consent.method, consent.flow, consent.flow_version) == (
        True,
        "key",
        "consent_test",
        1,
    )
    assert consent.call_sid == caller.call_sid and consent.at is not None


def test_a_spoken_no_or_silence_records_nothing(consent_flow, phone, session):
    consent_flow("ask")
    caller = phone()
    caller.dial()
    turn = caller.say("nein danke")
    assert "nichts auf" in caller.heard and turn.verb == "Dial" and "record" not in turn.attrs
    other = phone("+4917699887766")
    other.dial()
    other.silence()
    assert "Dürfen wir" in other.heard  # asked once more
    turn = other.silence()
    assert turn.verb == "Dial" and "record" not in turn.attrs
    answers = session.scalars(select(Consent).order_by(Consent.id)).all()
    assert [(c.granted, c.method) for c in answers] == [(False, "speech"), (False, "no_answer")]


def test_never_asks_nothing_and_records_nothing(consent_flow, phone, session):
    consent_flow("never")
    caller = phone()
    caller.dial()
    assert "Dürfen wir" not in caller.heard
    assert caller.turn.verb == "Dial" and "record" not in caller.turn.attrs
    assert session.scalars(select(Consent)).all() == []


def test_always_is_only_for_internal_lines():
    with pytest.raises(FlowError, match="only for internal lines"):
        parse_flow(FLOW.format(policy="always", internal="false"))
    flow = parse_flow(FLOW.format(policy="always", internal="true"))
    assert flow.recording == "always" and flow.internal_line


def test_internal_line_records_and_stores_why(consent_flow, phone, session):
    consent_flow("always", "true")
    caller = phone()
    caller.dial()
    assert "Dürfen wir" not in caller.heard and caller.turn.attrs["record"] == "record-from-answer-dual"
    assert session.scalars(select(Consent)).one().method == "internal_line"


def test_twilio_reports_the_recording_once(consent_flow, phone, twilio_post, session):
    consent_flow("ask")
    caller = phone()
    caller.dial()
    caller.press("1")
    sid = "RE" + "c" * 32
    params = {
        "CallSid": caller.call_sid,
        "RecordingSid": sid,
        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/{sid}",
        "RecordingStatus": "completed",
        "RecordingDuration": "42",
    }
    for _ in range(2):  # Twilio retries
        assert twilio_post("/twilio/recording", **params).status_code == 200
    assert twilio_post("/twilio/recording", signature="forged", **params).status_code == 403
    [row] = session.scalars(select(Recording)).all()
    assert (row.kind, row.recording_sid, row.duration) == ("conversation", sid, 42)


def test_a_voicemail_link_lives_with_the_recording_not_in_the_history(app, phone, session):
    publish_flow(session, VOICEMAIL_FLOW, "voicemail_test.yaml")
    session.commit()
    app.config["FLOW_NAME"] = "voicemail_test"
    caller = phone()
    assert caller.dial().verb == "Record"
    url = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE" + "d" * 32
    caller.record(url, duration=9)
    assert "Danke." in caller.heard
    event = session.scalars(select(InteractionEvent).where(InteractionEvent.kind == "voicemail")).one()
    assert "recording_url" not in event.data
    recording = session.get(Recording, event.data["recording_ref"])
    assert (recording.kind, recording.recording_sid, recording.duration, recording.url) == (
        "voicemail",
        "RE" + "d" * 32,
        9,
        url,
    )


def test_the_greeting_says_speech_is_only_used_to_route(phone):
    caller = phone()
    caller.dial()
    assert "nur, um Sie weiterzuleiten" in caller.heard
