"""A person and a bystander with a row in every table that holds personal data."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import JSON, String, Text, cast, select
from sqlalchemy.orm import Session

from callbacks.models import CallbackRequest, CallbackSubmission
from ivr.db import Base
from ivr.desk.models import SignInAttempt, Task, Voicemail
from ivr.insights.callfacts import CallFacts
from ivr.insights.kpis import SURVEY_SUMS
from ivr.models import (
    ApiKey,
    Call,
    Customer,
    CustomerMerge,
    FlowVersion,
    IdempotencyKey,
    Interaction,
    InteractionEvent,
    Order,
    OrderVerificationFailure,
    WebhookDelivery,
)
from ivr.models._types import utcnow
from ivr.privacy.models import Consent, Recording, Transcript
from ivr.returns.models import ContactConsent, DelayNotice, ReturnDelivery, ReturnRequest
from ivr.understanding.models import HeardSpeech
from tests.callbacks.fakes import ACCOUNT_SID, FakeTwilio
from tests.conftest import AUTH_TOKEN
from tests.desk.conftest import available_agent, create_user, fake  # noqa: F401  (console fixtures)
from tests.understanding.test_vosk_capture import ko_model_dir, vosk_app  # noqa: F401  (speech fixtures)


@dataclass(frozen=True)
class Person:
    """What identifies someone, as a scan of every column would find it."""

    phone: str
    email: str
    name: str
    order_number: str
    postal_code: str
    said: str
    call_sid: str
    recording_sid: str

    @property
    def traces(self) -> tuple[str, ...]:
        """Strings that must not be left anywhere once the person is erased."""
        return (self.phone, self.phone.lstrip("+"), self.email, self.name, self.order_number, self.said)


ANNA = Person(
    "+4915112345678",
    "anna.beispiel@example.de",
    "Anna Beispiel",
    "4711",
    "10115",
    "meine IBAN ist DE89370400440532013000",
    "CA" + "a" * 32,
    "RE" + "a" * 32,
)
BERT = Person(
    "+4917699887766",
    "bert.muster@example.de",
    "Bert Muster",
    "5822",
    "20095",
    "ich wohne in der Musterstraße 5",
    "CA" + "b" * 32,
    "RE" + "b" * 32,
)


def seed(session: Session, person: Person, at: datetime | None = None, live: bool = False) -> dict[str, int]:
    """One row of every kind for ``person`` (``at``: how old it all is); returns rows per table."""
    when = at or utcnow().replace(microsecond=0)  # no stray digits for the scans to match
    tag = person.call_sid[2:6]  # names the person's rows without being one of their traces
    flow = session.scalars(select(FlowVersion).where(FlowVersion.name == "hotline")).first()
    assert flow is not None
    customer = Customer(phone=person.phone, name=person.name, email=person.email, created_at=when)
    session.add(customer)
    session.flush()
    interaction = Interaction(
        customer_id=customer.id,
        call_sid=person.call_sid,
        from_number=person.phone,
        to_number="+4930123456",
        started_at=when,
        ended_at=None if live else when + timedelta(minutes=3),
        status="in-progress" if live else "completed",
        duration=None if live else 180,
        outcome=None if live else "callback",
        intent="order_status",
        language="de",
        event_seq=3,
    )
    # A contact on another channel (POST /api/interactions): free-text subject and summary.
    email = Interaction(
        customer_id=customer.id,
        channel="email",
        direction="inbound",
        started_at=when,
        ended_at=when,
        status="completed",
        subject=f"Frage von {person.name}",
        summary=f"{person.email} fragt nach Bestellung {person.order_number}",
        external_ref=f"ticket {person.name}",
    )
    api_key = ApiKey(name=f"shop-{tag}", key_hash=tag * 16, scopes="history")
    session.add_all([interaction, email, api_key])
    session.flush()
    return_request = ReturnRequest(
        return_number=f"R-{tag}",
        order_number=person.order_number,
        customer_id=customer.id,
        interaction_id=interaction.id,
        items=[{"name": "Wanderschuhe", "quantity": 1, "for": person.name}],
        reason="wrong_size",
        state="refunded",
        label_via="sms",
        created_at=when,
        updated_at=when,
    )
    session.add(return_request)
    session.flush()
    session.add_all(
        [
            InteractionEvent(
                interaction_id=interaction.id,
                seq=1,
                kind="order_lookup",
                at=when,
                data={"order_number": person.order_number},
            ),
            InteractionEvent(
                interaction_id=interaction.id, seq=2, kind="input", at=when, data={"digits": "1"}
            ),
            InteractionEvent(
                interaction_id=interaction.id,
                seq=3,
                kind="survey_answer",
                at=when,
                data={"node": "survey", "question": "csat", "value": 5, "agent_id": None},
            ),
            Call(
                call_sid=person.call_sid,
                interaction_id=interaction.id,
                flow_version_id=flow.id,
                node="main_menu",
                language="de",
                variables={"transcript": person.said, "callback_number": person.phone},
                last_response=f"<Response><Say>Bestellung {person.order_number}</Say></Response>",
                finished=not live,
                step=1,
                updated_at=when,
            ),
            Transcript(
                interaction_id=interaction.id, call_sid=person.call_sid, text=person.said, created_at=when
            ),
            Recording(
                interaction_id=interaction.id,
                call_sid=person.call_sid,
                kind="voicemail",
                recording_sid=person.recording_sid,
                url=f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{person.recording_sid}",
                duration=12,
                created_at=when,
            ),
            Voicemail(
                call_sid=person.call_sid,
                interaction_id=interaction.id,
                queue="service",
                recording_url=f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{person.recording_sid}",
                duration=12,
                created_at=when,
            ),
            Consent(
                interaction_id=interaction.id,
                call_sid=person.call_sid,
                granted=True,
                method="key",
                flow=flow.name,
                flow_version=flow.version,
                at=when,
            ),
            HeardSpeech(call_sid=person.call_sid, token="t1", text=person.said, created_at=when),
            Order(
                order_number=person.order_number,
                customer_id=customer.id,
                customer_name=person.name,
                phone=person.phone,
                email=person.email,
                postal_code=person.postal_code,
                status="shipped",
                ordered_at=date(2026, 11, 20),
                items="1x Wanderschuhe",
                updated_at=when,
            ),
            OrderVerificationFailure(caller=person.phone, order_number=person.order_number, at=when),
            CallbackRequest(
                phone=person.phone,
                customer_id=customer.id,
                status="completed",
                transcript=person.said,
                call_sid=person.call_sid,
                interaction_id=interaction.id,
                requested_at=when,
                updated_at=when,
                due_at=when,
                next_attempt_at=when,
                note=f"called {person.name}",
            ),
            CallbackSubmission(phone=person.phone, caller=person.phone, at=when, outcome="accepted"),
            Task(
                call_sid=person.call_sid,
                interaction_id=interaction.id,
                queue="service",
                language="de",
                status="connected" if live else "completed",
                arrived_at=when,
                context={"intent_text": person.said, "order_number": person.order_number},
            ),
            SignInAttempt(email_hash="0" * 64, address_hash="0" * 64, at=when),
            ReturnDelivery(
                return_id=return_request.id,
                kind="sms",
                state="sent",
                attempts=1,
                created_at=when,
                sent_at=when,
            ),
            # An opt-in withdrawn as long ago as the rest (an active one is kept while it holds).
            ContactConsent(
                phone=person.phone,
                purpose="delay_notices",
                source="checkout",
                given_at=when,
                withdrawn_at=when,
            ),
            DelayNotice(
                order_number=person.order_number, day=date(2026, 11, 25), state="sent", created_at=when
            ),
            CustomerMerge(
                merged_id=customer.id + 100000, into_id=customer.id, merged_by="cli", merged_at=when
            ),
            IdempotencyKey(
                api_key_id=api_key.id,
                key=f"key-{tag}",
                customer_id=customer.id,
                request_hash=tag * 16,
                status=201,
                response=f'{{"subject": "Frage von {person.name}", "customer": "{person.email}"}}',
                created_at=when,
            ),
            WebhookDelivery(
                event_id=f"ev-{tag}",
                event="interaction.created",
                url="https://shop.example/hooks",
                payload={"event": "interaction.created", "data": {"summary": email.summary}},
                interaction_id=email.id,
                created_at=when,
                due_at=when,
                attempts=1,
                delivered_at=when,
            ),
            CallFacts(
                interaction_id=interaction.id,
                started_at=when,
                queued=False,
                talk_seconds=0,
                talk_ended=False,
                voicemails=0,
                gave_up=0,
                entry="key 1",
                **{name: 0 for name in SURVEY_SUMS},
            ),
        ]
    )
    session.flush()
    return {
        "customers": 1,
        "interactions": 2,
        "interaction_events": 3,
        "calls": 1,
        "transcripts": 1,
        "recordings": 1,
        "voicemails": 1,
        "consents": 1,
        "heard_speech": 1,
        "orders": 1,
        "order_verification_failures": 1,
        "callback_requests": 1,
        "callback_submissions": 1,
        "tasks": 1,
        "returns": 1,
        "return_deliveries": 1,
        "contact_consents": 1,
        "delay_notices": 1,
        "customer_merges": 1,
        "idempotency_keys": 1,
        "webhook_deliveries": 1,
        "kpi_call_facts": 1,
    }


def text_columns(table: Any) -> list[Any]:
    """The columns a person's data could hide in: strings and JSON."""
    return [
        c
        for c in table.columns
        if isinstance(c.type, String | Text | JSON) or "JSON" in type(c.type).__name__
    ]


def find_traces(session: Session, person: Person) -> dict[str, list[str]]:
    """Every table.column holding any of the person's traces (a scan of the whole database)."""
    found: dict[str, list[str]] = {}
    for table in Base.metadata.sorted_tables:
        for column in text_columns(table):
            for trace in person.traces:
                values = session.scalars(select(cast(column, Text)).where(cast(column, Text).contains(trace)))
                if any(not _DIGEST.fullmatch(value) for value in values):
                    found.setdefault(f"{table.name}.{column.name}", []).append(trace)
    return found


#: A keyed hash or random token: its hex digits hold a short trace such as the order number
#: 4711 by chance (about 1 value in 1,000, which once failed a CI run); it names nobody.
_DIGEST = re.compile(r"[0-9a-f]{32,}")


@pytest.fixture
def fake_twilio(app: Flask) -> FakeTwilio:
    """Twilio's REST API behind its HttpClient seam, holding both people's recordings."""
    edge = FakeTwilio(AUTH_TOKEN, recordings={ANNA.recording_sid, BERT.recording_sid})
    app.config["TWILIO_HTTP_CLIENT"] = edge
    return edge
