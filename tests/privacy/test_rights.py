"""Export (Art. 15/20) and erasure (Art. 17) of one person across every table, on both databases."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from ivr.cli import main
from ivr.db import Base
from ivr.models import Interaction
from ivr.privacy.models import AuditEntry, Erasure
from ivr.privacy.registry import entries
from tests.privacy.conftest import ANNA, BERT, find_traces, seed


def test_seed_covers_every_registered_table(session):
    seeded = seed(session, ANNA)
    session.commit()
    searchable = {name for name, entry in entries().items() if entry.searchable}
    assert searchable <= set(seeded), (
        f"seed a row of {sorted(searchable - set(seeded))} in tests/privacy/conftest.py: "
        "erasure and export are only proven for tables the test fills"
    )


def test_erase_leaves_nothing_of_the_person_and_keeps_the_bystander_and_the_counts(
    runner, session, fake_twilio
):
    seed(session, ANNA)
    seed(session, BERT)
    session.commit()
    assert set(find_traces(session, ANNA))  # the scan finds what is there

    result = runner.invoke(main, ["privacy", "erase", ANNA.phone, "--yes"])

    assert result.exit_code == 0, result.output
    assert "customers: 1" in result.output and "asked Twilio to delete 1 recordings" in result.output
    session.rollback()
    assert find_traces(session, ANNA) == {}
    bert = find_traces(session, BERT)
    assert {
        "customers.phone",
        "orders.email",
        "transcripts.text",
        "interactions.subject",
        "interactions.summary",
        "returns.items",
        "contact_consents.phone",
        "delay_notices.order_number",
        "idempotency_keys.response",
        "webhook_deliveries.payload",
    } <= set(bert)
    # The KPIs keep their counts: both calls are still there, Anna's anonymised.
    outcomes = session.execute(
        select(Interaction.outcome, Interaction.customer_id, Interaction.from_number).where(
            Interaction.channel == "voice"
        )
    ).all()
    assert sorted(o.outcome for o in outcomes) == ["callback", "callback"]
    assert sum(1 for o in outcomes if o.customer_id is None and o.from_number is None) == 1
    assert fake_twilio.deleted_recordings == [ANNA.recording_sid]
    [erasure] = session.scalars(select(Erasure)).all()
    assert (
        erasure.requested_by == "cli"
        and erasure.counts["orders"] == 1
        and erasure.pending_recording_sids == []
    )
    assert (
        session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "erase")) == 1
    )


def test_erasing_twice_changes_nothing_and_says_so(runner, session, fake_twilio):
    seed(session, ANNA)
    session.commit()
    assert runner.invoke(main, ["privacy", "erase", ANNA.email, "--yes"]).exit_code == 0
    again = runner.invoke(main, ["privacy", "erase", ANNA.email, "--yes"])
    assert again.exit_code == 0 and "already erased" in again.output
    assert session.scalar(select(func.count()).select_from(Erasure)) == 1


def test_recording_twilio_would_not_delete_is_retried_by_the_purge(runner, session, fake_twilio):
    seed(session, ANNA)
    session.commit()
    fake_twilio.recordings.clear()
    fake_twilio.failures = []
    original = fake_twilio.request

    def unavailable(method, uri, *args, **kwargs):  # type: ignore[no-untyped-def]
        from twilio.http.response import Response

        return Response(503, json.dumps({"code": 20500, "message": "down", "status": 503}))

    fake_twilio.request = unavailable  # type: ignore[method-assign]
    assert runner.invoke(main, ["privacy", "erase", ANNA.phone, "--yes"]).exit_code == 0
    session.rollback()
    assert session.scalars(select(Erasure)).one().pending_recording_sids == [ANNA.recording_sid]
    fake_twilio.request = original  # type: ignore[method-assign]
    fake_twilio.recordings.add(ANNA.recording_sid)
    assert runner.invoke(main, ["privacy", "purge"]).exit_code == 0
    session.rollback()
    assert fake_twilio.deleted_recordings == [ANNA.recording_sid]
    assert session.scalars(select(Erasure)).one().pending_recording_sids == []


def test_export_has_every_table_of_the_person_and_nothing_of_the_bystander(runner, session):
    seeded = seed(session, ANNA)
    seed(session, BERT)
    session.commit()
    result = runner.invoke(main, ["privacy", "export", ANNA.phone])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {t: len(rows) for t, rows in data["tables"].items()} == seeded
    text = json.dumps(data, ensure_ascii=False)
    for trace in ANNA.traces:
        assert trace in text
    for trace in BERT.traces:
        assert trace not in text
    recording = data["tables"]["recordings"][0]
    assert recording["url"].endswith(ANNA.recording_sid)  # a link to the audio
    entry = session.scalars(select(AuditEntry)).one()
    assert (entry.actor, entry.action) == ("cli", "export") and entry.customer_id is not None


def test_a_live_call_goes_on_after_the_erasure_and_is_erased_when_it_ends(
    runner, session, fake_twilio, twilio_post
):
    seed(session, ANNA, live=True)
    session.commit()
    result = runner.invoke(main, ["privacy", "erase", ANNA.phone, "--yes"])
    assert result.exit_code == 0 and "1 live calls" in result.output
    # The caller's next key press is still answered by their flow.
    resp = twilio_post(
        "/twilio/step?n=1", CallSid=ANNA.call_sid, From=ANNA.phone, To="+4930123456", Digits="0"
    )
    assert resp.status_code == 200 and "<Response" in resp.get_data(as_text=True)
    assert "Fehler" not in resp.get_data(as_text=True)
    twilio_post("/twilio/status", CallSid=ANNA.call_sid, CallStatus="completed", CallDuration="60")
    assert runner.invoke(main, ["privacy", "purge"]).exit_code == 0
    session.rollback()
    assert find_traces(session, ANNA) == {}
    assert session.scalars(select(Erasure)).one().pending_call_sids == []


def test_every_table_is_scanned(session):
    # The scan looks at every string and JSON column: a table added later is scanned too.
    assert {t.name for t in Base.metadata.sorted_tables} >= set(entries())
