"""Menus by voice through the shipped hotline: whole keywords, the classifier's word, yes/no, English."""

from __future__ import annotations

import pytest

from ivr.flows.definition import parse_flow
from ivr.flows.yamlsource import FlowError
from tests.conftest import CLOSED_HOURS
from tests.understanding.conftest import events

RETURNS = "Für die Rücksendung brauche ich Ihre Bestellnummer"
ASK_ORDER_DE = "Bitte tippen Sie Ihre Bestellnummer ein"
TO_AGENT_DE = "ich verbinde Sie mit einem Mitarbeiter"


@pytest.mark.parametrize(
    ("said", "hears", "verb"),
    [
        # "sendung" (order status) is inside "rücksendung": only whole words count now.
        ("ich möchte eine rücksendung anmelden", RETURNS, "Gather"),
        # "bestellung" is an order-status keyword, but the classifier is sure it is a cancellation.
        ("ich möchte meine bestellung stornieren", TO_AGENT_DE, "Enqueue"),
        # "lieferung" is an order-status keyword, but it is a damaged delivery: a person.
        ("die lieferung ist beschädigt angekommen", TO_AGENT_DE, "Enqueue"),
        # Keyword and classifier agree: self-service.
        ("wo ist mein paket", ASK_ORDER_DE, "Gather"),
    ],
)
def test_spoken_main_menu_routes_german_callers_where_they_want(phone, said, hears, verb):
    caller = phone("+4917000000001")  # no orders: the order node asks for a number
    caller.dial()
    turn = caller.say(said)
    assert hears in caller.heard
    assert turn.verb == verb


def test_keyword_overruled_by_a_sure_classifier_is_kept_in_the_history(phone, history):
    caller = phone()
    caller.dial()
    caller.say("ich möchte meine bestellung stornieren")
    caller.hang_up()
    entry = history()[0]
    assert events(entry, "keyword_overruled") == [
        {"node": "main_menu", "key": "1", "keyword_next": "order_status", "intent_next": "agent_hours"}
    ]
    assert entry["intent"] == "cancel_change"


def test_my_personal_details_is_not_a_request_for_a_person_and_is_answered_in_english(phone, history):
    caller = phone()
    caller.dial()
    turn = caller.say("my personal details")
    # Not the keyword "person": the classifier's account_data, answered in English.
    assert caller.heard_in("en-US") == "One moment please, I'll connect you to a colleague."
    assert caller.heard_in("de-DE") == ""
    assert turn.verb == "Enqueue"
    caller.hang_up()
    entry = history()[0]
    assert entry["intent"] == "account_data"
    assert {"node": "main_menu", "language": "en", "reason": "caller speaks it"} in events(entry, "language")


def test_german_menu_offers_english_in_an_english_voice(phone):
    caller = phone()
    turn = caller.dial()
    assert caller.heard_in("en-US") == "For English, press 9."
    assert "English" not in caller.heard_in("de-DE")
    assert "Zu einer Bestellung drücken Sie die 1." in caller.heard_in("de-DE")
    assert turn.attrs["language"] == "de-DE"
    turn = caller.press("9")
    # In English, the offer is not repeated and everything is in the English voice.
    assert "For an order, press 1." in caller.heard_in("en-US")
    assert "For English" not in caller.heard
    assert caller.heard_in("de-DE") == ""
    assert turn.attrs["language"] == "en-US"


def test_english_speech_in_a_german_call_is_answered_in_english(phone):
    caller = phone("+4917000000001")
    caller.dial()
    turn = caller.say("I have a question about my order")
    assert "Please key in your order number" in caller.heard_in("en-US")
    assert caller.heard_in("de-DE") == ""
    assert turn.attrs["language"] == "en-US"  # Twilio now listens for English


@pytest.mark.parametrize(("said", "lang"), [("ja", "de"), ("ja bitte", "de"), ("yes please", "en")])
def test_closed_hours_callback_offer_accepts_a_spoken_yes(app, phone, said, lang):
    app.config["CLOCK"] = lambda: CLOSED_HOURS
    caller = phone()
    caller.dial()
    if lang == "en":
        caller.press("9")
    caller.press("0")
    assert "say yes" in caller.heard or "sagen Sie ja" in caller.heard
    caller.say(said)
    expected = {"de": "Sollen wir Sie unter der Nummer", "en": "Shall we call you back on"}[lang]
    assert expected in caller.heard


@pytest.mark.parametrize(
    ("said", "expected"), [("nein", "nach dem Signalton"), ("nein danke", "nach dem Signalton")]
)
def test_closed_hours_no_leads_to_a_message_not_a_goodbye(app, phone, said, expected):
    app.config["CLOCK"] = lambda: CLOSED_HOURS
    caller = phone()
    caller.dial()
    caller.press("0")
    turn = caller.say(said)
    assert "nach dem Signalton" in caller.heard
    assert turn.verb == "Record"


def test_silence_at_the_closed_hours_menu_ends_at_voicemail_not_a_goodbye(app, phone):
    app.config["CLOCK"] = lambda: CLOSED_HOURS
    caller = phone()
    caller.dial()
    caller.press("0")
    caller.silence()
    assert caller.heard.startswith("Ich habe leider nichts gehört.")
    turn = caller.silence()
    assert "nach dem Signalton" in caller.heard
    assert turn.verb == "Record"


def test_english_nothing_heard_uses_the_one_shared_phrase(phone):
    caller = phone()
    caller.dial()
    caller.press("9")
    caller.silence()
    assert caller.heard.startswith("Sorry, I didn't hear anything.")


MENU = """\
name: t
languages: [de, en]
start: menu
nodes:
  menu:
    type: menu
    prompt: {de: x, en: x}
    options:
      "1":
        next: bye
        keywords: {de: [sendung], en: [order]}
      "2":
        next: bye
        keywords: {de: [sendung verfolgen], en: [return]}
    on_failure: bye
  bye:
    type: hangup
"""


def test_keywords_overlapping_between_options_are_rejected():
    with pytest.raises(FlowError) as exc:
        parse_flow(MENU, "t.yaml")
    assert exc.value.lines() == [
        "t.yaml:14: node 'menu': keyword 'sendung verfolgen' of option 2 overlaps 'sendung' of option 1"
    ]


def test_keywords_that_only_share_letters_are_fine():
    flow = parse_flow(MENU.replace("sendung verfolgen", "rücksendung"), "t.yaml")
    assert flow.nodes["menu"].kind == "menu"


def test_wrong_keys_at_the_returns_node_end_with_a_person_not_a_goodbye(phone):
    caller = phone()
    caller.dial()
    caller.press("2")
    assert RETURNS in caller.heard
    caller.press("7")
    caller.press("7")
    turn = caller.press("7")
    assert turn.verb == "Enqueue"
    assert "Team für Rücksendungen" in caller.heard
