"""Proactive service: a late order or a return under way is said first, before the menu."""

from __future__ import annotations

from datetime import timedelta

from ivr.models._types import utcnow
from ivr.returns.kpis import delay_containment
from tests.returns.conftest import CALLER, STRANGER, delivered, history_events

MENU_DE = "Zu einer Bestellung drücken Sie die 1"


def test_delayed_order_is_said_first_and_one_key_gives_the_answer(phone, create_order, session):
    create_order("4711", status="delayed", expected_delivery="2026-11-30")
    caller = phone(CALLER)
    turn = caller.dial()
    assert (
        "Ihre Bestellung vom 12. November verspätet sich leider. Neuer voraussichtlicher Termin: "
        "am Montag, dem 30. November. Wenn Sie deshalb anrufen, drücken Sie die 1." in caller.heard
    )
    assert MENU_DE not in caller.heard and turn.verb == "Gather"
    caller.press("1")
    assert "Es tut uns leid: Ihre Bestellung vier sieben — eins eins verzögert sich." in caller.heard
    caller.silence()
    assert "Auf Wiederhören" in caller.heard
    caller.hang_up()
    assert history_events(session, caller.call_sid, "proactive_notice") == [
        {"node": "notice", "reason": "delayed", "offered": True, "accepted": True}
    ]
    now = utcnow()  # interactions are stamped with the real time
    kpi = delay_containment(session, now - timedelta(hours=1), now + timedelta(hours=1))
    assert (kpi.calls, kpi.self_service, kpi.share) == (1, 1, 1.0)


def test_english_callers_switch_at_the_notice_and_holding_the_line_reaches_the_menu(
    phone, create_order, session
):
    create_order("4711", expected_delivery="2026-11-20")  # shipped, due last Friday: overdue
    caller = phone(CALLER)
    caller.dial()
    assert "For English, press 9." in caller.heard
    caller.press("9")
    assert (
        "We are sorry: your order from November 12 is delayed. If that is why you are calling" in caller.heard
    )
    assert "For English, press 9" not in caller.heard
    caller.press("1")
    assert "It was expected on Friday, November 20, so it is running late." in caller.heard
    other = phone(CALLER)
    other.dial()
    other.silence()
    assert MENU_DE in other.heard
    assert history_events(session, other.call_sid, "proactive_notice")[-1] == {
        "node": "notice",
        "reason": "overdue",
        "offered": True,
        "accepted": False,
    }


def test_overdue_notice_names_no_new_date(phone, create_order):
    create_order("4711", expected_delivery="2026-11-20")
    caller = phone(CALLER)
    caller.dial()
    assert "Ihre Bestellung vom 12. November verspätet sich leider. Wenn Sie deshalb anrufen" in caller.heard
    caller.press("1")
    assert "Sie sollte am Freitag, dem 20. November ankommen und ist damit leider überfällig." in caller.heard


def test_another_phone_hears_nothing_about_the_order(phone, create_order):
    create_order("4711", status="delayed", expected_delivery="2026-11-30")
    caller = phone(STRANGER)
    caller.dial()
    assert MENU_DE in caller.heard and "verspätet" not in caller.heard


def test_on_time_orders_go_straight_to_the_menu(phone, create_order):
    create_order("4711")
    caller = phone(CALLER)
    caller.dial()
    assert MENU_DE in caller.heard


def test_return_in_progress_is_said_first_and_one_key_gives_its_status(phone, create_order, client, runner):
    from ivr.cli import main

    create_order("4711", **delivered())
    key = (
        runner.invoke(main, ["apikeys", "create", "shop", "--scope", "returns"])
        .output.strip()
        .splitlines()[-1]
    )
    client.post(
        "/api/returns",
        json={
            "return_number": "900123",
            "order_number": "4711",
            "state": "received",
            "received_on": "2026-11-23",
        },
        headers={"X-API-Key": key},
    )
    caller = phone(CALLER)
    caller.dial()
    assert (
        "Zu Ihrer Rücksendung aus der Bestellung vom 12. November: Wenn Sie deshalb anrufen" in caller.heard
    )
    caller.press("1")
    assert "ist am Montag, dem 23. November bei uns eingegangen" in caller.heard
