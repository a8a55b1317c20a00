"""The stateless baseline: a Twilio menu as Twilio's quickstarts write it (Flask + VoiceResponse).

No database, no call state, no history; only the signature check Twilio's security guide asks
for. It answers the benchmark's walks with the same verbs as the hotline (Say + Gather,
Enqueue, Hangup), so one load generator drives both. Run under plain gunicorn with 2 workers,
from a directory without the project's ``gunicorn.conf.py`` (gunicorn reads the one where it runs):

    cd /tmp && gunicorn --workers 2 --pythonpath /path/to/hotline benchmarks.stateless_app:app
"""

from __future__ import annotations

import os
from functools import wraps
from typing import Any

from flask import Flask, Response, abort, request, url_for
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

app = Flask(__name__)
validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
PUBLIC_URL = os.environ["IVR_PUBLIC_URL"]

#: node → (prompt, {key or keyword: next node}); "queue:<name>" enqueues, "bye" hangs up.
MENU: dict[str, tuple[str, dict[str, str]]] = {
    "main": (
        "Zu einer Bestellung drücken Sie die 1. Für Rücksendung oder Umtausch die 2. "
        "Für einen Mitarbeiter die 0.",
        {"1": "order", "2": "returns", "0": "queue:service", "zurück": "returns"},
    ),
    "returns": (
        "Rücksendungen melden Sie in Ihrem Kundenkonto. Um das noch einmal zu hören, drücken Sie "
        "die 1. Für einen Mitarbeiter die 0. Zurück zum Hauptmenü mit der Sterntaste.",
        {"1": "returns", "0": "queue:returns", "*": "main"},
    ),
    "order": ("Ihre Bestellung vom 12. November: drücken Sie die 1.", {"1": "order_status"}),
    "order_status": (
        "Ihre Bestellung ist unterwegs mit DHL. Zum Wiederholen drücken Sie die 1.",
        {"1": "order_status", "": "bye"},
    ),
}


def twilio_only(view: Any) -> Any:
    """Refuse requests without Twilio's signature (403)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        url = PUBLIC_URL + request.full_path.rstrip("?")
        if not validator.validate(url, request.form, request.headers.get("X-Twilio-Signature", "")):
            abort(403)
        return Response(str(view(*args, **kwargs)), mimetype="text/xml")

    return wrapper


def menu(node: str) -> VoiceResponse:
    """Say a menu's prompt inside a Gather whose action names the node."""
    response = VoiceResponse()
    if node == "bye":
        response.say("Vielen Dank für Ihren Anruf. Auf Wiederhören.", language="de-DE")
        response.hangup()
        return response
    if node.startswith("queue:"):
        response.say("Einen Moment bitte.", language="de-DE")
        response.enqueue(node[6:], action=PUBLIC_URL + url_for("step", node="queued"), method="POST")
        return response
    gather = response.gather(
        input="dtmf speech",
        action=PUBLIC_URL + url_for("step", node=node),
        method="POST",
        timeout=5,
        language="de-DE",
        action_on_empty_result=True,
    )
    gather.say(MENU[node][0], language="de-DE")
    return response


@app.post("/twilio/voice")
@twilio_only
def voice() -> VoiceResponse:
    """A new call: greeting and main menu."""
    return menu("main")


@app.post("/twilio/step")
@twilio_only
def step() -> VoiceResponse:
    """The caller's choice in the node named by the action URL."""
    node = request.args.get("node", "main")
    if node == "queued":
        return menu("bye")
    options = MENU.get(node, MENU["main"])[1]
    speech = (request.form.get("SpeechResult") or "").lower()
    choice = options.get(request.form.get("Digits", ""))
    choice = choice or next((v for k, v in options.items() if k and k in speech), None)
    return menu(choice or options.get("", node))


@app.post("/twilio/status")
@twilio_only
def status() -> str:
    """The status callback: nothing to keep."""
    return "<Response/>"
