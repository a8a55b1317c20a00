"""Cancel a waiting callback when the customer gets through to an agent in the meantime."""

from __future__ import annotations

from sqlalchemy.orm import Session

from callbacks.queue import cancel_open_for_phone
from ivr.flows.nodes.routing import CONNECTED
from ivr.flows.steps import Event
from ivr.history import on_events_logged
from ivr.models import Interaction


@on_events_logged
def _cancel_when_connected(session: Session, interaction: Interaction, events: list[Event]) -> None:
    """A ``route_result`` event saying the caller was bridged cancels their open request."""
    connected = any(e.kind == "route_result" and e.data.get("result") in CONNECTED for e in events)
    if connected and interaction.from_number:
        cancel_open_for_phone(session, interaction.from_number, "reached_agent")
