"""Returns by phone through the shipped hotline, as the caller hears them (German and English)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from ivr.models import Interaction
from ivr.returns.models import ReturnDelivery, ReturnRequest
from tests.returns.conftest import CALLER, LANDLINE, STRANGER, delivered, history_events

TWO_ITEMS = "1 × Wanderschuhe; 1 × Regenjacke"


def _stored(session, order_number: str = "4711") -> ReturnRequest:
    session.rollback()
    return session.scalars(select(ReturnRequest).where(ReturnRequest.order_number == order_number)).one()


def test_caller_id_is_offered_the_latest_delivered_order_and_registers_a_return(
    phone, create_order, session, fake_twilio
):
    create_order("4700", status="delivered", delivered_at="2026-11-02", ordered_at="2026-10-30")
    create_order("4711", **delivered())
    create_order("4722")  # still on its way: not what people return
    caller = phone(CALLER)
    caller.dial()
    caller.press("2")
    assert "Möchten Sie etwas aus Ihrer Bestellung vom 12. November zurückschicken?" in caller.heard
    caller.press("1")
    assert "Warum möchten Sie Wanderschuhe zurückschicken? Passt nicht: die 1." in caller.heard
    caller.press("1")
    assert "Sie möchten Wanderschuhe zurückschicken, weil es nicht passt. Zum Bestätigen" in caller.heard
    caller.press("1")
    row = _stored(session)
    assert (row.items, row.reason, row.state, row.label_via) == (
        ["Wanderschuhe"],
        "wrong_size",
        "registered",
        "sms",
    )
    spoken = " — ".join(
        " ".join(
            (["null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun"])[int(d)]
            for d in row.return_number[i : i + 2]
        )
        for i in range(0, 8, 2)
    )
    assert f"Ihre Rücksendung ist angemeldet. Ihre Rücksendenummer lautet {spoken}." in caller.heard
    assert "Rücksendeetikett schicken wir Ihnen gleich per SMS" in caller.heard
    caller.press("1")
    assert f"Ihre Rücksendenummer lautet {spoken}" in caller.heard
    caller.silence()
    assert "Auf Wiederhören" in caller.heard
    caller.hang_up()
    session.rollback()
    interaction = session.scalar(select(Interaction).where(Interaction.call_sid == caller.call_sid))
    assert interaction.outcome == "self_service"
    assert row.interaction_id == interaction.id
    event = history_events(session, caller.call_sid, "return_registered")[-1]
    assert event["return_number"] == row.return_number and event["label_via"] == "sms"
    kinds = session.scalars(select(ReturnDelivery.kind).where(ReturnDelivery.return_id == row.id)).all()
    assert kinds == ["sms"]  # no shop endpoint configured: agents see it in the console


def test_stranger_must_give_the_postal_code_before_anything_about_the_order(phone, create_order, session):
    create_order("4711", **delivered())
    caller = phone(STRANGER)
    caller.dial()
    caller.press("2")
    assert "Für die Rücksendung brauche ich Ihre Bestellnummer" in caller.heard
    caller.press("4711#")
    assert "Postleitzahl der Lieferadresse" in caller.heard
    caller.press("99999#")
    caller.press("88888#")
    assert "keine Auskunft geben" in caller.heard
    assert "zurückschicken" not in " ".join(caller.transcript[-3:])
    session.rollback()
    assert session.scalars(select(ReturnRequest)).all() == []


def test_several_items_are_listed_and_one_is_chosen(phone, create_order, session):
    create_order("4711", **delivered(items=TWO_ITEMS))
    caller = phone(CALLER)
    caller.dial()
    caller.press("2")
    caller.press("1")
    assert (
        "Welchen Artikel möchten Sie zurückschicken? Für Wanderschuhe drücken Sie die 1. "
        "Für Regenjacke drücken Sie die 2. Für alle Artikel die 9." in caller.heard
    )
    caller.press("2")
    assert "Warum möchten Sie Regenjacke zurückschicken?" in caller.heard
    caller.say("die gefällt mir nicht")
    assert "weil es Ihnen nicht gefällt" in caller.heard
    caller.say("ja")
    assert "Ihre Rücksendung ist angemeldet" in caller.heard
    assert (_stored(session).items, _stored(session).reason) == (["Regenjacke"], "dislike")


def test_an_item_can_be_named_and_all_items_chosen(phone, create_order, session):
    create_order("4711", **delivered(items=TWO_ITEMS))
    caller = phone(CALLER)
    caller.dial()
    caller.press("2")
    caller.press("1")
    caller.say("die Wanderschuhe")
    assert "Warum möchten Sie Wanderschuhe zurückschicken?" in caller.heard
    caller.press("1")
    caller.press("2")  # change it
    assert "Welchen Artikel möchten Sie zurückschicken?" in caller.heard
    caller.press("9")
    assert "Warum möchten Sie alle Artikel zurückschicken?" in caller.heard
    caller.press("1")
    caller.press("1")
    assert _stored(session).items == ["Wanderschuhe", "Regenjacke"]


def test_outside_the_return_period_is_explained_and_offers_the_warranty(phone, create_order, session):
    create_order("4711", **delivered(delivered_at="2026-11-01"))
    caller = phone(CALLER)
    caller.dial()
    caller.press("2")
    caller.press("1")
    assert (
        "Die Rückgabefrist von 14 Tagen für diese Bestellung ist am Sonntag, dem 15. November abgelaufen."
        in caller.heard
    )
    turn = caller.press("4")
    assert "Für einen Defekt nach Gebrauch gilt die Gewährleistung" in caller.heard
    assert turn.verb == "Enqueue"
    assert "Team für Rücksendungen" in caller.heard
    assert history_events(session, caller.call_sid, "return_check")[-1] == {
        "node": "returns",
        "result": "expired",
        "days_late": 9,
    }


def test_a_longer_shop_period_from_the_flow_keeps_the_return_open(phone, create_order, session, app):
    from ivr.flows.store import publish_flow
    from tests.returns.test_flow import flow_with

    publish_flow(session, flow_with(period_days=30), "returns_test.yaml")
    session.commit()
    app.config["FLOW_NAME"] = "returns_test"
    create_order("4711", **delivered(delivered_at="2026-11-01"))
    caller = phone(CALLER)
    caller.dial()
    caller.press("1")
    assert "Warum möchten Sie Wanderschuhe zurückschicken?" in caller.heard


def test_not_yet_delivered_order_is_explained(phone, create_order):
    create_order("4711")  # shipped
    caller = phone(CALLER)
    caller.dial()
    caller.press("2")
    caller.press("4711#")
    assert "Diese Bestellung ist noch nicht bei Ihnen angekommen." in caller.heard
    caller.silence()
    assert "Auf Wiederhören" in caller.heard


def test_damaged_goods_take_the_delivery_problem_path_to_a_person(phone, create_order, session):
    create_order("4711", **delivered())
    caller = phone(CALLER)
    caller.dial()
    caller.press("2")
    caller.press("1")
    turn = caller.press("3")
    assert "Eine beschädigte Lieferung klären wir am besten persönlich" in caller.heard
    assert turn.verb == "Enqueue"
    assert "verbinde Sie mit einem Mitarbeiter" in caller.heard
    caller.hang_up()
    session.rollback()
    assert session.scalars(select(ReturnRequest)).all() == []
    interaction = session.scalar(select(Interaction).where(Interaction.call_sid == caller.call_sid))
    assert interaction.outcome != "self_service"


def test_defective_after_use_goes_to_the_warranty_team(phone, create_order):
    create_order("4711", **delivered())
    caller = phone(CALLER)
    caller.dial()
    caller.press("2")
    caller.press("1")
    turn = caller.say("das Gerät ist defekt")
    assert "gilt die Gewährleistung" in caller.heard
    assert turn.verb == "Enqueue"
    assert "Team für Rücksendungen" in caller.heard


def test_landline_caller_gets_the_label_by_email(phone, create_order, session):
    create_order("4711", **delivered(phone=LANDLINE))
    caller = phone(LANDLINE)
    caller.dial()
    caller.press("2")
    caller.press("1")
    caller.press("2")
    caller.press("1")
    assert "Das Rücksendeetikett schicken wir Ihnen gleich per E-Mail" in caller.heard
    assert _stored(session).label_via == "email"


def test_english_caller_registers_a_return(phone, create_order, session):
    create_order("4711", **delivered(items=TWO_ITEMS))
    caller = phone(CALLER)
    caller.dial()
    caller.press("9")
    caller.press("2")
    assert (
        "Would you like to return something from your order from November 12? Then press 1." in caller.heard
    )
    caller.press("1")
    assert (
        "Which item would you like to return? For Wanderschuhe press 1. For Regenjacke press 2."
        in caller.heard
    )
    caller.press("1")
    caller.say("they are too small")
    assert "You would like to return Wanderschuhe because it does not fit." in caller.heard
    caller.press("1")
    assert "Your return is registered. Your return number is" in caller.heard
    assert "by text message" in caller.heard
    assert _stored(session).language == "en"


def test_english_outside_the_period(phone, create_order):
    create_order("4711", **delivered(delivered_at="2026-11-01"))
    caller = phone(CALLER)
    caller.dial()
    caller.press("9")
    caller.press("2")
    caller.press("1")
    assert "The 14-day return period for this order ended on Sunday, November 15." in caller.heard


def test_where_is_my_refund(phone, create_order, session):
    create_order("4711", **delivered())
    caller = phone(CALLER)
    caller.dial()
    caller.press("2")
    caller.press("1")
    caller.press("1")
    caller.press("1")
    row = _stored(session)
    row.state, row.received_on, row.refunded_on = "refunded", None, date(2026, 11, 23)
    session.commit()
    again = phone(CALLER)
    again.dial()
    again.press("2")
    again.press("1")
    assert "Den Betrag für Ihre Rücksendung" in again.heard
    assert "haben wir am Montag, dem 23. November erstattet." in again.heard
    again.press("9")
    assert "Zum Wiederholen drücken Sie die 1" in again.heard
    again.press("2")  # another item: the order had only one
    assert "Für diese Bestellung ist bereits alles zur Rücksendung angemeldet." in again.heard


def test_english_damaged_goes_to_a_person_and_not_yet_delivered_is_explained(phone, create_order):
    create_order("4711", **delivered())
    caller = phone(CALLER)
    caller.dial()
    caller.press("9")
    caller.press("2")
    caller.press("1")
    turn = caller.say("it arrived damaged")
    assert "We are sorry. A damaged delivery is best sorted out with you in person." in caller.heard
    assert turn.verb == "Enqueue"
    create_order("4722", ordered_at="2026-11-20")  # shipped, not delivered
    other = phone(CALLER)
    other.dial()
    other.press("9")
    other.press("2")
    other.press("2")  # another order
    other.press("4722#")
    assert "This order has not reached you yet. You can return it once it has been delivered." in other.heard


def test_english_stranger_is_verified_by_postal_code(phone, create_order, session):
    create_order("4711", **delivered())
    caller = phone(STRANGER)
    caller.dial()
    caller.press("9")
    caller.press("2")
    assert "For the return I need your order number." in caller.heard
    caller.say("four seven one one")
    assert "postal code of the delivery address" in caller.heard
    caller.press("10115#")
    assert "Why are you returning Wanderschuhe?" in caller.heard


def test_no_personal_data_in_logs_during_a_return_call(phone, create_order, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    create_order("987654321", **delivered())
    caller = phone(STRANGER)
    caller.dial()
    caller.press("2")
    caller.press("987654321#")
    caller.press("10115#")
    caller.press("1")
    caller.press("1")
    assert "Rücksendenummer" in caller.heard
    for secret in ("987654321", "10115", "Mustermann", STRANGER, CALLER, "Wanderschuhe", "erika@"):
        assert secret not in caplog.text
