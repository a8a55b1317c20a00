"""Callers' reasons for calling become intents, in German and English."""

import pytest

from speech.intents import LABELS, IntentClassifier, classify, detect_language


def test_labels_are_those_of_the_corpus_spec() -> None:
    assert set(LABELS) == {
        "order_status",
        "delivery_issue",
        "return_refund",
        "cancel_change",
        "payment_invoice",
        "product_question",
        "warranty_defect",
        "complaint",
        "account_data",
        "agent",
        "callback",
        "other",
    }


@pytest.mark.parametrize(
    ("utterance", "intent"),
    [
        ("äh hallo wo steckt denn mein päckchen", "order_status"),
        ("ich hätte gern die paket verfolgungs nummer", "order_status"),
        ("im karton war ein anderer pullover als ich bestellt habe", "delivery_issue"),
        ("ich will die sandalen zurück geben die sind zu groß", "return_refund"),
        ("bitte storniern sie den auftrag von gestern", "cancel_change"),
        ("ich hab zwei mahnungen bekommen dabei hab ich längst überwiesen", "payment_invoice"),
        ("gibt es den mantel auch in größe achtunddreißig", "product_question"),
        ("mein toaster ist nach drei monaten kaputt gegangen", "warranty_defect"),
        ("ich möchte mich über ihren miserablen kundendienst beschweren", "complaint"),
        ("ich komm nicht mehr in mein kunden konto rein", "account_data"),
        ("einen mitarbeiter bitte", "agent"),
        ("rufen sie mich bitte später zurück", "callback"),
        ("where is my parcel it should have been here on monday", "order_status"),
        ("i'd like to send these jeans back", "return_refund"),
        ("can you call me back", "callback"),
    ],
)
def test_common_requests_are_understood(utterance: str, intent: str) -> None:
    assert classify(utterance).intent == intent


def test_rambling_and_misheard_callers() -> None:
    rambling = (
        "ja hallo guten tag äh ich hab da mal eine frage und zwar hab ich letzte woche bei ihnen "
        "einen wasserkocher bestellt und der kam heute an aber der karton war total eingedrückt "
        "und der deckel ist abgebrochen"
    )
    assert classify(rambling).intent == "delivery_issue"
    assert classify("ich will mit einem mit arbeiter sprechen").intent == "agent"
    assert classify("ich möchte meine bestellung storniren").intent == "cancel_change"
    assert classify("mein pass wort geht nicht mehr").intent == "account_data"


def test_off_topic_and_noise_is_other() -> None:
    assert classify("ich wollte eigentlich den pizzaservice anrufen").intent == "other"
    assert classify("ähm").intent == "other"
    assert classify("").intent == "other"


def test_result_reports_runner_up_and_language() -> None:
    result = classify("ähm ja ich möchte meine bestellung stornieren")
    assert result.intent == "cancel_change"
    assert result.lang == "de"
    assert 0.0 < result.runner_up_confidence < result.confidence <= 1.0
    assert result.runner_up is not None and result.runner_up != result.intent
    assert classify("i want to cancel my order").lang == "en"
    assert classify("rückruf", lang="en").lang == "en"


def test_language_detection() -> None:
    assert detect_language("wo ist mein paket") == "de"
    assert detect_language("where is my package") == "en"
    assert detect_language("") == "de"


def test_admin_examples_extend_the_built_in_ones() -> None:
    phrase = "ich möchte die kuchenbox abonnieren"
    assert classify(phrase).intent != "subscription"
    classifier = IntentClassifier(
        {
            "subscription": [
                "kuchenbox abo",
                "ich will die kuchenbox abonnieren",
                "abo für die kuchenbox abschließen",
            ]
        }
    )
    assert classifier.classify(phrase).intent == "subscription"
    assert classifier.classify("wo ist mein paket").intent == "order_status"
