"""Retention: what is past its kind's limit goes, the rest stays, and the KPIs keep their counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from callbacks.models import CallbackRequest
from ivr.cli import main
from ivr.config import ConfigError
from ivr.db import session_factory
from ivr.models import Customer, Interaction, InteractionEvent
from ivr.models._types import utcnow
from ivr.privacy.models import Recording, Transcript
from ivr.privacy.retention import DEFAULT_RETENTION_DAYS, retention_days
from ivr.privacy.service import PurgeSchedule
from tests.privacy.conftest import ANNA, BERT, find_traces, seed


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_purge_deletes_what_is_due_and_keeps_recent_data_and_the_counts(app, runner, session, fake_twilio):
    now = app.config["CLOCK"]()
    seed(session, ANNA, at=now - timedelta(days=800))  # older than every default
    seed(session, BERT, at=now - timedelta(days=1))
    session.commit()

    dry = runner.invoke(main, ["privacy", "purge", "--dry-run"])
    assert (
        dry.exit_code == 0 and "transcripts (kept 90 days): 1 heard_speech, 1 transcripts due" in dry.output
    )
    assert fake_twilio.deleted_recordings == [] and _count(session, Transcript) == 2

    result = runner.invoke(main, ["privacy", "purge"])

    assert result.exit_code == 0, result.output
    assert "voicemails (kept 30 days): 1 recordings, 1 voicemails purged" in result.output
    assert (
        "history (kept 730 days): 1 contact_consents, 1 customer_merges, 1 customers, 2 interactions purged"
        in result.output
    )
    assert "surveys (kept 365 days): 1 interaction_events purged" in result.output
    assert "returns (kept 180 days): 1 return_deliveries, 1 returns purged" in result.output
    session.rollback()
    assert find_traces(session, ANNA) == {}
    assert set(find_traces(session, BERT)) >= {"customers.phone", "transcripts.text", "orders.email"}
    assert _count(session, Interaction) == 4  # both calls (and e-mails) still count in the KPIs
    assert fake_twilio.deleted_recordings == [ANNA.recording_sid]
    again = runner.invoke(main, ["privacy", "purge"])
    assert again.output.strip() == "nothing purged"


def test_open_callback_requests_are_never_purged(app, session, runner, fake_twilio):
    now = app.config["CLOCK"]()
    seed(session, ANNA, at=now - timedelta(days=800))
    session.execute(CallbackRequest.__table__.update().values(status="queued"))
    session.commit()
    assert runner.invoke(main, ["privacy", "purge"]).exit_code == 0
    session.rollback()
    assert _count(session, CallbackRequest) == 1
    # ... and the customer it is for stays too.
    assert _count(session, Customer) == 1


def test_each_kind_has_its_own_limit(app, session, runner, fake_twilio):
    now = app.config["CLOCK"]()
    seed(session, ANNA, at=now - timedelta(days=10))
    session.commit()
    app.config["RETENTION_DAYS"] = {**DEFAULT_RETENTION_DAYS, "transcripts": 5}
    result = runner.invoke(main, ["privacy", "purge"])
    assert "transcripts (kept 5 days)" in result.output
    session.rollback()
    assert _count(session, Transcript) == 0
    assert _count(session, Recording) == 1 and _count(session, InteractionEvent) == 3


def test_retention_is_configured_per_kind_and_bad_values_stop_start_up():
    assert retention_days({"IVR_RETENTION_TRANSCRIPTS_DAYS": "14"})["transcripts"] == 14
    with pytest.raises(ConfigError, match="IVR_RETENTION_ORDERS_DAYS"):
        retention_days({"IVR_RETENTION_ORDERS_DAYS": "-3"})
    with pytest.raises(ConfigError):
        retention_days({"IVR_RETENTION_RECORDINGS_DAYS": "forever"})


def test_the_worker_purges_once_per_interval(app, session, fake_twilio):
    now = app.config["CLOCK"]()
    seed(session, ANNA, at=now - timedelta(days=800))
    session.commit()
    schedule = PurgeSchedule.from_config(session_factory(app), app.config)
    assert schedule is not None
    first = schedule.maybe_run(utcnow())
    assert first is not None and first.counts["transcripts"]["transcripts"] == 1
    assert schedule.maybe_run(utcnow() + timedelta(minutes=5)) is None
    app.config["PURGE_INTERVAL_HOURS"] = 0
    assert PurgeSchedule.from_config(session_factory(app), app.config) is None


def test_a_call_still_in_progress_keeps_what_it_needs(app, session, runner, fake_twilio):
    from ivr.desk.models import Task
    from ivr.models import Call

    now = app.config["CLOCK"]()
    seed(session, ANNA, at=now - timedelta(days=800), live=True)
    seed(session, BERT, at=now - timedelta(days=800))  # abandoned: ended, flow unfinished; goes
    old = now - timedelta(days=800)
    session.execute(Call.__table__.update().values(finished=False, updated_at=old))
    session.commit()
    assert runner.invoke(main, ["privacy", "purge"]).exit_code == 0
    session.rollback()
    assert session.scalars(select(Call.call_sid)).all() == [ANNA.call_sid]
    assert session.scalars(select(Task.call_sid)).all() == [ANNA.call_sid]


def test_a_bad_purge_interval_stops_start_up(monkeypatch, tmp_path):
    from ivr.config import load_config

    monkeypatch.setenv("IVR_PURGE_INTERVAL_HOURS", "hourly")
    with pytest.raises(ConfigError, match="IVR_PURGE_INTERVAL_HOURS"):
        load_config(str(tmp_path))
    monkeypatch.setenv("IVR_PURGE_INTERVAL_HOURS", "0")
    assert load_config(str(tmp_path))["PURGE_INTERVAL_HOURS"] == 0


def test_survey_answers_are_kept_as_surveys_not_as_traces(app, session, runner, fake_twilio):
    now = app.config["CLOCK"]()
    seed(session, ANNA, at=now - timedelta(days=100))  # past "traces" (90), within "surveys" (365)
    session.commit()
    assert runner.invoke(main, ["privacy", "purge"]).exit_code == 0
    session.rollback()
    assert session.scalars(select(InteractionEvent.kind)).all() == ["survey_answer"]


def test_a_return_not_yet_refunded_is_not_purged(app, session, runner, fake_twilio):
    from ivr.returns.models import ReturnDelivery, ReturnRequest

    now = app.config["CLOCK"]()
    seed(session, ANNA, at=now - timedelta(days=800))
    session.execute(ReturnRequest.__table__.update().values(state="label_sent"))
    session.commit()
    assert runner.invoke(main, ["privacy", "purge"]).exit_code == 0
    session.rollback()
    assert _count(session, ReturnRequest) == 1 and _count(session, ReturnDelivery) == 0
    # ... and the customer it is for stays too.
    assert _count(session, Customer) == 1
