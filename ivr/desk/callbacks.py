"""The callback queue worked from the desk: take the next due request, call, record the outcome.

A console user works callbacks through their agent profile (the ``agents`` row the dialer and
``ivr callbacks claim`` use), created from their account on first use: same name as their
e-mail, their phone or, without one, their softphone identity.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from callbacks.claiming import claim_for_agent, release_claims
from callbacks.models import CLAIMED, CallbackRequest
from callbacks.queue import CallbackError, complete_request
from ivr.desk.models import User
from ivr.desk.routing import device_of
from ivr.models.agent import Agent


def agent_profile(session: Session, user: User) -> Agent:
    """The user's callback-agent row, kept in step with their device."""
    agent = session.scalar(select(Agent).where(Agent.name == user.email))
    device = device_of(user)
    if agent is None:
        agent = Agent(name=user.email, phone=device)
        session.add(agent)
        session.flush()
    elif agent.phone != device:
        agent.phone = device
    return agent


def my_callback(session: Session, user: User) -> CallbackRequest | None:
    """The request this user has taken and not finished."""
    agent = session.scalar(select(Agent).where(Agent.name == user.email))
    if agent is None:
        return None
    return session.scalar(
        select(CallbackRequest).where(
            CallbackRequest.agent_id == agent.id,
            CallbackRequest.status == CLAIMED,
            CallbackRequest.claimed_by == f"agent:{agent.name}",
        )
    )


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
