"""Webhook security and robustness: what Twilio and the caller get when things go wrong."""

from __future__ import annotations

from sqlalchemy import func, select

from ivr.models import Call, Interaction, InteractionEvent
from ivr.privacy.models import Transcript
from tests.conftest import twiml

CALL = {
    "CallSid": "CA" + "1" * 32,
    "From": "+4915112345678",
    "To": "+4930123456789",
    "AccountSid": "AC" + "0" * 32,
}


def count(session, model) -> int:
    session.rollback()  # end the read snapshot: see what the webhooks wrote
    return session.scalar(select(func.count()).select_from(model))


def test_forged_signature_is_refused_and_nothing_written(twilio_post, session):
    resp = twilio_post("/twilio/voice", signature="forged", **CALL)
    assert resp.status_code == 403
    assert count(session, Interaction) == 0


def test_missing_signature_is_refused(client, session):
    resp = client.post("/twilio/voice", data=CALL)
    assert resp.status_code == 403
    assert count(session, Interaction) == 0


def test_signature_over_other_parameters_is_refused(twilio_post, client, session):
    from twilio.request_validator import RequestValidator

    from tests.conftest import AUTH_TOKEN

    sig = RequestValidator(AUTH_TOKEN).compute_signature("http://localhost/twilio/voice", CALL)
    resp = client.post(
        "/twilio/voice", data={**CALL, "From": "+4917600000000"}, headers={"X-Twilio-Signature": sig}
    )
    assert resp.status_code == 403


def test_signature_checked_against_public_url_behind_a_proxy(app, client):
    from twilio.request_validator import RequestValidator

    from tests.conftest import AUTH_TOKEN

    app.config["PUBLIC_URL"] = "https://hotline.example.de"
    sig = RequestValidator(AUTH_TOKEN).compute_signature("https://hotline.example.de/twilio/voice", CALL)
    resp = client.post("/twilio/voice", data=CALL, headers={"X-Twilio-Signature": sig})
    doc = twiml(resp)
    assert doc.find("Gather").get("action").startswith("https://hotline.example.de/twilio/step?n=1")


def test_signature_over_the_url_with_its_default_port_is_accepted(app, client):
    """Twilio may sign ``https://host:443/…`` for a URL configured without the port."""
    from twilio.request_validator import RequestValidator

    from tests.conftest import AUTH_TOKEN

    app.config["PUBLIC_URL"] = "https://hotline.example.de"
    url = "https://hotline.example.de:443/twilio/voice"
    sig = RequestValidator(AUTH_TOKEN).compute_signature(url, CALL)
    resp = client.post("/twilio/voice", data=CALL, headers={"X-Twilio-Signature": sig})
    assert resp.status_code == 200
    assert twiml(resp).find("Gather") is not None
    forged = client.post(
        "/twilio/voice", data={**CALL, "CallSid": "CA" + "2" * 32}, headers={"X-Twilio-Signature": sig}
    )
    assert forged.status_code == 403


def test_step_urls_follow_the_host_and_the_public_url(app, client):
    """The action URL is where Twilio must post next: the host the webhook came to, or the
    public URL once configured, in the same process (the base is built once, not forever)."""
    from twilio.request_validator import RequestValidator

    from tests.conftest import AUTH_TOKEN

    def action(base: str, call_sid: str) -> str:
        params = {**CALL, "CallSid": call_sid}
        sig = RequestValidator(AUTH_TOKEN).compute_signature(f"{base}/twilio/voice", params)
        resp = client.post("/twilio/voice", base_url=base, data=params, headers={"X-Twilio-Signature": sig})
        return twiml(resp).find("Gather").get("action")

    assert action("http://localhost", "CA" + "3" * 32) == "http://localhost/twilio/step?n=1&lang=de"
    assert (
        action("https://ivr.shop.example", "CA" + "4" * 32)
        == "https://ivr.shop.example/twilio/step?n=1&lang=de"
    )
    app.config["PUBLIC_URL"] = "https://hotline.example.de"
    assert (
        action("https://hotline.example.de", "CA" + "5" * 32)
        == "https://hotline.example.de/twilio/step?n=1&lang=de"
    )


def test_incoming_call_without_callsid_gets_a_polite_answer(twilio_post):
    doc = twiml(twilio_post("/twilio/voice", From="+4915112345678"))
    assert "technischer Fehler" in doc.find("Say").text
    assert doc.find("Hangup") is not None


def test_retried_webhook_neither_advances_twice_nor_logs_twice(twilio_post, session):
    first = twiml(twilio_post("/twilio/voice", **CALL))
    action = first.find("Gather").get("action").removeprefix("http://localhost")
    answer = twilio_post(action, Digits="2", **CALL).get_data(as_text=True)
    events = count(session, InteractionEvent)
    again = twilio_post(action, Digits="2", **CALL).get_data(as_text=True)
    assert again == answer
    assert count(session, InteractionEvent) == events
    session.rollback()
    call = session.scalars(select(Call)).one()
    assert call.step == 2 and call.node == "returns"


