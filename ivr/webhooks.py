"""Twilio's voice webhooks: verify, hand to the call operations, answer TwiML."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, request, url_for
from itsdangerous import BadData, URLSafeTimedSerializer
from twilio.request_validator import RequestValidator, compare

from ivr.calls import CallEnded, IncomingCall, continue_call, record_status, start_call
from ivr.db import get_session, unit_of_work
from ivr.flows.steps import CallerInput, Listen, Step
from ivr.limits import plausible_signature
from ivr.phone import mask_phone
from ivr.twiml import Voices, render_fallback, render_hangup, render_step

log = logging.getLogger(__name__)
bp = Blueprint("twilio", __name__, url_prefix="/twilio")

MAX_DIGITS = 64
MAX_SPEECH = 1000
#: Twilio opens a media stream as soon as it reads our TwiML: an older stream token is a replay.
STREAM_TOKEN_MAX_AGE = 30


def signed_url() -> str:
    """The URL Twilio signed: the public base URL (behind a proxy) plus path and query."""
    public = current_app.config["PUBLIC_URL"]
    if public:
        query = request.query_string.decode()
        return f"{public}{request.path}" + (f"?{query}" if query else "")
    return request.url


def twilio_webhook(view: Callable[..., str]) -> Callable[..., Response]:
    """Check Twilio's signature (403 if forged), then never let an error reach the caller.

    Any failure (a database that is down or too slow, see ``ivr.db.Timeouts``) answers the
    fallback TwiML: an apology, then ``IVR_FALLBACK_NUMBER`` or a goodbye.
    """

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        signature = request.headers.get("X-Twilio-Signature", "")
        # The header's shape is checked before the form is parsed: a bogus one costs nothing.
        if not plausible_signature(signature) or not signed_by_twilio(signed_url(), signature):
            log.warning("refused webhook with a bad signature: %s", request.path)
            abort(403)
        try:
            xml = view(*args, **kwargs)
        except CallEnded:  # a webhook racing the hang-up: nothing more to say
            xml = render_hangup()
        except Exception:
            log.exception("webhook %s failed for call %s", request.path, request.form.get("CallSid"))
            get_session().rollback()
            config = current_app.config
            xml = render_fallback(request.args.get("lang", "de"), voices(), config["FALLBACK_NUMBER"])
        return Response(xml, mimetype="text/xml")

    return wrapper


def signed_by_twilio(url: str, signature: str) -> bool:
    """Whether Twilio signed this form POST to ``url``, by its library's ``RequestValidator``.

    ``validate`` computes two signatures every time (the URL with and without a port, as Twilio
    may have signed either); the URL exactly as requested is checked first, which is enough for
    a genuine webhook: one HMAC instead of two.
    """
    validator = RequestValidator(current_app.config["TWILIO_AUTH_TOKEN"])
    if compare(validator.compute_signature(url, request.form), signature):
        return True
    return bool(validator.validate(url, request.form, signature))


def voices() -> Voices:
    """The configured text-to-speech voices."""
    config = current_app.config
    return Voices({"de": config["VOICE_DE"], "en": config["VOICE_EN"]})


def renderer(call_sid: str) -> Callable[[Step, int], str]:
    """Render steps with action URLs that carry the step number."""
    wait_url = current_app.config.get("QUEUE_WAIT_URL")

    def render(step: Step, number: int) -> str:
        action = step_url(number, step.language)
        token = stream_token(call_sid, step.verb.token) if isinstance(step.verb, Listen) else ""
        return render_step(step, action, voices(), wait_url=wait_url, stream_token=token)

    return render


def _stream_tokens() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt="media-stream")


def stream_token(call_sid: str, listen_token: str) -> str:
    """A short-lived token for the media stream of one call's question (signed, in the stream URL)."""
    return _stream_tokens().dumps([call_sid, listen_token])


