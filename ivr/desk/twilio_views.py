"""Twilio webhooks of routed calls: the agent's call leg and the caller joining the agent."""

from __future__ import annotations

from flask import Blueprint, current_app, request
from sqlalchemy import select
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import VoiceResponse

from ivr.calls import continue_call
from ivr.db import after_commit, get_session, unit_of_work
from ivr.desk import routing, telephony
from ivr.desk.models import Task
from ivr.desk.service import run_dispatch
from ivr.desk.settings import DeskSettings
from ivr.flows.nodes.routing import RouteNode
from ivr.flows.steps import Prompt
from ivr.flows.store import flow_by_id
from ivr.models import Call
from ivr.webhooks import _int, caller_input, external_url, renderer, step_url, twilio_webhook, voices

bp = Blueprint("desk_twilio", __name__, url_prefix="/desk/twilio")

HANGUP = '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>'
CALLER_GONE = "Der Anrufer hat leider schon aufgelegt."
WHISPER = {
    "de": "Anruf aus der Warteschlange {queue}.",
    "en": "Englischsprachiger Anruf aus der Warteschlange {queue}.",
}


_conference = telephony.conference_name

TRANSFERRING = {
    "de": "Einen Moment bitte, ich verbinde Sie weiter.",
    "en": "One moment please, I am transferring your call.",
}
HOLD = {
    "de": "Bitte bleiben Sie dran, es geht gleich weiter.",
    "en": "Please hold the line, we will be right back with you.",
}


def _dispatch_after_commit() -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    after_commit(get_session(), lambda: run_dispatch(app, current_app.config))


@bp.post("/agent")
@twilio_webhook
def agent_answered() -> str:
    """The agent picked up: a short whisper, then the conference the caller is moved into."""
    config, now = current_app.config, current_app.config["CLOCK"]()
    with unit_of_work() as session:
        task = routing.agent_answered(session, request.form.get("CallSid", ""), now)
        found = (task.id, task.call_sid, task.queue, task.language) if task else None
    response = VoiceResponse()
    if found is None or not telephony.connect_caller(config, found[1], found[0]):
        if found is not None:  # the caller's call could not be moved: it has ended
            with unit_of_work() as session:
                routing.leave(session, found[1], "caller gone", now)
        voices().say(response, Prompt(lang="de", text=CALLER_GONE))
        response.hangup()
        return str(response)
    task_id, _caller, queue, language = found
    voices().say(response, Prompt(lang="de", text=WHISPER.get(language, WHISPER["de"]).format(queue=queue)))
    dial = response.dial()
    dial.conference(
        _conference(task_id),
        start_conference_on_enter=True,
        end_conference_on_exit=True,
        beep=False,
        wait_url="",
    )
    return str(response)


def _task_and_call(session: Session) -> tuple[Task | None, Call | None]:
    """The task named in the URL and this webhook's call, or Nones unless they belong together."""
    task_id = _int(request.args.get("task"))
    task = session.get(Task, task_id) if task_id is not None else None
    call = session.scalar(select(Call).where(Call.call_sid == request.form.get("CallSid", "")))
    if task is None or call is None or task.call_sid != call.call_sid:
        return None, None
    return task, call


@bp.post("/caller")
@twilio_webhook
def caller_joins() -> str:
    """The caller, moved out of the queue, joins the agent; afterwards the flow goes on."""
    with unit_of_work() as session:
        task, call = _task_and_call(session)
        if task is None or call is None:
            return HANGUP
        action = external_url("desk_twilio.caller_done", task=task.id, lang=call.language)
    response = VoiceResponse()
    dial = response.dial(action=action, method="POST")
    dial.conference(
        _conference(task.id),
        start_conference_on_enter=True,
        end_conference_on_exit=True,
        beep=False,
    )
    return str(response)


@bp.post("/caller/done")
@twilio_webhook
def caller_done() -> str:
    """The conversation ended: the caller's flow goes on where it waits (a survey, or goodbye).

    Not the step URL: Twilio may report the move out of ``<Enqueue>`` before or after the
    caller joined, so the step number the join saw can be stale by the time the agent hangs up.
    """
    call_sid = request.form.get("CallSid", "")
    config = current_app.config
    with unit_of_work() as session:
        call = session.scalar(select(Call).where(Call.call_sid == call_sid).with_for_update())
        if call is None:
            return HANGUP
        at_route = not call.finished and isinstance(
            flow_by_id(session, call.flow_version_id).nodes.get(call.node), RouteNode
        )
        # Anywhere else this is a repeat of the webhook: the stored answer, nothing advances.
        xml = continue_call(
            session,
            call_sid,
            call.step if at_route else None,
            caller_input(),
            config,
            renderer(call_sid),
            now=config["CLOCK"](),
        )
    return xml or HANGUP


@bp.post("/agent/status")
@twilio_webhook
def agent_call_status() -> str:
    """The agent's call ended: wrap-up after a conversation, next agent when it was not answered."""
    config = current_app.config
    settings = DeskSettings.from_config(config)
    with unit_of_work() as session:
        routing.agent_call_ended(
            session,
            request.form.get("CallSid", ""),
            request.form.get("CallStatus", "unknown"),
            config["CLOCK"](),
            settings.wrapup,
        )
        _dispatch_after_commit()
    return "<Response/>"


@bp.post("/transfer")
@twilio_webhook
def caller_transferred() -> str:
    """The caller, taken out of the conference, waits in the queue of their new task."""
    with unit_of_work() as session:
        task, call = _task_and_call(session)
        if task is None or call is None or task.status not in routing.QUEUED:
            return HANGUP
        action = step_url(call.step, call.language)
        language, queue = call.language, task.queue
    response = VoiceResponse()
    voices().say(response, Prompt(lang=language, text=TRANSFERRING.get(language, TRANSFERRING["de"])))
    wait_url = current_app.config.get("QUEUE_WAIT_URL")
    response.enqueue(
        queue, action=action, method="POST", wait_url=wait_url, wait_url_method="POST" if wait_url else None
    )
    return str(response)


@bp.post("/hold")
@twilio_webhook
def hold_music() -> str:
    """What a caller on hold hears: a short note in both languages, then music (or quiet)."""
    response = VoiceResponse()
    voices().say(response, Prompt(lang="de", text=HOLD["de"]))
    voices().say(response, Prompt(lang="en", text=HOLD["en"]))
    music = DeskSettings.from_config(current_app.config).hold_music_url
    if music:
        response.play(music, loop=0)
    else:
        response.pause(length=30)
        response.redirect(external_url("desk_twilio.hold_music"), method="POST")
    return str(response)
