"""Queue rules on their own: which numbers we call, when we try again, one request per number, priority."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from callbacks.models import CANCELLED, QUEUED, CallbackRequest
from callbacks.numbers import check_callback_number
from callbacks.policy import next_attempt_after_failure, schedule_of
from callbacks.queue import NewRequest, cancel_request, list_queue, request_callback
from callbacks.settings import Settings
from ivr.db import transaction
from ivr.history import get_or_create_customer
from ivr.models import Interaction
from tests.callbacks.conftest import OFFICE, TUESDAY_10

BERLIN = ZoneInfo("Europe/Berlin")
PHONE = "+4915112345678"


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as s:
        yield s


def ask(
    session: Session,
    phone: str = PHONE,
    at: datetime = TUESDAY_10,
    settings: Settings | None = None,
    **fields: object,
) -> tuple[str, CallbackRequest | None]:
    """One request, committed as a webhook would; returns its outcome and the caller's open request."""
    result = request_callback(
        session,
        NewRequest(phone=phone, **fields),
        at,  # type: ignore[arg-type]
        settings or Settings(),
    )
    session.commit()
    return result.outcome, result.request


# --- numbers


@pytest.mark.parametrize(
    ("raw", "e164", "problem"),
    [
        ("+49 151 12345678", "+4915112345678", None),
        ("030 1234567", "+49301234567", None),
        ("0151/12345678", "+4915112345678", None),
        ("0900 1234567", None, "premium"),  # premium rate
        ("0137 1234567", None, "premium"),  # televoting, charged per call
        ("+44 7911 123456", None, "foreign"),
        ("+43 664 1234567", None, "foreign"),
        ("12", None, "invalid"),
        ("anonymous", None, "invalid"),
        ("", None, "invalid"),
        ("0" * 40, None, "invalid"),
    ],
)
def test_which_numbers_we_call_back(raw: str, e164: str | None, problem: str | None) -> None:
    check = check_callback_number(raw, "DE", ("DE",))
    assert (check.e164, check.problem) == (e164, problem)


def test_allowed_regions_are_a_policy() -> None:
    assert check_callback_number("+43 664 1234567", "DE", ("DE", "AT")).e164 == "+436641234567"
    assert check_callback_number("+43 900 123456", "DE", ("DE", "AT")).problem == "premium"


# --- when to try again


