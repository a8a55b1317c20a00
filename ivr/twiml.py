"""Render engine steps as TwiML, only through twilio's VoiceResponse builder."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from twilio.twiml.voice_response import Gather as GatherVerb
from twilio.twiml.voice_response import VoiceResponse

from ivr.flows.steps import Dial, Enqueue, Gather, Hangup, Listen, Prompt, Record, Step

LOCALES = {"de": "de-DE", "en": "en-US"}
#: Twilio's speech model per language: (short answers, free sentences). Chosen deliberately,
#: see docs/speech.md ("Twilio's recogniser"): numbers_and_commands is Twilio's model for
#: commands, yes/no and digit strings in every language it recognises; phone_call is trained
#: on telephone audio but documented for English; German sentences use Twilio's default model.
SPEECH_MODELS = {
    "de": ("numbers_and_commands", "default"),
    "en": ("numbers_and_commands", "phone_call"),
}
#: Seconds of silence that end an utterance. Always a number: Twilio warns (13335) when
#: speechTimeout="auto" meets the default model, and wants a number whenever a model is set.
SPEECH_TIMEOUT = {False: 2, True: 3}
#: The Media Streams websocket, on the same host as the step webhooks (ivr.understanding.streams);
#: each stream's URL adds a per-call token.
MEDIA_STREAM_PATH = "/twilio/media"
#: Where a recorded spoken answer goes: recognised there before the call's state is locked.
HEARD_PATH = "/twilio/heard"
#: Where Twilio reports a conversation recording (ivr.privacy.views).
RECORDING_PATH = "/twilio/recording"

APOLOGY = {
    "de": "Entschuldigung, bei uns ist gerade ein technischer Fehler aufgetreten.",
    "en": "Sorry, we have a technical problem right now.",
}
CONNECTING = {"de": "Wir verbinden Sie mit einem Mitarbeiter.", "en": "We are connecting you to a colleague."}
GOODBYE = {
    "de": "Bitte rufen Sie uns später noch einmal an. Auf Wiederhören.",
    "en": "Please call us again later. Goodbye.",
}


@dataclass(frozen=True)
class Voices:
    """The text-to-speech voice per language (Polly or Google voice names)."""

    by_language: dict[str, str] = field(default_factory=dict)

    def say(self, parent: VoiceResponse | GatherVerb, prompt: Prompt) -> None:
        """Add a prompt to ``parent`` as <Say> or <Play>."""
        if prompt.url:
            parent.play(prompt.url)
        if prompt.text:
            parent.say(
                prompt.text,
                language=LOCALES.get(prompt.lang, prompt.lang),
                voice=self.by_language.get(prompt.lang),
            )


def render_step(
    step: Step, action: str, voices: Voices, wait_url: str | None = None, stream_token: str = ""
) -> str:
    """TwiML for a step; the verb's result is posted to ``action``; a media stream's URL ends in the token."""
    response = VoiceResponse()
    verb = step.verb
    if isinstance(verb, Gather):
        models = SPEECH_MODELS.get(step.language, SPEECH_MODELS["en"])
        gather = response.gather(
            input="dtmf speech" if verb.speech else "dtmf",
            action=action,
            method="POST",
            timeout=verb.timeout,
            num_digits=verb.num_digits,
            finish_on_key=verb.finish_on_key if verb.finish_on_key else None,
            action_on_empty_result=True,
            language=LOCALES.get(step.language) if verb.speech else None,
            hints=", ".join(verb.hints) if verb.speech and verb.hints else None,
            speech_timeout=SPEECH_TIMEOUT[verb.sentence] if verb.speech else None,
            speech_model=models[verb.sentence] if verb.speech else None,
        )
        for prompt in step.prompts:  # inside <Gather>, so callers can barge in
            voices.say(gather, prompt)
        return str(response)
    if isinstance(verb, Listen):
        return _render_listen(response, step, verb, action, voices, stream_token)
    for prompt in step.prompts:
        voices.say(response, prompt)
    if isinstance(verb, Dial):
        recording: dict[str, str] = {}
        if verb.record:  # Twilio tells us the RecordingSid, so an erasure can delete it there
            recording = {
                "record": "record-from-answer-dual",
                "recording_status_callback": urlunsplit(
                    urlsplit(action)._replace(path=RECORDING_PATH, query="")
                ),
                "recording_status_callback_method": "POST",
            }
        response.dial(
            verb.number,
            action=action,
            method="POST",
            timeout=verb.timeout,
            caller_id=verb.caller_id,
            **recording,
        )
    elif isinstance(verb, Enqueue):
        response.enqueue(
            verb.queue,
            action=action,
            method="POST",
            wait_url=wait_url,
            wait_url_method="POST" if wait_url else None,
        )
    elif isinstance(verb, Record):
        if verb.purpose == "speech":
            action = urlunsplit(urlsplit(action)._replace(path=HEARD_PATH))
        response.record(
            action=action,
            method="POST",
            max_length=verb.max_length,
            timeout=verb.timeout,
            play_beep=True,
            finish_on_key="#",
        )
        response.redirect(action, method="POST")  # nothing recorded: still come back
    elif isinstance(verb, Hangup):
        response.hangup()
    return str(response)


def _render_listen(
    response: VoiceResponse, step: Step, verb: Listen, action: str, voices: Voices, stream_token: str
) -> str:
    """Stream the caller's audio to us; keys still work, and the Gather's timeout is the way on."""
    start = response.start()
    stream = start.stream(url=media_stream_url(action, stream_token), track="inbound_track")
    # Twilio passes these back in the stream's "start" message (customParameters).
    stream.parameter(name="token", value=verb.token)
    stream.parameter(name="action", value=action)
    stream.parameter(name="no_input", value=str(verb.no_input))
    if verb.grammar:
        stream.parameter(name="grammar", value="|".join(verb.grammar))
    gather = response.gather(
        input="dtmf",
        action=action,
        method="POST",
        timeout=verb.timeout,
        num_digits=1,
        action_on_empty_result=True,
    )
    for prompt in step.prompts:
        voices.say(gather, prompt)
    return str(response)


def media_stream_url(action: str, token: str) -> str:
    """The websocket URL of one stream on the host of a step webhook URL (https → wss).

    The token goes in the path: Twilio's <Stream> takes no query string, and Twilio signs the
    handshake over this URL, so every stream's signature differs.
    """
    parts = urlsplit(action)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, f"{MEDIA_STREAM_PATH}/{token}", "", ""))


def render_fallback(language: str, voices: Voices, fallback_number: str | None) -> str:
    """What a caller hears when we cannot serve the call: an apology, then a person or goodbye."""
    lang = language if language in APOLOGY else "de"
    response = VoiceResponse()
    voices.say(response, Prompt(lang=lang, text=APOLOGY[lang]))
    if fallback_number:
        voices.say(response, Prompt(lang=lang, text=CONNECTING[lang]))
        response.dial(fallback_number)
    else:
        voices.say(response, Prompt(lang=lang, text=GOODBYE[lang]))
        response.hangup()
    return str(response)


def render_hangup() -> str:
    """An empty goodbye for calls that already ended."""
    response = VoiceResponse()
    response.hangup()
    return str(response)
