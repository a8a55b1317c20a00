"""Callback conversations through the shipped hotline, as a caller (and the agent's queue) sees them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from ivr.cli import main
from ivr.db import session_factory, transaction
from ivr.desk import routing
from ivr.desk.models import Task
from ivr.simulator import Phone
from tests.conftest import CLOSED_HOURS, OPEN_HOURS, twiml

BERLIN = ZoneInfo("Europe/Berlin")
CALLER = "+4915112345678"
SPOKEN_CALLER = "null eins fünf eins eins — zwei drei — vier fünf — sechs sieben acht"


def queue(runner: FlaskCliRunner, *args: str) -> list[dict[str, Any]]:
    """What an agent sees in ``ivr callbacks list --json``."""
    result = runner.invoke(main, ["callbacks", "list", "--json", *args])
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.output)
    return rows


def ask_for_callback(caller: Phone, window_key: str = "1") -> None:
    """Main menu → 3 → confirm the caller ID → choose the window."""
    caller.dial()
    caller.press("3")
    caller.press("1")
    caller.press(window_key)


def set_clock(app: Flask, at: datetime) -> None:
    app.config["CLOCK"] = lambda: at


# --- from the menu


def test_menu_callback_confirms_caller_id_and_window_and_queues_it(phone, runner) -> None:
    caller = phone(CALLER)
    caller.dial()
    caller.press("3")
    assert f"Sollen wir Sie unter der Nummer {SPOKEN_CALLER} zurückrufen?" in caller.heard
    caller.press("1")
    assert "So bald wie möglich: die 1. Vormittags: die 2. Nachmittags: die 3." in caller.heard
    turn = caller.press("3")  # afternoon: Tuesday 10:00, so today from 12:00
    assert f"Wir rufen Sie heute ab 12 Uhr unter der Nummer {SPOKEN_CALLER} zurück." in caller.heard
    assert turn.verb == "Hangup"

    [request] = queue(runner)
    assert request["phone"] == CALLER
    assert request["status"] == "queued"
    assert request["window"] == "afternoon"
    assert request["source"] == "menu"
    assert datetime.fromisoformat(request["next_attempt_at"]).astimezone(BERLIN).hour == 12


def test_menu_callback_as_soon_as_possible_says_shortly(phone, runner) -> None:
    caller = phone(CALLER)
    ask_for_callback(caller, "1")
    assert "Wir rufen Sie in Kürze" in caller.heard
    [request] = queue(runner)
    assert request["window"] == "asap"
    assert datetime.fromisoformat(request["next_attempt_at"]) == OPEN_HOURS


def test_morning_after_noon_is_the_next_working_morning(app, phone, runner) -> None:
    set_clock(app, OPEN_HOURS + timedelta(hours=4))  # Tuesday 14:00
    caller = phone(CALLER)
    ask_for_callback(caller, "2")
    assert "Wir rufen Sie morgen ab 8 Uhr" in caller.heard
    [request] = queue(runner)
    when = datetime.fromisoformat(request["next_attempt_at"]).astimezone(BERLIN)
    assert (when.weekday(), when.hour) == (2, 8)  # Wednesday 08:00


def test_english_caller_hears_english_prompts(phone, runner) -> None:
    caller = phone(CALLER)
    caller.dial()
    caller.press("9")
    caller.press("3")
    assert "Shall we call you back on zero one five one one" in caller.heard
    caller.press("1")
    caller.press("1")
    assert "We will call you back on" in caller.heard
    assert queue(runner)[0]["language"] == "en"


# --- another number


def test_caller_keys_in_another_number(phone, runner) -> None:
    caller = phone(CALLER)
    caller.dial()
    caller.press("3")
    caller.press("2")
    assert "Bitte geben Sie Ihre Rückrufnummer mit Vorwahl ein" in caller.heard
    caller.press("030 1234567#")
    assert (
        "Sie haben die Nummer null drei null — eins zwei — drei vier — fünf sechs sieben eingegeben"
        in caller.heard
    )
    caller.press("1")
    caller.press("1")
    spoken = "null drei null — eins zwei — drei vier — fünf sechs sieben"
    assert f"unter der Nummer {spoken} zurück" in caller.heard
    [request] = queue(runner)
    assert request["phone"] == "+49301234567"


@pytest.mark.parametrize(
    ("number", "heard"),
    [
        ("09001234567#", "Sondernummern können wir leider nicht zurückrufen."),
        ("+447911123456#", "Wir rufen leider nur Rufnummern in Deutschland zurück."),
        ("12#", "Diese Nummer können wir leider nicht anrufen."),
    ],
)
def test_refused_numbers_are_explained_and_asked_again(phone, runner, number: str, heard: str) -> None:
    caller = phone(CALLER)
    caller.dial()
    caller.press("3")
    caller.press("2")
    turn = caller.press(number)
    assert caller.heard.startswith(heard)
    assert "Bitte geben Sie Ihre Rückrufnummer mit Vorwahl ein" in caller.heard
    assert turn.verb == "Gather"
    assert queue(runner) == []


def test_refused_number_after_retries_ends_in_voicemail_not_in_a_callback(phone, runner) -> None:
    caller = phone(CALLER)
    caller.dial()
    caller.press("3")
    caller.press("2")
    for _ in range(3):
        turn = caller.press("09001234567#")
    assert "nach dem Signalton" in caller.heard
    assert turn.verb == "Record"
    assert queue(runner) == []


def test_anonymous_caller_is_asked_for_a_number(phone, runner) -> None:
    caller = phone("anonymous")
    caller.dial()
    caller.press("3")
    assert "Bitte geben Sie Ihre Rückrufnummer mit Vorwahl ein" in caller.heard
    caller.press("0151 99887766#")
    caller.press("1")
    caller.press("1")
    assert queue(runner)[0]["phone"] == "+4915199887766"


# --- out of hours


def test_out_of_hours_callback_is_scheduled_for_the_next_opening(app, phone, runner) -> None:
    set_clock(app, CLOSED_HOURS)  # Sunday 20:00 in Berlin
    caller = phone(CALLER)
    caller.dial()
    caller.press("0")
    assert "Sollen wir Sie zurückrufen? Dann sagen Sie ja oder drücken Sie die 1." in caller.heard
    caller.press("1")
    assert f"Sollen wir Sie unter der Nummer {SPOKEN_CALLER} zurückrufen?" in caller.heard
    caller.press("1")
    caller.press("1")
    assert "Wir rufen Sie morgen ab 8 Uhr" in caller.heard
    [request] = queue(runner)
    assert request["source"] == "out_of_hours"
    first = datetime.fromisoformat(request["next_attempt_at"]).astimezone(BERLIN)
    assert (first.weekday(), first.hour, first.minute) == (0, 8, 0)  # Monday 08:00


def test_out_of_hours_before_a_holiday_skips_it(app, phone, runner) -> None:
    # Thursday 24 December, 21:00 in Berlin: the 25th and 26th are holidays, the 27th a Sunday.
    set_clock(app, datetime(2026, 12, 24, 21, 0, tzinfo=BERLIN))
    caller = phone(CALLER)
    caller.dial()
    caller.press("0")
    caller.press("1")
    caller.press("1")
    caller.press("1")
    assert "am Montag, dem 28. Dezember, ab 8 Uhr" in caller.heard
    first = datetime.fromisoformat(queue(runner)[0]["next_attempt_at"]).astimezone(BERLIN)
    assert (first.date().isoformat(), first.hour) == ("2026-12-28", 8)


# --- the offer while waiting in a queue


def hold_music(
    twilio_post: Callable[..., Any], caller: Phone, position: int, waited: int, average: int = 0
) -> Any:
    """Twilio fetches the queue's wait URL for a caller waiting in <Enqueue> behind others."""
    assert caller.turn is not None and caller.turn.verb == "Enqueue"
    callers_ahead(caller, position - 1)
    return twiml(
        twilio_post(
            caller.turn.attrs["waitUrl"],
            CallSid=caller.call_sid,
            From=caller.from_number,
            To=caller.to_number,
            AccountSid="AC" + "0" * 32,
            QueueSid="QU" + "1" * 32,
            QueuePosition=str(position),
            QueueTime=str(waited),
            AvgQueueTime=str(average),
            CurrentQueueSize=str(position),
        )
    )


