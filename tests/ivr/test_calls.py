"""Conversations through the shipped hotline, as a caller experiences them."""

from __future__ import annotations

import json

from ivr.cli import main
from tests.conftest import CLOSED_HOURS


def test_greeting_and_main_menu_in_german(phone):
    caller = phone()
    turn = caller.dial()
    assert "willkommen beim Kundenservice" in caller.heard
    assert "Zu einer Bestellung drücken Sie die 1" in caller.heard
    assert turn.verb == "Gather"
    assert turn.attrs["input"] == "dtmf speech"
    assert turn.attrs["language"] == "de-DE"
    assert "Oder sagen Sie uns in wenigen Worten" in caller.heard


def test_nine_switches_the_menu_to_english(phone):
    caller = phone()
    caller.dial()
    turn = caller.press("9")
    assert "For an order, press 1" in caller.heard
    assert turn.attrs["language"] == "en-US"
    caller.press("0")
    assert "I'll connect you to a colleague" in caller.heard


def test_zero_connects_to_the_service_queue_within_opening_hours(phone):
    caller = phone()
    caller.dial()
    turn = caller.press("0")
    assert "verbinde Sie mit einem Mitarbeiter" in caller.heard
    assert turn.verb == "Enqueue"
    assert turn.target == "service"


def test_spoken_keyword_routes_like_the_key(phone):
    caller = phone()
    caller.dial()
    turn = caller.say("ich möchte bitte einen mitarbeiter sprechen")
    assert turn.verb == "Enqueue"


def test_no_input_reprompts_then_hands_over_to_a_person(phone):
    caller = phone()
    caller.dial()
    caller.silence()
    assert caller.heard.startswith("Ich habe leider nichts gehört.")
    assert "drücken Sie die 1" in caller.heard
    caller.silence()
    turn = caller.silence()
    assert turn.verb == "Enqueue"


def test_no_match_reprompts_with_its_own_message(phone):
    caller = phone()
    caller.dial()
    caller.press("7")
    assert caller.heard.startswith("Das habe ich leider nicht verstanden.")
    caller.press("abc")
    assert caller.heard.startswith("Das habe ich leider nicht verstanden.")


def test_out_of_hours_offers_callback_and_tells_opening_hours(app, phone):
    app.config["CLOCK"] = lambda: CLOSED_HOURS
    caller = phone()
    caller.dial()
    turn = caller.press("0")
    assert "montags bis freitags von 8 bis 20 Uhr" in caller.heard
    assert "Sollen wir Sie zurückrufen" in caller.heard
    assert turn.verb == "Gather"


def test_public_holiday_counts_as_closed(app, phone):
    from datetime import UTC, datetime

    app.config["CLOCK"] = lambda: datetime(2026, 12, 25, 10, 0, tzinfo=UTC)  # a Friday, Christmas
    caller = phone()
    caller.dial()
    caller.press("0")
    assert "Sollen wir Sie zurückrufen" in caller.heard


def test_nobody_answers_then_callback_or_message(phone):
    caller = phone()
    caller.dial()
    caller.press("0")
    caller.queue_result("queue-full")
    assert "Leider ist gerade niemand frei" in caller.heard
    turn = caller.press("2")
    assert "nach dem Signalton" in caller.heard
    assert turn.verb == "Record"
    turn = caller.record()
    assert "Vielen Dank für Ihre Nachricht" in caller.heard
    assert turn.verb == "Hangup"


def test_returns_branch_asks_for_the_order_and_zero_reaches_the_returns_team(phone):
    caller = phone()
    caller.dial()
    caller.press("2")
    assert "Für die Rücksendung brauche ich Ihre Bestellnummer" in caller.heard
    turn = caller.press("0#")
    assert "Team für Rücksendungen" in caller.heard
    assert turn.verb == "Enqueue"


def test_every_call_is_in_the_customer_history(phone, runner):
    caller = phone("+49 151 1234 5678")
    caller.dial()
    caller.press("0")
    caller.queue_result("bridged")
    caller.hang_up()
    result = runner.invoke(main, ["history", "0151 12345678", "--json"])
    assert result.exit_code == 0, result.output
    [entry] = json.loads(result.output)
    assert entry["call_sid"] == caller.call_sid
    assert entry["status"] == "completed"
    assert entry["duration"] == caller.seconds
    assert entry["ended_at"] is not None
    kinds = [e["kind"] for e in entry["events"]]
    assert kinds[:3] == ["call_started", "node", "node"]
    assert {"input", "route", "route_result", "status"} <= set(kinds)
    keyed = [e["data"] for e in entry["events"] if e["kind"] == "input"]
    assert keyed == [{"node": "main_menu", "digits": "0"}]


def test_caller_who_hangs_up_in_the_menu_is_logged_as_abandoned(phone, runner):
    caller = phone("+4915199999999")
    caller.dial()
    caller.hang_up()
    entry = json.loads(runner.invoke(main, ["history", "+4915199999999", "--json"]).output)[0]
    assert entry["outcome"] == "abandoned"
    assert entry["status"] == "completed"


def test_history_lists_newest_call_first(phone, runner):
    first, second = phone("+4915100000001"), phone("+4915100000001")
    first.dial()
    first.hang_up()
    second.dial()
    second.hang_up()
    entries = json.loads(runner.invoke(main, ["history", "+4915100000001", "--json"]).output)
    assert [e["call_sid"] for e in entries] == [second.call_sid, first.call_sid]


def test_scripted_simulation_from_the_command_line(runner):
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "docs" / "examples" / "agent.call"
    result = runner.invoke(main, ["simulate", "--script", str(script)])
    assert result.exit_code == 0, result.output
    assert "🔊 Leider ist gerade niemand frei." in result.output
    assert "☎  <Enqueue> service" in result.output


def test_scripted_simulation_fails_on_unmet_expectation(runner, tmp_path):
    script = tmp_path / "wrong.call"
    script.write_text("press 0\nexpect Guten Abend\n", encoding="utf-8")
    result = runner.invoke(main, ["simulate", "--script", str(script)])
    assert result.exit_code == 1
    assert "line 2: expected 'Guten Abend'" in result.output


def test_with_vosk_a_silent_caller_is_asked_why_and_recorded(app, phone):
    app.config.update(SPEECH_MODE="vosk", VOSK_MODEL="/models/de", SPEECH_CAPTURE="record")
    caller = phone()
    turn = caller.dial()
    assert turn.attrs["input"] == "dtmf"
    assert "Oder sagen Sie uns in wenigen Worten" in caller.heard
    turn = caller.silence()
    assert "worum es geht" in caller.heard
    assert turn.verb == "Record"
