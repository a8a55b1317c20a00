"""The callback queue worked from the desk: take the next due request, call, record the outcome.

A console user *is* a callback agent: their ``agents`` row (the dialer's profile) is linked to
their account (``user_id``, migration 0010) and kept in step with it: name, device (phone or
softphone identity), disabled. The dialer rings them only while they are available on the desk
and sets them busy there; "Call now" puts the request they took through the same dialer,
agent first: their device rings, then the customer is dialled.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from callbacks.claiming import DialPlan, claim_for_agent, release_claims, start_attempt
from callbacks.dialer import CredentialsRejected, Dialer
from callbacks.models import CLAIMED, DIALING, CallbackRequest
from callbacks.queue import CallbackError, complete_request
from callbacks.settings import Settings
from callbacks.telephony import make_client
from ivr.db import session_factory
from ivr.desk.models import User
from ivr.desk.routing import device_of
from ivr.models.agent import Agent

log = logging.getLogger(__name__)


def agent_profile(session: Session, user: User) -> Agent:
    """The user's dialer profile, created or kept in step with their account."""
    agent = session.scalar(select(Agent).where(Agent.user_id == user.id))
    device = device_of(user)
    if agent is None:
        # An ``ivr agents`` row with the user's e-mail as its name becomes theirs.
        agent = session.scalar(select(Agent).where(Agent.name == user.email, Agent.user_id.is_(None)))
    if agent is None:
        agent = Agent(name=user.email[:100], phone=device, user_id=user.id, active=not user.disabled)
        session.add(agent)
        session.flush()
        return agent
    agent.user_id, agent.name, agent.phone, agent.active = (
        user.id,
        user.email[:100],
        device,
        not user.disabled,
    )
    return agent


def _profile_of(session: Session, user: User) -> Agent | None:
    return session.scalar(
        select(Agent).where(
            or_(Agent.user_id == user.id, (Agent.name == user.email) & Agent.user_id.is_(None))
        )
    )


def my_callback(session: Session, user: User) -> CallbackRequest | None:
    """The request this user has taken and not finished (also while the dialer calls it)."""
    agent = _profile_of(session, user)
    if agent is None:
        return None
    return session.scalar(
        select(CallbackRequest)
        .where(
            CallbackRequest.agent_id == agent.id,
            CallbackRequest.status.in_((CLAIMED, DIALING)),
            CallbackRequest.claimed_by == f"agent:{agent.name}",
        )
        .limit(1)
    )


@dataclass(frozen=True)
class CallNow:
    """The dialer's plan for the user's request, and the worker name it was claimed under."""

    plan: DialPlan
    worker: str


def call_now(session: Session, user: User, request_id: int, now: datetime, lease: timedelta) -> CallNow:
    """Start the dialer's attempt on the request this user took, with this user as the agent."""
    current = my_callback(session, user)
    if current is None or current.id != request_id or current.status != CLAIMED:
        raise CallbackError("This callback is not yours to call.")
    agent = agent_profile(session, user)
    worker = f"agent:{agent.name}"
    plan = start_attempt(session, request_id, worker, now, lease, agent_id=agent.id)
    if not isinstance(plan, DialPlan):
        raise CallbackError("You are on another call; try again when it has ended.")
    return CallNow(plan, worker)


def take_next(session: Session, user: User, now: datetime, lease: timedelta) -> CallbackRequest | None:
    """Claim the most urgent due request for this user (exactly once); None if nothing is due."""
    current = my_callback(session, user)
    if current is not None:
        return current
    agent = agent_profile(session, user)
    return claim_for_agent(session, agent.id, now, lease)


def finish(session: Session, user: User, request_id: int, note: str, now: datetime) -> CallbackRequest:
    """The user talked to the customer: the request they took is completed with their note."""
    current = my_callback(session, user)
    if current is None or current.id != request_id:
        raise CallbackError("This callback is not yours to complete.")
    return complete_request(session, request_id, note.strip() or None, now)


def give_back(session: Session, user: User) -> int:
    """The user could not reach the customer by hand: the request goes back to the queue."""
    request = my_callback(session, user)
    if request is None:
        return 0
    return release_claims(session, f"agent:{user.email}", [request.id])


def place(app: Any, started: CallNow, public_url: str) -> None:
    """After the commit: the dialer places the agent-first call (a refused call is re-queued)."""
    config = app.config
    settings = Settings.from_config(config)
    dialer = Dialer(
        session_factory(app),
        make_client(config, config.get("TWILIO_HTTP_CLIENT")),
        settings,
        public_url,
        settings.caller_id or config.get("CALLBACK_CALLER_ID") or "",
        name=started.worker,
        clock=config["CLOCK"],
    )
    try:
        dialer.place(started.plan)
    except CredentialsRejected:
        log.error("Twilio refused the account credentials; callback %s not placed", started.plan.request_id)
