"""A request's unit of work: driver statements and ORM work commit together, or not at all."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.db import after_commit, get_session, insert_row, session_factory, unit_of_work
from ivr.models import Customer, Interaction


def _counts(app: Flask) -> tuple[int, int]:
    with session_factory(app)() as session:
        customers = session.scalar(select(func.count()).select_from(Customer))
        interactions = session.scalar(select(func.count()).select_from(Interaction))
    return customers or 0, interactions or 0


def _write_both(session: Session) -> Customer:
    """An ORM insert and a driver-cursor insert of a row that refers to it."""
    assert get_session() is session  # the request's session
    customer = Customer(phone="+4915112345678", name="Kunde")
    session.add(customer)
    session.flush()
    insert_row(session, Interaction, {"customer_id": customer.id, "channel": "email", "subject": "Paket"})
    return customer


def test_orm_and_driver_writes_commit_together(app: Flask) -> None:
    committed: list[str] = []
    with app.test_request_context():
        with unit_of_work() as session:
            customer = _write_both(session)
            after_commit(session, lambda: committed.append("sent"))
            assert committed == []
        assert committed == ["sent"]
        # Later in the request the session reads on: the customer's history loads lazily.
        assert [i.subject for i in customer.interactions] == ["Paket"]
    assert _counts(app) == (1, 1)


def test_an_error_rolls_back_orm_and_driver_writes(app: Flask) -> None:
    committed: list[str] = []
    with app.test_request_context():
        with pytest.raises(RuntimeError), unit_of_work() as session:
            _write_both(session)
            after_commit(session, lambda: committed.append("sent"))
            raise RuntimeError("the flow failed")
        # The request's session is usable afterwards (a webhook's fallback path).
        assert get_session().scalar(select(func.count()).select_from(Customer)) == 0
    assert committed == []
    assert _counts(app) == (0, 0)


def test_a_commit_inside_does_not_end_the_unit_early(app: Flask) -> None:
    with app.test_request_context(), pytest.raises(RuntimeError), unit_of_work() as session:
        _write_both(session)
        session.commit()
        raise RuntimeError("after the commit")
    assert _counts(app) == (0, 0)


def test_a_second_unit_in_one_request_commits_on_its_own(app: Flask) -> None:
    with app.test_request_context():
        with unit_of_work() as session:
            _write_both(session)
        with pytest.raises(RuntimeError), unit_of_work() as session:
            session.add(Customer(phone="+4915187654321"))
            raise RuntimeError("the second one fails")
    assert _counts(app) == (1, 1)