def berlin(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


def test_backoff_is_15_minutes_then_an_hour_then_we_give_up() -> None:
    office = schedule_of(OFFICE)
    now = berlin(2026, 11, 24, 10, 0)
    assert next_attempt_after_failure(now, 1, "asap", office) == berlin(2026, 11, 24, 10, 15)
    assert next_attempt_after_failure(now, 2, "asap", office) == berlin(2026, 11, 24, 11, 0)
    assert next_attempt_after_failure(now, 3, "asap", office) is None


def test_a_retry_after_closing_moves_to_the_next_opening() -> None:
    office = schedule_of(OFFICE)  # Monday to Friday, 08:00-18:00
    friday_evening = berlin(2026, 11, 27, 17, 55)
    assert next_attempt_after_failure(friday_evening, 1, "asap", office) == berlin(2026, 11, 30, 8, 0)


def test_a_retry_skips_public_holidays() -> None:
    office = schedule_of(OFFICE)
    # Friday before Whitsun 2027: Saturday and Sunday closed, Whit Monday a public holiday.
    assert next_attempt_after_failure(berlin(2027, 5, 14, 17, 50), 1, "asap", office) == berlin(
        2027, 5, 18, 8, 0
    )
    # Christmas Eve 2026 (a Thursday): the 25th is a holiday, then the weekend.
    assert next_attempt_after_failure(berlin(2026, 12, 24, 17, 30), 2, "asap", office) == berlin(
        2026, 12, 28, 8, 0
    )


def test_a_retry_stays_in_the_callers_window() -> None:
    office = schedule_of(OFFICE)
    late_morning = berlin(2026, 11, 24, 11, 50)
    assert next_attempt_after_failure(late_morning, 1, "morning", office) == berlin(2026, 11, 25, 8, 0)
    assert next_attempt_after_failure(late_morning, 1, "afternoon", office) == berlin(2026, 11, 24, 12, 5)


# --- one open request per number


def test_a_second_request_updates_the_first(session: Session) -> None:
    first, request = ask(session, window="afternoon", reason="delivery")
    assert first == "created" and request is not None
    second, again = ask(session, at=TUESDAY_10 + timedelta(minutes=30), window="asap", intent="complaint")
    assert second == "updated" and again is not None and again.id == request.id
    [open_request] = list_queue(session)
    assert (open_request.updates, open_request.window, open_request.reason) == (1, "asap", "delivery")
    assert open_request.position_at == TUESDAY_10  # the first request's place
    assert open_request.next_attempt_at == TUESDAY_10 + timedelta(minutes=30)
    assert open_request.priority == 2  # a complaint now


def test_an_update_does_not_cut_a_retrys_backoff(session: Session) -> None:
    _, request = ask(session)
    assert request is not None
    request.attempts, request.next_attempt_at = 1, TUESDAY_10 + timedelta(minutes=15)
    session.commit()
    ask(session, at=TUESDAY_10 + timedelta(minutes=5))
    session.refresh(request)
    assert (request.attempts, request.next_attempt_at) == (1, TUESDAY_10 + timedelta(minutes=15))


def test_a_closed_request_does_not_block_a_new_one(session: Session) -> None:
    _, request = ask(session)
    assert request is not None
    cancel_request(session, request.id, "by customer")
    session.commit()
    outcome, new = ask(session, at=TUESDAY_10 + timedelta(minutes=1))
    assert outcome == "created" and new is not None and new.id != request.id
    assert sorted(r.status for r in list_queue(session, (QUEUED, CANCELLED))) == [CANCELLED, QUEUED]


# --- priority


def test_complaints_and_repeat_callers_go_first(session: Session) -> None:
    ask(session, phone="+4915100000001")
    ask(session, phone="+4915100000002", intent="complaint", at=TUESDAY_10 + timedelta(minutes=1))
    regular = get_or_create_customer(session, "+4915100000003")
    assert regular is not None
    session.add_all(
        Interaction(
            customer_id=regular.id, from_number="+4915100000003", started_at=TUESDAY_10 - timedelta(days=d)
        )
        for d in (1, 2)
    )
    session.commit()
    ask(session, phone="+4915100000003", at=TUESDAY_10 + timedelta(minutes=2))
    assert [r.phone for r in list_queue(session)] == ["+4915100000002", "+4915100000003", "+4915100000001"]


# --- floods


def test_per_number_limit(session: Session) -> None:
    outcomes = [ask(session, at=TUESDAY_10 + timedelta(minutes=m))[0] for m in range(4)]
    assert outcomes == ["created", "updated", "updated", "rate_limited"]
    assert ask(session, at=TUESDAY_10 + timedelta(minutes=61))[0] == "updated"  # an hour later
    assert len(list_queue(session)) == 1


def test_global_limit_refuses_new_numbers_but_lets_waiting_callers_update(session: Session) -> None:
    settings = Settings(global_per_hour=3)
    outcomes = [ask(session, phone=f"+491510000000{i}", settings=settings)[0] for i in range(4)]
    assert outcomes == ["created", "created", "created", "busy"]
    assert ask(session, phone="+4915100000000", settings=settings)[0] == "updated"
    assert len(list_queue(session)) == 3


def test_per_caller_limit_counts_every_number_one_caller_asks_for(session: Session) -> None:
    strangers = [f"+491510000000{i}" for i in range(4)]
    outcomes = [ask(session, phone=p, caller=PHONE)[0] for p in strangers]
    assert outcomes == ["created", "created", "created", "caller_limited"]
    assert ask(session, phone=strangers[3], caller="+4917600000001")[0] == "created"  # someone else may
    assert ask(session, phone="+4915100000009", at=TUESDAY_10 + timedelta(minutes=61), caller=PHONE)[0] == (
        "created"  # an hour later
    )


def test_withheld_callers_share_one_limit(session: Session) -> None:
    settings = Settings(withheld_per_hour=2)
    outcomes = [
        ask(session, phone=f"+491510000000{i}", caller="withheld", settings=settings)[0] for i in range(3)
    ]
    assert outcomes == ["created", "created", "caller_limited"]


def test_refused_requests_do_not_use_up_the_global_limit(session: Session) -> None:
    settings = Settings(global_per_hour=2)
    outcomes = [ask(session, at=TUESDAY_10 + timedelta(minutes=m), settings=settings)[0] for m in range(6)]
    assert outcomes == ["created", "updated", "updated", "rate_limited", "rate_limited", "rate_limited"]
    assert ask(session, phone="+4915100000001", settings=settings)[0] == "created"
    assert ask(session, phone="+4915100000002", settings=settings)[0] == "busy"  # two new ones: full


def test_simultaneous_requests_from_one_caller_respect_its_limit(sessions: sessionmaker[Session]) -> None:
    start = threading.Barrier(6)

    def request(i: int) -> str:
        with sessions() as session:
            start.wait()
            with transaction(session):
                new = NewRequest(phone=f"+491510000000{i}", caller=PHONE)
                return request_callback(session, new, TUESDAY_10, Settings()).outcome

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(request, range(6)))
    assert sorted(outcomes) == ["caller_limited"] * 3 + ["created"] * 3
    with sessions() as session:
        assert len(list_queue(session)) == 3