def callers_ahead(caller: Phone, count: int) -> None:
    """Put ``count`` callers ahead of ``caller`` in routing's queue (they came earlier)."""
    app = caller.transport.app  # type: ignore[attr-defined]
    with session_factory(app)() as session, transaction(session):
        task = session.scalar(select(Task).where(Task.call_sid == caller.call_sid))
        assert task is not None
        for n in range(count):
            earlier = task.arrived_at - timedelta(minutes=count - n)
            routing.enqueue(session, f"CA{n:032d}", task.queue, task.language, earlier)


def said(root: Any) -> str:
    """Everything <Say>-ed in a TwiML answer, including inside <Gather>."""
    return " ".join((el.text or "").strip() for el in root.iter("Say"))


def accept_offer(twilio_post: Callable[..., Any], caller: Phone, wait: Any, digits: str = "1") -> Any:
    """The caller presses a key during the offer's <Gather>."""
    gather = wait.find("Gather")
    assert gather is not None, "no callback offer"
    action = urlparse(gather.get("action"))
    return twiml(
        twilio_post(
            f"{action.path}?{action.query}",
            CallSid=caller.call_sid,
            From=caller.from_number,
            To=caller.to_number,
            Digits=digits,
        )
    )


def enqueue(caller: Phone) -> None:
    caller.dial()
    caller.press("0")
    assert caller.turn is not None and caller.turn.verb == "Enqueue"


