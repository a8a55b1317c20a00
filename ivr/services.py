"""Plug-in services that flow nodes reach through ``ctx.services`` (orders, callbacks, ...)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.models import Interaction

#: name → factory(services) building the service for one webhook.
SERVICE_FACTORIES: dict[str, Callable[[Services], Any]] = {}


def register_service(name: str, factory: Callable[[Services], Any]) -> None:
    """Make a service available to nodes as ``ctx.services.get(name)``."""
    SERVICE_FACTORIES[name] = factory


@dataclass
class Services:
    """What nodes may use beyond the call state, created per webhook."""

    session: Session
    config: dict[str, Any]
    call_sid: str
    caller: str | None = None
    #: How callers' speech reaches us: twilio (<Gather input=speech>), record, stream, or off.
    speech_capture: str = "off"
    #: A console test call: services act as for a real call but leave no lasting effect.
    test: bool = False
    #: The call's history entry, as the webhook loaded (and locked) it.
    interaction: Interaction | None = None
    _built: dict[str, Any] = field(default_factory=dict)

    @property
    def speech_gather(self) -> bool:
        """Whether <Gather> can take speech (Twilio's recogniser)."""
        return self.speech_capture == "twilio"

    def call_interaction(self) -> Interaction | None:
        """The call's history entry: the webhook's (no query), else looked up by CallSid."""
        if self.interaction is None:
            self.interaction = self.session.scalar(
                select(Interaction).where(Interaction.call_sid == self.call_sid)
            )
        return self.interaction

    def get(self, name: str) -> Any:
        """The named service, built on first use (KeyError if none is registered)."""
        if name not in self._built:
            self._built[name] = SERVICE_FACTORIES[name](self)
        return self._built[name]
