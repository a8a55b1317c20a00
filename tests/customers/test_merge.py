"""Merging two records of one person keeps both histories (every table that points at customers)."""

from __future__ import annotations

from sqlalchemy import func, select

import ivr.plugins  # noqa: F401  (every capability's tables are in the metadata)
from callbacks.models import CallbackRequest
from ivr.cli import main
from ivr.db import Base
from ivr.models import Customer, CustomerMerge, Interaction, Order
from ivr.models._types import utcnow


def fresh(session):
    """Forget what the test session read before: the next reads see what the commands did."""
    session.rollback()
    session.expire_all()


def _seed(session):
    """Erika called (known by phone) and wrote a ticket (known by e-mail): two records."""
    by_phone = Customer(phone="+4915112345678", name="Erika Mustermann")
    by_email = Customer(email="erika@example.de")
    session.add_all([by_phone, by_email])
    session.flush()
    now = utcnow()
    session.add_all(
        [
            Interaction(customer_id=by_phone.id, channel="voice", call_sid="CA" + "1" * 32, started_at=now),
            Interaction(
                customer_id=by_email.id, channel="ticket", subject="Paket beschädigt", started_at=now
            ),
            Order(order_number="4711", customer_id=by_email.id, status="shipped"),
            CallbackRequest(
                phone="+4915112345678",
                customer_id=by_email.id,
                due_at=now,
                next_attempt_at=now,
                language="de",
            ),
        ]
    )
    session.commit()
    return by_phone.id, by_email.id


def _references(session, customer_id):
    """How many rows of any table still point at ``customer_id``."""
    total = 0
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == "customers":
                total += session.scalar(
                    select(func.count()).select_from(table).where(fk.parent == customer_id)
                )
    return total


def test_merge_from_the_cli_keeps_both_histories(runner, session, client, make_key):
    keep, other = _seed(session)
    result = runner.invoke(main, ["customers", "merge", str(keep), str(other)])
    assert result.exit_code == 0, result.output
    fresh(session)
    assert session.get(Customer, other) is None
    kept = session.get(Customer, keep)
    assert (kept.phone, kept.email, kept.name) == ("+4915112345678", "erika@example.de", "Erika Mustermann")
    assert _references(session, other) == 0
    assert session.scalar(select(Order.customer_id).where(Order.order_number == "4711")) == keep
    assert session.scalar(select(CallbackRequest.customer_id)) == keep
    merge = session.scalars(select(CustomerMerge)).one()
    assert (merge.merged_id, merge.into_id, merge.merged_by) == (other, keep, "cli")

    headers = make_key("history")
    history = client.get(f"/api/customers/{keep}/history", headers=headers).json
    assert sorted(e["channel"] for e in history["interactions"]) == ["ticket", "voice"]
    assert history["customer"]["merged_from"] == [other]
    # The old id still leads to the person, e.g. from a ticket that stored it.
    old = client.get(f"/api/customers/{other}/history", headers=headers).json
    assert old["customer"]["id"] == keep and len(old["interactions"]) == 2
    by_order = client.post("/api/customers/search", json={"order": "4711"}, headers=headers).json
    assert [c["id"] for c in by_order["customers"]] == [keep]


def test_merging_again_into_a_third_record_follows_the_chain(runner, session):
    keep, other = _seed(session)
    third = Customer(name="E. Mustermann")
    session.add(third)
    session.commit()
    third_id = third.id
    assert runner.invoke(main, ["customers", "merge", str(keep), str(other)]).exit_code == 0
    assert runner.invoke(main, ["customers", "merge", str(third_id), str(keep)]).exit_code == 0
    fresh(session)
    assert (
        session.scalar(
            select(func.count()).select_from(Interaction).where(Interaction.customer_id == third_id)
        )
        == 2
    )
    assert set(session.scalars(select(CustomerMerge.into_id))) == {third_id}
    kept = session.get(Customer, third_id)
    assert (kept.name, kept.phone) == ("E. Mustermann", "+4915112345678")


def test_merge_refuses_nonsense(runner, session):
    keep, _other = _seed(session)
    same = runner.invoke(main, ["customers", "merge", str(keep), str(keep)])
    assert same.exit_code != 0 and "itself" in same.output
    missing = runner.invoke(main, ["customers", "merge", str(keep), "999999"])
    assert missing.exit_code != 0 and "no customer 999999" in missing.output
    fresh(session)
    assert session.scalar(select(func.count()).select_from(Customer)) == 2


def test_find_from_the_cli_by_order_phone_or_name(runner, session):
    import json

    keep, other = _seed(session)
    for text, expected in (("4711", [other]), ("0151 12345678", [keep]), ("muster", [keep]), ("nobody", [])):
        result = runner.invoke(main, ["customers", "find", text])
        assert result.exit_code == 0, result.output
        assert [c["id"] for c in json.loads(result.output)] == expected, text