def test_retried_incoming_call_webhook_is_answered_the_same(twilio_post, session):
    a = twilio_post("/twilio/voice", **CALL).get_data(as_text=True)
    b = twilio_post("/twilio/voice", **CALL).get_data(as_text=True)
    assert a == b
    assert count(session, Interaction) == 1


def test_unknown_step_number_repeats_the_current_prompt(twilio_post):
    twilio_post("/twilio/voice", **CALL)
    doc = twiml(twilio_post("/twilio/step?n=banana", Digits="1", **CALL))
    assert "Zu einer Bestellung" in " ".join(s.text for s in doc.iter("Say"))


def test_huge_speech_result_is_handled(twilio_post, session):
    doc = twiml(twilio_post("/twilio/voice", **CALL))
    action = doc.find("Gather").get("action").removeprefix("http://localhost")
    doc = twiml(twilio_post(action, SpeechResult="bla " * 1300, Confidence="x", **CALL))
    assert "nicht verstanden" in doc.find("Gather/Say").text
    session.rollback()
    stored = session.scalars(select(InteractionEvent).where(InteractionEvent.kind == "input")).one()
    assert "speech" not in stored.data and stored.data["speech_length"] == 1000
    transcript = session.get(Transcript, stored.data["speech_ref"])
    assert transcript.text == ("bla " * 1300)[:1000] and transcript.call_sid == CALL["CallSid"]


def test_step_for_unknown_call_gets_fallback_not_an_error(twilio_post):
    doc = twiml(twilio_post("/twilio/step?n=1", Digits="1", CallSid="CA" + "9" * 32))
    assert "technischer Fehler" in doc.find("Say").text


def test_status_callback_for_unknown_call_is_logged(twilio_post, session):
    resp = twilio_post(
        "/twilio/status",
        CallSid="CA" + "7" * 32,
        CallStatus="failed",
        From="+4915100000000",
        To="+4930123456789",
    )
    assert resp.status_code == 200
    interaction = session.scalars(select(Interaction)).one()
    assert interaction.status == "failed" and interaction.outcome == "failed"
    assert interaction.customer.phone == "+4915100000000"


def test_duplicated_status_callback_logs_once(twilio_post, session):
    twilio_post("/twilio/voice", **CALL)
    for _ in range(2):
        twilio_post("/twilio/status", CallStatus="completed", CallDuration="42", **CALL)
    session.rollback()
    statuses = session.scalars(select(InteractionEvent).where(InteractionEvent.kind == "status")).all()
    assert len(statuses) == 1
    assert session.scalars(select(Interaction)).one().duration == 42


def test_database_down_mid_call_apologises_and_connects_fallback(app, twilio_post):
    from sqlalchemy.orm import sessionmaker

    from ivr.db import make_engine

    doc = twiml(twilio_post("/twilio/voice", **CALL))
    action = doc.find("Gather").get("action").removeprefix("http://localhost")
    app.config["FALLBACK_NUMBER"] = "+4930999999"
    app.extensions["ivr.db"] = sessionmaker(make_engine("sqlite:////nonexistent-dir/down.db"))
    doc = twiml(twilio_post(action, Digits="1", **CALL))
    assert "technischer Fehler" in doc.find("Say").text
    assert doc.find("Dial").text == "+4930999999"


def test_database_down_without_fallback_says_goodbye(app, twilio_post):
    from sqlalchemy.orm import sessionmaker

    from ivr.db import make_engine

    app.extensions["ivr.db"] = sessionmaker(make_engine("sqlite:////nonexistent-dir/down.db"))
    doc = twiml(twilio_post("/twilio/voice", **CALL))
    assert "Auf Wiederhören" in " ".join(s.text for s in doc.findall("Say"))
    assert doc.find("Hangup") is not None


def test_running_call_keeps_its_flow_version(app, twilio_post, session, runner, tmp_path):
    from pathlib import Path

    from ivr.cli import main

    twilio_post("/twilio/voice", **CALL)
    source = Path("call_flows/hotline.yaml").read_text(encoding="utf-8")
    changed = tmp_path / "hotline.yaml"
    changed.write_text(source.replace("brauche ich Ihre Bestellnummer", "Retourenlabel"), encoding="utf-8")
    result = runner.invoke(main, ["flows", "import", str(changed)])
    assert "published hotline v2" in result.output
    doc = twiml(twilio_post("/twilio/step?n=1", Digits="2", **CALL))
    assert "Für die Rücksendung brauche ich Ihre Bestellnummer" in " ".join(s.text for s in doc.iter("Say"))
    other = {**CALL, "CallSid": "CA" + "2" * 32}
    twilio_post("/twilio/voice", **other)
    doc = twiml(twilio_post("/twilio/step?n=1", Digits="2", **other))
    assert "Retourenlabel" in " ".join(s.text for s in doc.iter("Say"))
