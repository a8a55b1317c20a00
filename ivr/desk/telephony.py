"""Carrying out routing decisions at Twilio: ring the agent, connect or release callers.

Every function here runs after the routing transaction committed, opens its own short units of
work, and never raises into a caller's webhook: a failed REST call puts the caller back in line.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import has_request_context, request
from sqlalchemy.orm import Session, sessionmaker
from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from callbacks.telephony import make_client
from ivr.db import transaction
from ivr.desk import routing
from ivr.desk.settings import DeskSettings
from ivr.models._types import utcnow

log = logging.getLogger(__name__)

AGENT_ANSWER_PATH = "/desk/twilio/agent"
AGENT_STATUS_PATH = "/desk/twilio/agent/status"
CALLER_CONNECT_PATH = "/desk/twilio/caller"
CALLER_TRANSFER_PATH = "/desk/twilio/transfer"
HOLD_MUSIC_PATH = "/desk/twilio/hold"


def conference_name(task_id: int) -> str:
    """The conference in which a task's caller and agent talk."""
    return f"task-{task_id}"


def public_url(config: Mapping[str, Any], path: str, **query: Any) -> str:
    """An absolute URL Twilio can call: ``IVR_PUBLIC_URL``, else the current request's host."""
    base = config.get("PUBLIC_URL") or (request.host_url.rstrip("/") if has_request_context() else "")
    if not base:
        raise RuntimeError("IVR_PUBLIC_URL must be set for routing outside a web request")
    return f"{base}{path}" + (f"?{urlencode(query)}" if query else "")


def rest_client(config: Mapping[str, Any]) -> Client:
    """The Twilio REST client (tests inject Twilio's HTTP edge as ``TWILIO_HTTP_CLIENT``)."""
    return make_client(config, config.get("TWILIO_HTTP_CLIENT"))


def dispatch(sessions: sessionmaker[Session], config: Mapping[str, Any], now: datetime | None = None) -> int:
    """One routing pass: end wrap-ups, expire lost offers, offer waiting callers; returns offers made."""
    settings = DeskSettings.from_config(config)
    moment = now or utcnow()
    with sessions() as session, transaction(session):
        routing.end_wrapups(session, moment)
        releases = routing.expire_offers(session, moment, timedelta(seconds=settings.ring_seconds))
        offers = routing.route(session, moment)
    client = rest_client(config)
    for release in releases:
        release_agent(client, release)
    for offer in offers:
        ring_agent(sessions, config, client, offer, settings)
    return len(offers)


def ring_agent(
    sessions: sessionmaker[Session],
    config: Mapping[str, Any],
    client: Client,
    offer: routing.Offer,
    settings: DeskSettings,
) -> None:
    """Call the agent's device; when Twilio refuses, the caller goes back to the head of the line."""
    try:
        call = client.calls.create(
            to=offer.device,
            from_=offer.caller_id or config.get("CALLBACK_CALLER_ID") or "",
            timeout=settings.ring_seconds,
            url=public_url(config, AGENT_ANSWER_PATH, task=offer.task_id),
            method="POST",
            status_callback=public_url(config, AGENT_STATUS_PATH, task=offer.task_id),
            status_callback_method="POST",
            status_callback_event=["completed"],
        )
    except (TwilioException, OSError) as exc:
        log.warning("could not ring agent %s for task %s: %s", offer.user_id, offer.task_id, exc)
        with sessions() as session, transaction(session):
            routing.offer_failed(session, offer.task_id, "api error", utcnow(), agent_missed=False)
        return
    with sessions() as session, transaction(session):
        routing.offer_placed(session, offer.task_id, str(call.sid))


def connect_caller(config: Mapping[str, Any], caller_sid: str, task_id: int) -> bool:
    """Move the waiting caller out of the queue into the agent's conference."""
    try:
        rest_client(config).calls(caller_sid).update(
            url=public_url(config, CALLER_CONNECT_PATH, task=task_id), method="POST"
        )
    except (TwilioException, OSError) as exc:
        log.warning("could not connect the caller of task %s: %s", task_id, exc)
        return False
    return True


def release_agent(client: Client, release: routing.Release) -> None:
    """Stop ringing an agent whose caller has gone."""
    try:
        client.calls(release.agent_call_sid).update(status="canceled")
    except (TwilioException, OSError) as exc:  # it may have ended by itself meanwhile
        log.info("could not cancel agent call: %s", exc)


def transfer_caller(
    sessions: sessionmaker[Session], config: Mapping[str, Any], transfer: routing.Transfer
) -> None:
    """Move the caller from the conference into the queue of their new task, then route.

    Leaving the conference ends it (``endConferenceOnExit``), which hangs up the first agent.
    A caller who has gone meanwhile leaves the new queue.
    """
    try:
        rest_client(config).calls(transfer.caller_sid).update(
            url=public_url(config, CALLER_TRANSFER_PATH, task=transfer.task_id), method="POST"
        )
    except (TwilioException, OSError) as exc:
        log.warning("could not transfer the caller of task %s: %s", transfer.task_id, exc)
        with sessions() as session, transaction(session):
            release = routing.leave(session, transfer.caller_sid, "caller gone", config["CLOCK"]())
        if release is not None:
            release_agent(rest_client(config), release)
        return
    settings = DeskSettings.from_config(config)
    if transfer.offer is not None:
        ring_agent(sessions, config, rest_client(config), transfer.offer, settings)
    else:
        dispatch(sessions, config, config["CLOCK"]())


def hold_caller(config: Mapping[str, Any], task_id: int, caller_sid: str, on_hold: bool) -> bool:
    """Put the caller's conference leg on hold (with our hold music) or take them back."""
    client = rest_client(config)
    try:
        found = client.conferences.list(friendly_name=conference_name(task_id), status="in-progress", limit=1)
        if not found:
            return False
        participant = client.conferences(str(found[0].sid)).participants(caller_sid)
        if on_hold:
            participant.update(hold=True, hold_url=public_url(config, HOLD_MUSIC_PATH), hold_method="POST")
        else:
            participant.update(hold=False)
    except (TwilioException, OSError) as exc:
        log.warning("could not change hold of task %s: %s", task_id, exc)
        return False
    return True