def test_waiting_caller_hears_position_and_wait_without_offer_below_threshold(
    app, phone, twilio_post, runner
) -> None:
    app.config["CALLBACK_OFFER_AFTER_SECONDS"] = 600
    caller = phone(CALLER)
    enqueue(caller)
    wait = hold_music(twilio_post, caller, position=2, waited=30)
    # Nobody on duty: one caller ahead and this one, five minutes each (the default handle time).
    assert said(wait) == "Sie sind an Position 2. Die Wartezeit beträgt etwa 10 Minuten."
    assert wait.find("Gather") is None
    assert wait.find("Play") is not None  # and the hold music goes on
    assert queue(runner) == []


def test_long_wait_offer_keeps_the_callers_place(app, phone, twilio_post, runner) -> None:
    early = phone(CALLER)
    enqueue(early)  # joins the queue at 10:00

    set_clock(app, OPEN_HOURS + timedelta(minutes=5))
    later = phone("+4915199990000")
    ask_for_callback(later)  # asks for a callback at 10:05, before the offer is made
    assert "Wir rufen Sie in Kürze" in later.heard

    set_clock(app, OPEN_HOURS + timedelta(minutes=10))
    wait = hold_music(twilio_post, early, position=3, waited=600, average=900)
    assert "Sie sind an Position 3. Die Wartezeit beträgt etwa 15 Minuten." in said(wait)
    assert (
        f"Wenn wir Sie unter der Nummer {SPOKEN_CALLER} zurückrufen sollen, drücken Sie die 1. "
        "Sie behalten Ihren Platz in der Warteschlange."
    ) in said(wait)
    answer = accept_offer(twilio_post, early, wait)
    assert said(answer) == (
        "Vielen Dank. Sie behalten Ihren Platz: Wir rufen Sie in Kürze zurück. Auf Wiederhören."
    )
    assert answer.find("Hangup") is not None
    early.queue_result("hangup")  # leaving the queue this way does not withdraw the request

    first, second = queue(runner)
    assert (first["phone"], first["source"]) == (CALLER, "queue")
    assert datetime.fromisoformat(first["position_at"]) == OPEN_HOURS  # the original queue time
    assert second["phone"] == "+4915199990000"


def test_offer_declined_goes_back_to_the_hold_music(phone, twilio_post, runner) -> None:
    caller = phone(CALLER)
    enqueue(caller)
    answer = accept_offer(twilio_post, caller, hold_music(twilio_post, caller, position=3, waited=300), "5")
    redirect = answer.find("Redirect")
    assert redirect is not None and urlparse(redirect.text).path == "/callbacks/queue/wait"
    assert queue(runner) == []


def test_offer_is_not_made_to_a_number_we_cannot_call(phone, twilio_post) -> None:
    caller = phone("+447911123456")
    enqueue(caller)
    wait = hold_music(twilio_post, caller, position=4, waited=900)
    assert "Sie sind an Position 4" in said(wait)
    assert wait.find("Gather") is None


