"""Order status as menu option 1 of the shipped hotline."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ivr.flows.store import SHIPPED_FLOWS
from ivr.models import Interaction
from tests.orders.conftest import CALLER

WIRED = "type: order_status" in (SHIPPED_FLOWS / "hotline.yaml").read_text(encoding="utf-8")


@pytest.mark.skipif(not WIRED, reason="call_flows/hotline.yaml does not route option 1 to order_status yet")
def test_a_verified_caller_is_answered_and_the_call_counts_as_self_service(phone, create_order, session):
    create_order("4711")
    caller = phone(CALLER)
    caller.dial()
    caller.press("1")
    assert "Ihre Bestellung vom 12. November: drücken Sie die 1" in caller.heard
    caller.press("1")
    assert "ist unterwegs mit DHL. Sie kommt voraussichtlich am Donnerstag, dem 26. November." in caller.heard
    caller.silence()
    assert caller.turn.verb == "Hangup"
    caller.hang_up()
    interaction = session.scalar(select(Interaction).where(Interaction.call_sid == caller.call_sid))
    assert interaction.outcome == "self_service"
