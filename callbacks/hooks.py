"""Cancel a waiting callback when the customer gets through to an agent in the meantime."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from callbacks.queue import cancel_open_for_phone
from ivr.flows.nodes.routing import CONNECTED
from ivr.models import Interaction, InteractionEvent


@event.listens_for(Session, "before_flush")
def _cancel_when_connected(session: Session, _context: Any, _instances: Any) -> None:
    """A ``route_result`` event saying the caller was bridged cancels their open request."""
    for obj in list(session.new):
        if not (
            isinstance(obj, InteractionEvent)
            and obj.kind == "route_result"
            and (obj.data or {}).get("result") in CONNECTED
        ):
            continue
        with session.no_autoflush:
            interaction = session.get(Interaction, obj.interaction_id)
            if interaction is not None and interaction.from_number:
                cancel_open_for_phone(session, interaction.from_number, "reached_agent")
