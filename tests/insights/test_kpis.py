"""KPIs on hand-built event streams whose right answers are known."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ivr.insights.kpis import PeriodError, compute_kpis, parse_period
from ivr.insights.settings import KpiSettings, KpiSettingsError
from tests.insights.conftest import answered, left_queue_events

SETTINGS = KpiSettings()
T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)  # Monday 10:00 in Berlin (summer time)


def kpis(session, start: str, end: str, by: str | None = None, settings: KpiSettings = SETTINGS):
    return compute_kpis(session, parse_period(start, end, settings), by, settings)


def test_queue_kpis_keep_short_abandons_callbacks_and_ivr_hangups_apart(stream):
    s = stream()
    anna, ben = s.agent(), s.agent("ben@shop.example", "Ben")
    # answered after 10 s, wrapped up 10 s after the talk; answered after 30 s, no disposition
    s.call(T0, "+4915100000001", intent="delivery", events=answered(10, 120, anna, wrapup_after=10))
    s.call(T0, "+4915100000002", intent="delivery", events=answered(30, 60, anna))
    # hung up in the queue after 3 s (short) and after 40 s; left the queue for a callback
    s.call(
        T0,
        "+4915100000003",
        outcome="abandoned",
        events=left_queue_events(33, waited=3),
    )
    s.call(
        T0,
        "+4915100000004",
        outcome="abandoned",
        events=left_queue_events(70, waited=40),
    )
    s.call(
        T0,
        "+4915100000005",
        outcome="callback",
        events=left_queue_events(50, "leave", waited=20),
    )
    # self-served in the IVR; hung up in the IVR (never queued: not an abandon)
    s.call(T0, "+4915100000006", outcome="self_service", intent="order_status")
    s.call(T0, "+4915100000007", outcome="abandoned")
    # transferred: answered by Ben after 5 s, then queued for billing and answered by Anna
    s.call(
        T0,
        "+4915100000008",
        events=[
            *answered(5, 30, ben),
            (70, "queued", {"queue": "billing"}),
            (85, "connected", {"queue": "billing", "agent_id": anna}),
            (125, "agent_call_ended", {"queue": "billing", "talk": 40}),
        ],
    )
    s.session.commit()

    total = kpis(s.session, "2026-05-04", "2026-05-04")["total"]

    assert (total["contacts"], total["queued"], total["answered"]) == (8, 6, 3)
    assert (total["short_abandons"], total["abandoned"], total["queue_to_callback"]) == (1, 1, 1)
    assert total["answered_within_threshold"] == 2  # 10 s and 5 s; 30 s is too late
    assert total["service_level_denominator"] == 4  # 6 queued − 1 short abandon − 1 callback
    assert total["service_level"] == 0.5
    assert total["abandonment_rate"] == 0.25
    assert total["short_abandon_rate"] == 0.2
    assert total["asa_seconds"] == 15.0  # (10 + 30 + 5) / 3: the first answer of the transfer counts
    assert total["longest_wait_seconds"] == 40
    # talk 120 + 60 + 30 + 40; wrap-up 10, then the 30 s automatic limit twice
    assert (total["talk_seconds"], total["wrapup_seconds"]) == (250, 70)
    assert total["aht_seconds"] == round(320 / 3, 1)
    assert total["containment_rate"] == round(1 / 8, 4)
    assert total["by_intent"] == {"none": 5, "delivery": 2, "order_status": 1}


def test_service_level_denominator_is_a_setting(stream):
    s = stream()
    agent = s.agent()
    s.call(T0, "+4915100000001", events=answered(10, 60, agent))
    s.call(
        T0,
        "+4915100000002",
        outcome="abandoned",
        events=left_queue_events(32),
    )
    s.call(
        T0,
        "+4915100000003",
        outcome="abandoned",
        events=left_queue_events(60),
    )
    s.session.commit()
    handled = KpiSettings(service_level_denominator="handled", short_abandon_seconds=0)

    offered = kpis(s.session, "2026-05-04", "2026-05-04")["total"]
    plain = kpis(s.session, "2026-05-04", "2026-05-04", settings=handled)["total"]

    assert (offered["service_level_denominator"], offered["service_level"]) == (2, 0.5)
    assert (plain["service_level_denominator"], plain["service_level"]) == (3, round(1 / 3, 4))
    assert plain["short_abandons"] == 0


def test_repeat_callers_across_midnight_and_the_spring_dst_change(stream):
    s = stream()
    berlin = SETTINGS.zone
    # Saturday 23:50 and again Sunday 00:20 (the night the clocks go forward at 02:00)
    first = s.call(datetime(2026, 3, 28, 23, 50, tzinfo=berlin), "+4915100000001", outcome="self_service")
    s.call(datetime(2026, 3, 29, 0, 20, tzinfo=berlin), "+4915100000001", outcome="self_service")
    # a caller who calls again after 8 days: not a repeat within 7 days
    s.call(datetime(2026, 3, 29, 10, 0, tzinfo=berlin), "+4915100000002", outcome="self_service")
    s.call(datetime(2026, 4, 6, 10, 0, tzinfo=berlin), "+4915100000002")
    # withheld number: no customer, cannot be followed
    s.call(datetime(2026, 3, 29, 11, 0, tzinfo=berlin), None, outcome="self_service")
    s.session.commit()

    result = kpis(s.session, "2026-03-28", "2026-03-29", by="day")

    assert first.started_at.astimezone(UTC).hour == 22  # stored in UTC
    total = result["total"]
    assert (total["contacts"], total["known_customer_contacts"], total["repeat_contacts"]) == (4, 3, 1)
    assert total["fcr_rate"] == round(2 / 3, 4)  # the call 8 days later is outside 7 days (and the period)
    assert total["containment_rate"] == 0.75  # the first call came back within 24 h
    days = {g["key"]: g for g in result["groups"]}
    assert list(days) == ["2026-03-28", "2026-03-29"]
    assert (days["2026-03-28"]["contacts"], days["2026-03-28"]["repeat_contacts"]) == (1, 1)
    assert (days["2026-03-29"]["contacts"], days["2026-03-29"]["fcr_rate"]) == (3, 1.0)
    assert result["from"] == "2026-03-27T23:00:00+00:00" and result["to"] == "2026-03-29T22:00:00+00:00"

    hours = kpis(s.session, "2026-03-29", "2026-03-29", by="hour")["groups"]
    assert len(hours) == 23  # 02:00 does not exist that day
    assert [g["key"] for g in hours[:3]] == [
        "2026-03-29T00:00+01:00",
        "2026-03-29T01:00+01:00",
        "2026-03-29T03:00+02:00",
    ]
    assert hours[0]["contacts"] == 1


def test_the_autumn_dst_day_has_25_hours_and_two_two_oclocks(stream):
    s = stream()
    s.call(datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "+4915100000001")  # 02:30 summer time
    s.call(datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "+4915100000002")  # 02:30 winter time
    s.session.commit()

    result = kpis(s.session, "2026-10-25", "2026-10-25", by="hour")

    keys = [g["key"] for g in result["groups"]]
    assert len(keys) == 25
    counts = {g["key"]: g["contacts"] for g in result["groups"]}
    assert counts["2026-10-25T02:00+02:00"] == 1 and counts["2026-10-25T02:00+01:00"] == 1


def test_ivr_exits_after_no_input_and_voicemails_are_not_contained(stream):
    s = stream()
    s.call(
        T0,
        "+4915100000001",
        outcome="completed",
        events=[
            (5, "no_input", {"node": "main", "attempt": 1}),
            (10, "no_input", {"node": "main", "attempt": 2}),
            (10, "route", {"node": "main", "next": "goodbye", "reason": "retries exhausted"}),
        ],
    )
    s.call(T0, "+4915100000002", outcome="completed", events=[(20, "voicemail", {"node": "vm"})])
    s.call(T0, "+4915100000003", outcome="self_service", events=[(5, "route", {"node": "main", "key": "1"})])
    s.call(T0, "+4915100000004", outcome="completed", events=[(5, "route", {"node": "main", "speech": True})])
    s.session.commit()

    total = kpis(s.session, "2026-05-04", "2026-05-04")["total"]

    assert (total["self_served"], total["contained"]) == (2, 2)
    assert total["containment_rate"] == 0.5
    assert total["by_entry"] == {"direct": 2, "key 1": 1, "speech": 1}


def test_csat_nps_and_resolved_come_from_the_in_call_survey_per_agent(stream):
    s = stream()
    anna, ben = s.agent(), s.agent("ben@shop.example", "Ben")

    def survey(agent: int, *answers: tuple[str, int]):
        return [
            (400 + i, "survey_answer", {"question": q, "value": v, "agent_id": agent})
            for i, (q, v) in enumerate(answers)
        ]

    s.call(
        T0,
        "+4915100000001",
        events=[*answered(5, 60, anna), *survey(anna, ("csat", 5), ("nps", 10), ("resolved", 1))],
    )
    s.call(
        T0,
        "+4915100000002",
        events=[*answered(5, 60, anna), *survey(anna, ("csat", 4), ("nps", 7), ("resolved", 0))],
    )
    s.call(T0, "+4915100000003", events=[*answered(5, 60, ben), *survey(ben, ("csat", 2), ("nps", 3))])
    s.call(T0, "+4915100000004", events=[*answered(5, 60, ben), (300, "survey_consent", {"accepted": False})])
    s.session.commit()

    result = kpis(s.session, "2026-05-04", "2026-05-04", by="agent")

    total = result["total"]
    assert (total["csat_answers"], total["csat"], total["csat_mean"]) == (
        3,
        round(2 / 3, 4),
        round(11 / 3, 1),
    )
    assert (total["nps_answers"], total["nps"]) == (3, 0.0)  # 1 promoter, 1 detractor of 3
    assert (total["resolved_answers"], total["resolved_rate"]) == (2, 0.5)
    agents = {g["key"]: g for g in result["groups"]}
    assert (agents[str(anna)]["csat"], agents[str(anna)]["nps"], agents[str(anna)]["handled"]) == (
        1.0,
        50.0,
        2,
    )
    assert (agents[str(ben)]["csat"], agents[str(ben)]["nps"], agents[str(ben)]["handled"]) == (
        0.0,
        -100.0,
        2,
    )


def test_utilisation_from_the_presence_log_clipped_to_the_period(stream):
    s = stream()
    anna = s.agent()
    at = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    s.presence(
        anna,
        [
            (at - timedelta(hours=2), "available"),  # on duty before the period starts
            (at + timedelta(minutes=10), "busy"),
            (at + timedelta(minutes=20), "wrapup"),
            (at + timedelta(minutes=30), "available"),
            (at + timedelta(minutes=40), "break"),
            (at + timedelta(minutes=50), "available"),
            (at + timedelta(minutes=60), "offline"),
        ],
    )
    s.session.commit()

    total = kpis(s.session, "2026-05-04T09:00Z", "2026-05-04T11:00Z", by="agent")["total"]

    states = total["utilisation"]["seconds_by_state"]
    assert states == {"available": 1800.0, "break": 600.0, "busy": 600.0, "offline": 3600.0, "wrapup": 600.0}
    assert total["utilisation"]["utilisation"] == 0.4  # 20 of 50 minutes on duty


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("", "2026-05-04", "give from and to"),
        ("2026-05-05", "2026-05-04", "after"),
        ("2026-05-04T10:00", "2026-05-05", "offset"),
        ("yesterday", "2026-05-05", "neither a date"),
        ("2026-01-01", "2026-12-31", "at most"),
    ],
)
def test_bad_periods_are_refused_with_a_reason(start, end, message):
    with pytest.raises(PeriodError, match=message):
        parse_period(start, end, SETTINGS)


def test_bad_settings_name_the_variable():
    with pytest.raises(KpiSettingsError, match="IVR_KPI_SERVICE_LEVEL_SECONDS"):
        KpiSettings.from_config({"KPI_SERVICE_LEVEL_SECONDS": "soon"})
    with pytest.raises(KpiSettingsError, match="DENOMINATOR"):
        KpiSettings.from_config({"KPI_SERVICE_LEVEL_DENOMINATOR": "everything"})
    assert KpiSettings.from_config({"KPI_FCR_DAYS": "3"}).fcr_days == 3


def test_callback_figures_requests_reached_kept_and_attempts(app, stream):
    from callbacks.models import CallbackRequest

    s = stream()
    due = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)

    def request(phone: str, status: str, dials: int, done: datetime) -> None:
        s.session.add(
            CallbackRequest(
                phone=phone,
                status=status,
                dials=dials,
                requested_at=due - timedelta(hours=1),
                due_at=due,
                next_attempt_at=due,
                position_at=due,
                updated_at=done,
            )
        )

    request("+4915100000001", "completed", 1, due + timedelta(hours=1))  # reached the same day
    request("+4915100000002", "completed", 3, due + timedelta(days=1))  # reached, but a day late
    request("+4915100000003", "no_answer", 4, due + timedelta(hours=5))
    request("+4915100000004", "queued", 0, due)
    s.session.commit()

    figures = kpis(s.session, "2026-05-04", "2026-05-04")["total"]["callbacks"]

    assert (figures["requests"], figures["reached"], figures["kept_within_window"], figures["open"]) == (
        4,
        2,
        1,
        1,
    )
    assert figures["attempts_per_success"] == 4.0  # 8 dials for 2 customers reached