def test_offer_after_a_menu_request_keeps_the_earlier_place(app, phone, twilio_post, runner) -> None:
    caller = phone(CALLER)
    ask_for_callback(caller)  # 10:00
    set_clock(app, OPEN_HOURS + timedelta(minutes=30))
    again = phone(CALLER)
    enqueue(again)
    accept_offer(twilio_post, again, hold_music(twilio_post, again, position=2, waited=60))
    [request] = queue(runner)
    assert request["updates"] == 1
    assert datetime.fromisoformat(request["position_at"]) == OPEN_HOURS


# --- one open request per number


def test_second_request_from_the_same_number_updates_the_first(app, phone, runner) -> None:
    ask_for_callback(phone(CALLER), "1")
    [first] = queue(runner)
    set_clock(app, OPEN_HOURS + timedelta(minutes=20))
    caller = phone(CALLER)
    ask_for_callback(caller, "3")
    assert "Wir rufen Sie heute ab 12 Uhr" in caller.heard
    [request] = queue(runner)
    assert request["id"] == first["id"]
    assert request["updates"] == 1
    assert request["window"] == "afternoon"
    assert request["position_at"] == first["position_at"]  # the place of the first request is kept
    assert queue(runner, "--status", "cancelled") == []


def test_caller_who_reaches_an_agent_has_the_waiting_request_cancelled(phone, runner) -> None:
    ask_for_callback(phone(CALLER))
    assert len(queue(runner)) == 1
    caller = phone(CALLER)
    enqueue(caller)
    caller.queue_result("bridged")
    caller.hang_up()
    assert queue(runner) == []
    [cancelled] = queue(runner, "--status", "cancelled")
    assert cancelled["outcome"] == "reached_agent"


def test_caller_who_leaves_the_queue_unanswered_keeps_the_request(phone, runner) -> None:
    ask_for_callback(phone(CALLER))
    caller = phone(CALLER)
    enqueue(caller)
    caller.queue_result("hangup")
    [request] = queue(runner)
    assert request["status"] == "queued"


# --- floods


def test_flood_from_one_number_is_answered_clearly_and_keeps_one_request(app, phone, runner) -> None:
    for minute in range(3):
        set_clock(app, OPEN_HOURS + timedelta(minutes=minute))
        ask_for_callback(phone(CALLER))
    set_clock(app, OPEN_HOURS + timedelta(minutes=3))
    caller = phone(CALLER)
    ask_for_callback(caller)
    assert "Ihr Rückrufwunsch liegt uns bereits vor. Wir rufen Sie in Kürze zurück." in caller.heard
    assert caller.turn is not None and caller.turn.verb == "Hangup"
    [request] = queue(runner)
    assert request["updates"] == 2  # the refused fourth changed nothing


def test_global_limit_refuses_new_callers_with_a_clear_message(app, phone, runner) -> None:
    app.config["CALLBACK_GLOBAL_PER_HOUR"] = 2
    ask_for_callback(phone("+4915100000001"))
    ask_for_callback(phone("+4915100000002"))
    caller = phone(CALLER)
    ask_for_callback(caller)
    assert caller.heard.startswith("Leider können wir gerade keine weiteren Rückrufwünsche annehmen.")
    assert "nach dem Signalton" in caller.heard  # the message box instead
    assert [r["phone"] for r in queue(runner)] == ["+4915100000001", "+4915100000002"]


def test_global_limit_during_the_queue_offer_keeps_the_caller_waiting(
    app, phone, twilio_post, runner
) -> None:
    app.config["CALLBACK_GLOBAL_PER_HOUR"] = 1
    ask_for_callback(phone("+4915100000001"))
    caller = phone(CALLER)
    enqueue(caller)
    answer = accept_offer(twilio_post, caller, hold_music(twilio_post, caller, position=3, waited=300))
    assert said(answer) == "Das hat leider nicht geklappt. Bitte bleiben Sie in der Leitung."
    assert answer.find("Redirect") is not None and answer.find("Hangup") is None
    assert [r["phone"] for r in queue(runner)] == ["+4915100000001"]


