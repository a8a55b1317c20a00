"""Twilio webhooks of the callback queue: the queue wait music with the callback offer, the agent leg."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, current_app, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import VoiceResponse

import callbacks.hooks  # noqa: F401  (cancel requests of callers who reached an agent)
import callbacks.nodes  # noqa: F401  (the callback node kind)
import callbacks.service  # noqa: F401  (the callbacks service)
from callbacks import outcomes
from callbacks.dialer import AGENT_STATUS_PATH, AGENT_TWIML_PATH
from callbacks.models import CallbackRequest
from callbacks.nodes import CallbackSpec, reason_text
from callbacks.prompts import spoken_time, text
from callbacks.queue import NewRequest, request_callback
from callbacks.settings import Settings
from ivr.customers import outbox
from ivr.db import unit_of_work
from ivr.desk.routing import standing
from ivr.flows.steps import Prompt
from ivr.flows.store import flow_by_id
from ivr.models import Call, Interaction
from ivr.readback import spell_phone
from ivr.webhooks import _int, twilio_webhook, voices

log = logging.getLogger(__name__)
bp = Blueprint("callbacks", __name__, url_prefix="/callbacks")

WAIT_PATH = "/callbacks/queue/wait"
HOLD_MUSIC = "http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3"


@bp.record_once
def _use_our_wait_url(state: object) -> None:
    """Queued callers get position, wait and the callback offer unless another wait URL is set."""
    app = state.app  # type: ignore[attr-defined]
    app.config.setdefault("QUEUE_WAIT_URL", WAIT_PATH)


def _now() -> datetime:
    now: datetime = current_app.config["CLOCK"]()
    return now


def _settings() -> Settings:
    return Settings.from_config(current_app.config)


def _say(response: VoiceResponse, key: str, lang: str, **values: object) -> None:
    voices().say(response, _prompt(key, lang, **values))


def _prompt(key: str, lang: str, **values: object) -> Prompt:
    return Prompt(lang=lang, text=text(key, lang, **values))


@bp.post("/queue/wait")
@twilio_webhook
def queue_wait() -> str:
    """While a caller waits in a queue: their position, the wait, and when long, the callback offer."""
    form, settings = request.form, _settings()
    position, waited = _int(form.get("QueuePosition")) or 1, _int(form.get("QueueTime")) or 0
    average = _int(form.get("AvgQueueTime")) or 0
    estimate = max(average - waited, position * settings.handle_seconds // 2, 60)
    with unit_of_work() as session:
        # Our routing order (priority, then arrival) and agents on duty, when we route this queue.
        ours = standing(session, form.get("CallSid", ""), _now(), settings.handle_seconds)
        if ours is not None:
            position, estimate = ours.position, ours.estimate_seconds
        call = session.scalar(select(Call).where(Call.call_sid == form.get("CallSid", "")))
        lang = call.language if call else "de"
        number = callbacks.service.CallbackService.check_number(current_app.config, form.get("From"))
        response = VoiceResponse()
        _say(response, "position", lang, position=position, minutes=max(1, round(estimate / 60)))
        if estimate > settings.offer_after_seconds and number:
            since = int((_now() - timedelta(seconds=waited)).timestamp())
            gather = response.gather(
                num_digits=1,
                timeout=3,
                method="POST",
                action=f"/callbacks/queue/offer?{urlencode({'since': since})}",
            )
            voices().say(gather, _prompt("offer", lang, number=spell_phone(number, lang)))
        response.play(current_app.config.get("CALLBACK_HOLD_MUSIC", HOLD_MUSIC))
    return str(response)


@bp.post("/queue/offer")
@twilio_webhook
def queue_offer() -> str:
    """The caller pressed a key during the offer: 1 queues the callback at their original place."""
    form, response = request.form, VoiceResponse()
    if form.get("Digits") != "1":
        response.redirect(WAIT_PATH, method="POST")
        return str(response)
    config, now = current_app.config, _now()
    since = datetime.fromtimestamp(_int(request.args.get("since")) or int(now.timestamp()), UTC)
    with unit_of_work() as session:
        call = session.scalar(select(Call).where(Call.call_sid == form.get("CallSid", "")))
        lang = call.language if call else "de"
        number = callbacks.service.CallbackService.check_number(config, form.get("From"))
        result = None
        if number:
            known = call.variables if call else {}
            new = NewRequest(
                phone=number,
                source="queue",
                language=lang,
                position_at=since,
                call_sid=form.get("CallSid"),
                caller=number,  # the caller's own number: they count as its caller too
                intent=known.get("intent"),
                reason=known.get("intent"),
                transcript=known.get("transcript"),
                hours=_callback_hours(session, call),
            )
            result = request_callback(session, new, now, _settings())
        if result is None or result.call_at is None or result.outcome in ("busy", "no_opening"):
            _say(response, "offer_failed", lang)
            response.redirect(WAIT_PATH, method="POST")
            return str(response)
        if call is not None:  # the call ends here, as a callback rather than an abandoned wait
            call.variables = {
                **call.variables,
                "outcome": "callback",
                "callback_request_id": result.request.id if result.request else None,
            }
        _say(response, "offer_done", lang, when=spoken_time(result.call_at, now, "Europe/Berlin", lang))
        response.hangup()
    return str(response)


def _callback_hours(session: Session, call: Call | None) -> dict[str, Any] | None:
    """The opening hours the call's flow promises for callbacks (its callback nodes' schedule).

    Without them a request made in the queue would be retried at any hour, after closing too.
    """
    if call is None:
        return None
    flow = flow_by_id(session, call.flow_version_id)
    for node in flow.nodes.values():
        spec = getattr(node, "spec", None)
        if isinstance(spec, CallbackSpec) and spec.schedule in flow.schedules:
            return flow.schedules[spec.schedule].model_dump(mode="json")
    return None


@bp.post(AGENT_TWIML_PATH.removeprefix("/callbacks"))
@twilio_webhook
def agent_leg() -> str:
    """The agent answered: tell them who and why, then dial the customer."""
    response = VoiceResponse()
    request_id, attempt = _int(request.args.get("r")), _int(request.args.get("a"))
    with unit_of_work() as session:
        found = outcomes.agent_answered(session, request_id, attempt, _now(), _settings().dial_lease)
        if found is None:
            _say(response, "gone", "de")
            response.hangup()
            return str(response)
        contacts = (
            session.scalar(select(func.count()).where(Interaction.customer_id == found.customer_id))
            if found.customer_id
            else 0
        )
        _say(
            response,
            "brief",
            "de",
            number=spell_phone(found.phone, "de"),
            reason=reason_text(found.reason, "de"),
            contacts=contacts or 0,
        )
        query = urlencode({"r": request_id, "a": attempt})
        dial = response.dial(
            action=f"/callbacks/agent/dialed?{query}",
            method="POST",
            timeout=30,
            caller_id=_settings().caller_id,
        )
        dial.number(
            found.phone,
            status_callback=f"/callbacks/customer/status?{query}",
            status_callback_event="answered",
            status_callback_method="POST",
        )
    return str(response)


@bp.post("/agent/dialed")
@twilio_webhook
def agent_dialed() -> str:
    """How the dial to the customer ended; the agent hears it when nobody answered."""
    response = VoiceResponse()
    status = request.form.get("DialCallStatus") or "failed"
    with unit_of_work() as session:
        outcomes.customer_dial_result(
            session, _int(request.args.get("r")), _int(request.args.get("a")), status, _now()
        )
    if status not in ("completed", "answered"):
        _say(response, "missed", "de")
    response.hangup()
    return str(response)


@bp.post("/customer/status")
@twilio_webhook
def customer_status() -> str:
    """The customer picked up: the callback is connected."""
    if request.form.get("CallStatus") in ("in-progress", "answered"):
        with unit_of_work() as session:
            outcomes.customer_answered(session, _int(request.args.get("r")), _int(request.args.get("a")))
    return str(VoiceResponse())


@bp.post(AGENT_STATUS_PATH.removeprefix("/callbacks"))
@twilio_webhook
def agent_status() -> str:
    """The agent leg's final status: free the agent, finish or requeue; unknown ones are logged."""
    form = request.form
    with unit_of_work() as session:
        meaning = outcomes.agent_call_ended(
            session,
            _int(request.args.get("r")),
            _int(request.args.get("a")),
            form.get("CallSid"),
            form.get("CallStatus") or "unknown",
            _int(form.get("CallDuration")),
            _now(),
        )
        if meaning in ("done", "requeued"):
            _emit_call_ended(session, _int(request.args.get("r")))
    if meaning in ("unknown", "duplicate"):
        log.info("callback status %s for %s: %s", form.get("CallStatus"), form.get("CallSid"), meaning)
    return str(VoiceResponse())


def _emit_call_ended(session: Session, request_id: int | None) -> None:
    """The callback attempt's ``call.ended`` webhook, in the same transaction (docs/history-api.md)."""
    found = session.get(CallbackRequest, request_id) if request_id else None
    interaction = session.get(Interaction, found.interaction_id) if found and found.interaction_id else None
    if interaction is not None:
        outbox.call_ended(session, current_app.config, interaction)
