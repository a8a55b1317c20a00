"""The speech <Gather> TwiML we send: nothing Twilio's error dictionary warns about."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ivr.flows.steps import Gather, Prompt, Step
from ivr.twiml import Voices, render_step

VOICES = Voices({"de": "Polly.Vicki-Neural", "en": "Polly.Joanna-Neural"})


def gather_of(step: Step) -> ET.Element:
    root = ET.fromstring(render_step(step, "https://hotline.example/twilio/step/1", VOICES))
    element = root.find("Gather")
    assert element is not None
    return element


@pytest.mark.parametrize(
    ("lang", "sentence", "model", "timeout"),
    [
        ("de", False, "numbers_and_commands", "2"),
        ("de", True, "default", "3"),
        ("en", False, "numbers_and_commands", "2"),
        ("en", True, "phone_call", "3"),
    ],
)
def test_speech_gather_names_its_model_and_never_says_auto(lang, sentence, model, timeout):
    step = Step([Prompt(lang, "?")], Gather(num_digits=1, speech=True, sentence=sentence), language=lang)
    gather = gather_of(step)
    # Warning 13335: speechTimeout="auto" with the default model; a set model wants a number.
    assert gather.get("speechTimeout") == timeout
    assert gather.get("speechModel") == model
    assert gather.get("language") == {"de": "de-DE", "en": "en-US"}[lang]


def test_keypad_gather_has_no_speech_attributes():
    gather = gather_of(Step([Prompt("de", "?")], Gather(num_digits=1), language="de"))
    assert gather.get("input") == "dtmf"
    assert {"speechTimeout", "speechModel", "language", "hints"}.isdisjoint(gather.attrib)


def test_each_language_is_spoken_in_its_own_voice():
    prompts = [Prompt("de", "Für einen Mitarbeiter die 0."), Prompt("en", "For English, press 9.")]
    step = Step(prompts, Gather())
    says = [(s.get("language"), s.get("voice"), s.text) for s in gather_of(step).iter("Say")]
    assert says == [
        ("de-DE", "Polly.Vicki-Neural", "Für einen Mitarbeiter die 0."),
        ("en-US", "Polly.Joanna-Neural", "For English, press 9."),
    ]


def test_a_whole_spoken_call_never_sends_speech_timeout_auto(phone):
    caller = phone()
    turns = [caller.dial(), caller.say("äh hallo"), caller.say("ich habe eine frage zu meiner rechnung")]
    speech_gathers = [t.attrs for t in turns if t.verb == "Gather" and "speech" in t.attrs.get("input", "")]
    assert speech_gathers  # the menu and the open question listen for speech
    assert all(a["speechTimeout"].isdigit() and a.get("speechModel") for a in speech_gathers)
