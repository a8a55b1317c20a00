"""Outbound delay notices: one SMS per order and day to opted-in customers, never at night, off by default."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from ivr.cli import main
from ivr.db import session_factory
from ivr.history import customer_history
from ivr.models import Order
from ivr.returns.delivery import run_pass
from ivr.returns.models import ContactConsent
from tests.returns.conftest import CALLER, SMS_FROM

#: A Tuesday morning after the real clock (orders' ``updated_at`` is the real time of the upsert).
MORNING = datetime(2027, 1, 5, 9, 0, tzinfo=UTC)  # 10:00 in Berlin


@pytest.fixture
def consent(client, runner):
    """Post the customer's opt-in the way the shop does."""
    key = (
        runner.invoke(main, ["apikeys", "create", "shop", "--scope", "orders"])
        .output.strip()
        .splitlines()[-1]
    )

    def give(**body):
        body = {
            "phone": "+49 151 12345678",
            "source": "checkout",
            "given_at": "2026-11-01T12:00:00+01:00",
            **body,
        }
        return client.post("/api/consents", json=body, headers={"X-API-Key": key})

    return give


@pytest.fixture
def notices_on(app, fake_twilio):
    """Delay notices switched on, Twilio's REST edge faked."""
    app.config["DELAY_NOTICES"] = "on"
    return fake_twilio


def _run(app, at):
    return run_pass(session_factory(app), app.config, at)


def test_opted_in_customer_gets_one_sms_per_order_and_day(app, consent, create_order, notices_on, session):
    assert consent().status_code == 201
    stored = session.scalars(select(ContactConsent)).one()
    assert (stored.phone, stored.source, stored.given_at) == (
        CALLER,
        "checkout",
        datetime(2026, 11, 1, 11, tzinfo=UTC),
    )
    create_order("4711", status="delayed", expected_delivery="2027-01-08")
    assert _run(app, MORNING) == 1
    [sms] = notices_on.messages
    assert (sms["To"], sms["From"]) == (CALLER, SMS_FROM)
    assert sms["Body"] == (
        "Ihre Bestellung 4711 vom 12. November 2026 verspätet sich leider. Neuer voraussichtlicher Termin: "
        "am Freitag, dem 8. Januar. Wir bitten um Entschuldigung. Ihr Kundenservice"
    )
    assert _run(app, MORNING + timedelta(hours=2)) == 0  # nothing new
    session.execute(update(Order).values(updated_at=MORNING + timedelta(hours=3)))  # the shop marks it again
    session.commit()
    assert _run(app, MORNING + timedelta(hours=4)) == 0  # one per order and day
    assert _run(app, MORNING + timedelta(days=1)) == 1  # the next day it goes out
    assert len(notices_on.messages) == 2
    [sms_contact, *_] = customer_history(session, CALLER)
    assert (sms_contact["channel"], sms_contact["direction"], sms_contact["outcome"]) == (
        "sms",
        "outbound",
        "delay_notice",
    )
    assert sms_contact["events"][0]["kind"] == "delay_notice"


def test_never_at_night_the_notice_waits_for_the_morning(app, consent, create_order, notices_on):
    consent()
    create_order("4711", status="delayed")
    night = datetime(2027, 1, 4, 21, 30, tzinfo=UTC)  # 22:30 in Berlin
    assert _run(app, night) == 0
    assert _run(app, night + timedelta(hours=8)) == 0  # 06:30
    assert _run(app, night + timedelta(hours=10)) == 1  # 08:30
    assert "Einen" not in notices_on.messages[0]["Body"] and "Termin" not in notices_on.messages[0]["Body"]


def test_off_by_default(app, consent, create_order, fake_twilio):
    consent()
    create_order("4711", status="delayed")
    assert _run(app, MORNING) == 0 and fake_twilio.messages == []


def test_no_opt_in_or_a_withdrawn_one_means_no_sms(app, consent, create_order, notices_on):
    create_order("4711", status="delayed")
    assert _run(app, MORNING) == 0
    consent()
    assert consent(withdrawn=True).json == {"withdrawn": True}
    assert _run(app, MORNING) == 0
    assert notices_on.messages == []


def test_consent_needs_a_phone_number_and_its_source(consent):
    assert consent(phone="kein Telefon").status_code == 422
    assert consent(source="").json == {
        "error": "source must say where the customer opted in (1 to 40 characters)"
    }
    assert consent(given_at="2026-11-01T12:00:00").json == {"error": "given_at needs a time zone"}
