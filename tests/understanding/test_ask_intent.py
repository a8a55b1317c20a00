"""Callers say why they call (Twilio's speech recognition) and are routed by intent."""

from __future__ import annotations

import pytest

from ivr.flows.store import publish_flow
from tests.understanding.conftest import events, said

RETURNS_DE = "Für die Rücksendung brauche ich Ihre Bestellnummer"


def test_spoken_reason_in_the_main_menu_is_routed_without_asking_again(phone, history):
    caller = phone()
    caller.dial()
    caller.say("meine schuhe passen nicht ich will sie zurückgeben")
    assert caller.heard.startswith(RETURNS_DE)
    assert "Sagen Sie mir kurz" not in " ".join(caller.transcript)
    caller.hang_up()
    [entry] = history()
    assert entry["intent"] == "return_refund"
    [intent] = events(entry, "intent")
    assert said(entry, intent) == "meine schuhe passen nicht ich will sie zurückgeben"
    assert intent["intent"] == "return_refund"
    assert intent["confidence"] >= 0.6
    assert intent["runner_up"] and "runner_up_confidence" in intent
    assert {
        "node": "ask_why",
        "intent": "return_refund",
        "confirmed": False,
        "next": "returns",
    } in events(entry, "route")


def test_english_caller_is_routed_in_english(phone, history):
    caller = phone()
    caller.dial()
    caller.press("9")
    caller.say("I would like to send back the jacket I bought")
    assert caller.heard.startswith("For the return I need your order number")
    caller.hang_up()
    assert history()[0]["intent"] == "return_refund"


def test_unclear_reason_is_asked_again_then_routed(phone, history):
    caller = phone()
    caller.dial()
    turn = caller.say("äh ja hallo")
    assert caller.heard.startswith("Das habe ich leider nicht verstanden.")
    assert turn.verb == "Gather" and turn.attrs["input"] == "dtmf speech"
    turn = caller.say("ich habe eine frage zu meiner rechnung")
    assert turn.verb == "Enqueue" and turn.target == "service"
    caller.hang_up()
    [entry] = history()
    assert entry["intent"] == "payment_invoice"
    assert [said(entry, t) for t in events(entry, "transcript")] == ["ich habe eine frage zu meiner rechnung"]


def test_second_failure_goes_to_a_person(phone, history):
    caller = phone()
    caller.dial()
    caller.say("äh ja hallo")
    turn = caller.say("das wetter ist heute schön")
    assert "verbinde Sie mit einem Mitarbeiter" in caller.heard
    assert turn.verb == "Enqueue"
    caller.hang_up()
    [entry] = history()
    assert {"node": "ask_why", "next": "agent_hours", "reason": "not understood"} in events(entry, "route")


def test_silence_after_a_failed_attempt_goes_to_a_person(phone):
    caller = phone()
    caller.dial()
    caller.say("äh ja hallo")
    turn = caller.silence()
    assert "verbinde Sie mit einem Mitarbeiter" in caller.heard
    assert turn.verb == "Enqueue"


@pytest.mark.usefixtures("strict_hotline")
@pytest.mark.parametrize("answer", ["say", "press"])
def test_unsure_intent_is_confirmed_by_voice_or_key(phone, history, answer):
    caller = phone()
    caller.dial()
    caller.say("meine schuhe passen nicht ich will sie zurückgeben")
    assert caller.heard.startswith("Geht es um eine Rücksendung?")
    assert "drücken Sie die 1 für ja" in caller.heard
    if answer == "say":
        caller.say("ja genau")
    else:
        caller.press("1")
    assert caller.heard.startswith(RETURNS_DE)
    caller.hang_up()
    [entry] = history()
    assert entry["intent"] == "return_refund"
    assert {
        "node": "ask_why",
        "intent": "return_refund",
        "confirmed": True,
        "next": "returns",
    } in events(entry, "route")


@pytest.mark.usefixtures("strict_hotline")
def test_rejected_guess_is_asked_again_and_the_second_failure_goes_to_a_person(phone):
    caller = phone()
    caller.dial()
    caller.say("meine schuhe passen nicht ich will sie zurückgeben")
    caller.say("nein")
    # A "no" was understood: the caller hears that we guessed wrong, not "not understood".
    assert caller.heard.startswith("Entschuldigung, dann habe ich Sie falsch verstanden.")
    assert "nicht verstanden" not in caller.heard
    turn = caller.say("äh hallo")
    assert "verbinde Sie mit einem Mitarbeiter" in caller.heard
    assert turn.verb == "Enqueue"


def test_zero_during_the_question_is_a_person(phone):
    caller = phone()
    caller.dial()
    caller.say("äh ja hallo")
    turn = caller.press("0")
    assert turn.verb == "Enqueue"


def test_keypad_mode_sends_spoken_requests_to_the_menu(app, phone):
    app.config["SPEECH_MODE"] = "off"
    caller = phone()
    turn = caller.dial()
    assert turn.attrs["input"] == "dtmf"
    assert "Oder sagen Sie uns" not in caller.heard


def test_with_speech_off_the_question_becomes_the_keypad_menu(app, phone, session):
    publish_flow(
        session,
        """
name: keypadtest
languages: [de]
start: ask_why
nodes:
  ask_why:
    type: ask_intent
    intent_targets: {agent: bye}
    fallback: menu
    on_failure: bye
  menu:
    type: menu
    prompt: "Für eine Bestellung drücken Sie die 1."
    options: {"1": bye}
    no_input: "Ich habe nichts gehört."
    no_match: "Das habe ich nicht verstanden."
    on_failure: bye
  bye:
    type: hangup
    say: "Auf Wiederhören."
""",
        "keypadtest.yaml",
    )
    session.commit()
    app.config.update(SPEECH_MODE="off", FLOW_NAME="keypadtest")
    caller = phone()
    turn = caller.dial()
    assert caller.heard == "Für eine Bestellung drücken Sie die 1."
    assert turn.verb == "Gather" and turn.attrs["input"] == "dtmf"


@pytest.mark.usefixtures("strict_hotline")
def test_english_confirmation_by_voice(phone):
    caller = phone()
    caller.dial()
    caller.press("9")
    caller.say("I would like to send back the jacket I bought")
    assert caller.heard.startswith("Is it about a return? Say yes or no")
    caller.say("yes")
    assert caller.heard.startswith("For the return I need your order number")