def stream_grant(token: str) -> tuple[str, str] | None:
    """The (CallSid, listen token) a stream token was made for, or None if forged or expired."""
    try:
        value = _stream_tokens().loads(token, max_age=STREAM_TOKEN_MAX_AGE)
    except BadData:
        return None
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return value[0], value[1]
    return None


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL for Twilio to call, under the public base URL when configured."""
    public: str | None = current_app.config["PUBLIC_URL"]
    if public:
        return public + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


#: Cached step-webhook base URLs per public URL and request root (a handful in practice).
_STEP_BASES = "ivr.step_bases"
_MAX_STEP_BASES = 16


def step_url(number: int, language: str) -> str:
    """The step webhook's URL for step ``number`` (``external_url``'s, with its base built once:
    Flask's URL building was 2 % of a webhook's CPU)."""
    bases: dict[tuple[str | None, ...], str] = current_app.extensions.setdefault(_STEP_BASES, {})
    environ = request.environ  # what Flask's URL adapter builds from (``request.root_url`` costs more)
    key = (
        current_app.config["PUBLIC_URL"],
        environ.get("wsgi.url_scheme"),
        environ.get("HTTP_HOST") or environ.get("SERVER_NAME"),
        environ.get("SERVER_PORT"),
        environ.get("SCRIPT_NAME"),
    )
    base = bases.get(key)
    if base is None:
        if len(bases) >= _MAX_STEP_BASES:
            bases.clear()
        base = bases[key] = external_url("twilio.step")
    return f"{base}?{urlencode({'n': number, 'lang': language})}"


def caller_input() -> CallerInput:
    """The caller's input from the webhook form, bounded in size."""
    form = request.form
    speech = (form.get("SpeechResult") or "")[:MAX_SPEECH] or None
    return CallerInput(
        digits=(form.get("Digits") or "")[:MAX_DIGITS] or None,
        speech=speech,
        confidence=_float(form.get("Confidence")),
        recording_url=form.get("RecordingUrl") or None,
        recording_duration=_int(form.get("RecordingDuration")),
        dial_status=form.get("DialCallStatus") or None,
        queue_result=form.get("QueueResult") or None,
    )


@bp.post("/voice")
@twilio_webhook
def voice() -> str:
    """A new incoming call."""
    form = request.form
    call_sid = form.get("CallSid")
    if not call_sid:
        log.warning("incoming call without CallSid from %s", mask_phone(form.get("From")))
        return render_fallback("de", voices(), current_app.config["FALLBACK_NUMBER"])
    # ``test_flow`` comes only from the console's test calls: the signature covers the query.
    incoming = IncomingCall(call_sid, form.get("From"), form.get("To"), request.args.get("test_flow"))
    with unit_of_work() as session:
        return start_call(
            session, incoming, current_app.config, renderer(call_sid), now=current_app.config["CLOCK"]()
        )


@bp.post("/step")
@twilio_webhook
def step() -> str:
    """The result of the last verb (Gather, Dial, Enqueue, Record) of a call."""
    return advance(caller_input())


def advance(data: CallerInput) -> str:
    """Apply the caller's input to the call of this webhook and answer its next step."""
    call_sid = request.form.get("CallSid")
    if not call_sid:
        return render_hangup()
    with unit_of_work() as session:
        xml = continue_call(
            session,
            call_sid,
            _int(request.args.get("n")),
            data,
            current_app.config,
            renderer(call_sid),
            now=current_app.config["CLOCK"](),
        )
    if xml is None:
        log.warning("step webhook for unknown call %s", call_sid)
        return render_fallback(
            request.args.get("lang", "de"), voices(), current_app.config["FALLBACK_NUMBER"]
        )
    return xml


@bp.post("/status")
@twilio_webhook
def status() -> str:
    """Twilio's status callback: the call's final status and duration."""
    form = request.form
    call_sid = form.get("CallSid")
    if call_sid:
        with unit_of_work() as session:
            record_status(
                session,
                call_sid,
                form.get("CallStatus") or "unknown",
                _int(form.get("CallDuration")),
                form.to_dict(),
                current_app.config,
            )
    return "<Response/>"


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