def ask_for_callback_to(caller: Phone, number: str) -> None:
    """Main menu → 3 → another number → key it in → confirm → as soon as possible."""
    caller.dial()
    caller.press("3")
    if "Rückrufnummer mit Vorwahl" not in caller.heard:  # a caller ID to confirm first
        caller.press("2")
    caller.press(f"{number}#")
    caller.press("1")
    caller.press("1")


def test_one_caller_cannot_flood_strangers_with_callbacks(app, phone, runner) -> None:
    strangers = ["030 1234567", "030 2345678", "030 3456789", "030 4567890"]
    for number in strangers[:3]:
        ask_for_callback_to(phone(CALLER), number)
    caller = phone(CALLER)
    ask_for_callback_to(caller, strangers[3])
    assert caller.heard.startswith("Leider können wir gerade keine weiteren Rückrufwünsche annehmen.")
    assert "nach dem Signalton" in caller.heard  # the message box instead
    assert [r["phone"] for r in queue(runner)] == ["+49301234567", "+49302345678", "+49303456789"]
    other = phone("+4915100000001")  # someone else may still ask for that number
    ask_for_callback_to(other, strangers[3])
    assert other.heard.startswith("Vielen Dank. Wir rufen Sie")
    assert len(queue(runner)) == 4


def test_callers_with_a_withheld_number_share_one_limit(app, phone, runner) -> None:
    app.config["CALLBACK_WITHHELD_PER_HOUR"] = 2
    ask_for_callback_to(phone("anonymous"), "030 1234567")
    ask_for_callback_to(phone("+266696687"), "030 2345678")
    caller = phone("")
    ask_for_callback_to(caller, "030 3456789")
    assert caller.heard.startswith("Leider können wir gerade keine weiteren Rückrufwünsche annehmen.")
    assert len(queue(runner)) == 2
    ask_for_callback(phone(CALLER))  # a caller with a number is not affected
    assert len(queue(runner)) == 3


def test_a_refused_flood_does_not_use_up_the_global_limit(app, phone, runner) -> None:
    app.config["CALLBACK_GLOBAL_PER_HOUR"] = 2
    for _ in range(6):  # one request and two updates accepted, then refused as a flood
        ask_for_callback(phone(CALLER))
    caller = phone("+4915100000001")
    ask_for_callback(caller)
    assert caller.heard.startswith("Vielen Dank. Wir rufen Sie")
    assert sorted(r["phone"] for r in queue(runner)) == ["+4915100000001", CALLER]


def test_callback_intent_takes_reason_and_transcript_from_what_was_said(phone, runner) -> None:
    caller = phone(CALLER)
    caller.dial()
    caller.say("können sie mich später anrufen")  # no menu keyword: the intent recogniser decides
    assert f"Sollen wir Sie unter der Nummer {SPOKEN_CALLER} zurückrufen?" in caller.heard
    caller.press("1")
    caller.press("1")
    [request] = queue(runner)
    assert (request["source"], request["intent"]) == ("intent", "callback")
    assert request["transcript"] == "können sie mich später anrufen"


# --- answering the number question by voice


@pytest.mark.parametrize("said", ["ja", "ja bitte", "genau"])
def test_spoken_yes_confirms_the_caller_id(phone, runner, said) -> None:
    caller = phone(CALLER)
    caller.dial()
    caller.press("3")
    assert "Dann sagen Sie ja oder drücken Sie die 1." in caller.heard
    caller.say(said)
    assert "Wann passt es Ihnen am besten?" in caller.heard


def test_spoken_no_asks_for_another_number(phone, runner) -> None:
    caller = phone(CALLER)
    caller.dial()
    caller.press("3")
    caller.say("nein eine andere")
    assert "Rückrufnummer mit Vorwahl ein und drücken Sie dann die Raute." in caller.heard


def test_english_caller_confirms_with_yes_please(phone, runner) -> None:
    caller = phone(CALLER)
    caller.dial()
    caller.press("9")
    caller.press("3")
    assert "Then say yes or press 1." in caller.heard
    caller.say("yes please")
    assert "When suits you best?" in caller.heard


def test_unclear_answer_hears_the_shared_no_match_phrase(phone, runner) -> None:
    caller = phone(CALLER)
    caller.dial()
    caller.press("3")
    caller.press("7")
    assert caller.heard.startswith("Das habe ich leider nicht verstanden. Sollen wir Sie unter der Nummer")
