"""A phone in the terminal: drives the real webhooks, signed exactly as Twilio signs them."""

from __future__ import annotations

import itertools
import shlex
import sys
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import click
from flask.cli import with_appcontext
from twilio.request_validator import RequestValidator

_sid_counter = itertools.count(1)


class Transport(Protocol):
    """Posts a signed webhook and returns (HTTP status, body)."""

    def post(self, url: str, params: dict[str, str]) -> tuple[int, str]:
        """Send one webhook."""


@dataclass
class InProcess:
    """Webhooks through Flask's test client (no server needed)."""

    app: Any
    base_url: str = "http://localhost"

    def post(self, url: str, params: dict[str, str]) -> tuple[int, str]:
        """Sign and post through the test client."""
        url = url if url.startswith("http") else self.base_url + url
        signature = RequestValidator(self.app.config["TWILIO_AUTH_TOKEN"]).compute_signature(url, params)
        with self.app.test_client() as client:
            resp = client.post(url, data=params, headers={"X-Twilio-Signature": signature})
            return resp.status_code, resp.get_data(as_text=True)


@dataclass
class OverHttp:
    """Webhooks over HTTP to a running service (``ivr serve``)."""

    base_url: str
    auth_token: str

    def post(self, url: str, params: dict[str, str]) -> tuple[int, str]:
        """Sign and post over HTTP."""
        import requests

        url = url if url.startswith("http") else self.base_url.rstrip("/") + url
        signature = RequestValidator(self.auth_token).compute_signature(url, params)
        resp = requests.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=10)
        return resp.status_code, resp.text


@dataclass
class Turn:
    """One TwiML answer, reduced to what a caller experiences."""

    heard: list[str]
    verb: str | None
    action: str | None
    attrs: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    #: The locale each heard text was spoken in (``de-DE``, ``en-US``; None for audio).
    locales: list[str | None] = field(default_factory=list)

    @classmethod
    def parse(cls, xml: str) -> Turn:
        """Read a TwiML document."""
        root = ET.fromstring(xml)
        heard: list[str] = []
        locales: list[str | None] = []
        verb = action = target = None
        attrs: dict[str, str] = {}
        for el in root:
            if el.tag in ("Say", "Play"):
                heard.append(_spoken(el))
                locales.append(el.get("language"))
                continue
            if el.tag == "Gather":
                heard.extend(_spoken(child) for child in el)
                locales.extend(child.get("language") for child in el)
            verb, attrs, action = el.tag, dict(el.attrib), el.get("action")
            target = (el.text or "").strip() or None
            if el.tag == "Redirect":
                action = target
            break
        return cls(heard, verb, action, attrs, target, locales)


def _spoken(el: ET.Element) -> str:
    return (el.text or "").strip() if el.tag == "Say" else f"[audio {(el.text or '').strip()}]"


class Phone:
    """A caller: dial, press keys, speak, stay silent, hang up."""

    def __init__(
        self,
        transport: Transport,
        from_number: str = "+4915112345678",
        to_number: str = "+4930123456789",
        call_sid: str | None = None,
        voice_url: str = "/twilio/voice",
    ) -> None:
        self.transport = transport
        self.voice_url = voice_url
        self.from_number, self.to_number = from_number, to_number
        self.call_sid = call_sid or f"CA{uuid.uuid4().hex}"
        self.turn: Turn | None = None
        self.transcript: list[str] = []
        self.seconds = 0

    def params(self, **extra: str) -> dict[str, str]:
        """The parameters Twilio sends with every voice webhook."""
        base = {
            "CallSid": self.call_sid,
            "AccountSid": "AC" + "0" * 32,
            "From": self.from_number,
            "To": self.to_number,
            "Direction": "inbound",
            "CallStatus": "in-progress",
            "ApiVersion": "2010-04-01",
        }
        return {**base, **{k: v for k, v in extra.items() if v is not None}}

    def _send(self, url: str, **extra: str) -> Turn:
        status, body = self.transport.post(url, self.params(**extra))
        if status != 200:
            raise SimulatorError(f"webhook {url} answered HTTP {status}")
        self.turn = Turn.parse(body)
        self.transcript.extend(self.turn.heard)
        self.seconds += 5 + sum(len(t) for t in self.turn.heard) // 15
        if self.turn.verb == "Redirect" and self.turn.action:
            return self._send(self.turn.action)
        return self.turn

    def dial(self) -> Turn:
        """Place the call."""
        return self._send(self.voice_url, CallStatus="ringing")

    def _action(self) -> str:
        if self.turn is None or not self.turn.action:
            raise SimulatorError(f"the call waits for nothing (last verb: {self.turn and self.turn.verb})")
        return self.turn.action

    def press(self, digits: str) -> Turn:
        """Press keys on the keypad."""
        return self._send(self._action(), Digits=digits)

    def say(self, text: str, confidence: float = 0.9) -> Turn:
        """Speak (as Twilio's speech recognition would report it)."""
        return self._send(self._action(), SpeechResult=text, Confidence=str(confidence))

    def silence(self) -> Turn:
        """Say and press nothing until the timeout."""
        return self._send(self._action())

    def dial_result(self, status: str) -> Turn:
        """How the <Dial> ended (completed, no-answer, busy, failed)."""
        return self._send(self._action(), DialCallStatus=status)

    def queue_result(self, result: str) -> Turn:
        """How the wait in an <Enqueue> ended (bridged, hangup, queue-full, ...)."""
        return self._send(self._action(), QueueResult=result)

    def record(
        self, url: str = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE1", duration: int = 10
    ) -> Turn:
        """Leave a recording."""
        return self._send(self._action(), RecordingUrl=url, RecordingDuration=str(duration))

    def hang_up(self, status: str = "completed") -> None:
        """End the call; Twilio then sends the status callback."""
        self.transport.post("/twilio/status", self.params(CallStatus=status, CallDuration=str(self.seconds)))

    @property
    def heard(self) -> str:
        """What the caller heard in the last answer, as one text."""
        return " ".join(self.turn.heard) if self.turn else ""

    def heard_in(self, locale: str) -> str:
        """What the caller heard in the last answer in one locale's voice (``en-US``)."""
        turn = self.turn
        return (
            " ".join(t for t, loc in zip(turn.heard, turn.locales, strict=True) if loc == locale)
            if turn
            else ""
        )


class SimulatorError(Exception):
    """The conversation could not go on (bad script line, unexpected answer)."""


#: Script commands that act: name → (phone, argument) → the answer heard.
ACTIONS: dict[str, Any] = {
    "press": lambda phone, arg: phone.press(arg),
    "say": lambda phone, arg: phone.say(arg.strip("\"'")),
    "silence": lambda phone, _arg: phone.silence(),
    "dial-result": lambda phone, arg: phone.dial_result(arg),
    "queue-result": lambda phone, arg: phone.queue_result(arg),
    "record": lambda phone, arg: phone.record(*shlex.split(arg)[:1]),
}


def run_script(
    phone: Phone, lines: list[str], echo: Any = print, set_time: Callable[[str], None] | None = None
) -> None:
    """Run a scripted conversation; raise SimulatorError on a failed ``expect``.

    ``at 2026-12-01 10:00`` lines set the clock the flow sees (``set_time``); before the first
    other line they apply to the whole call.
    """
    dialled = False
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        command, _, arg = line.partition(" ")
        arg = arg.strip()
        if command == "at":
            if set_time is None:
                raise SimulatorError(f"line {number}: 'at' works only in-process (without --url)")
            try:
                set_time(arg.strip("\"'"))
            except ValueError as exc:
                raise SimulatorError(f"line {number}: {exc}") from None
            echo(f"🕒 {arg.strip(chr(34) + chr(39))}")
            continue
        if not dialled:
            dialled = True
            phone.dial()
            _show(phone, echo)
        if command == "expect":
            wanted = arg.strip("\"'")
            if wanted.lower() not in phone.heard.lower():
                raise SimulatorError(f"line {number}: expected '{wanted}', heard: {phone.heard!r}")
            continue
        if command == "expect-verb":
            if not phone.turn or (phone.turn.verb or "").lower() != arg.lower():
                raise SimulatorError(
                    f"line {number}: expected <{arg}>, got <{phone.turn and phone.turn.verb}>"
                )
            continue
        if command == "hangup":
            phone.hang_up(arg or "completed")
            echo("☎  (caller hangs up)")
            return
        if command not in ACTIONS:
            raise SimulatorError(f"line {number}: unknown command '{command}'")
        echo(f"→  {line}")
        ACTIONS[command](phone, arg)
        _show(phone, echo)
    if not dialled:
        phone.dial()
        _show(phone, echo)
    if phone.turn and phone.turn.verb == "Hangup":
        phone.hang_up()


def parse_local_time(text: str, zone: ZoneInfo) -> datetime:
    """``2026-12-01 10:00`` (or ISO ``2026-12-01T10:00``) as an aware time in ``zone``."""
    try:
        naive = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"'{text}' is not a time like 2026-12-01 10:00") from None
    return naive.replace(tzinfo=zone) if naive.tzinfo is None else naive


def flow_time_zone(app: Any) -> ZoneInfo:
    """The time zone of the answering flow's opening hours (Europe/Berlin without any)."""
    from ivr.db import session_factory
    from ivr.flows.store import flow_of, latest_version

    with session_factory(app)() as session:
        version = latest_version(session, app.config["FLOW_NAME"])
        schedules = list(flow_of(version).schedules.values()) if version is not None else []
    return ZoneInfo(schedules[0].timezone if schedules else "Europe/Berlin")


def freeze_clock(app: Any, text: str) -> datetime:
    """Make the in-process service see ``text`` (local to the flow's time zone) as now."""
    when = parse_local_time(text, flow_time_zone(app))
    app.config["CLOCK"] = lambda: when
    return when


def _show(phone: Phone, echo: Any) -> None:
    turn = phone.turn
    if turn is None:
        return
    for text in turn.heard:
        echo(f"🔊 {text}")
    if turn.verb in ("Dial", "Enqueue"):
        echo(f"☎  <{turn.verb}> {turn.target}")
    elif turn.verb == "Hangup":
        echo("☎  (call ended)")


def interactive(phone: Phone) -> None:
    """Talk to the hotline: keys, or '"text' to speak; Enter for silence; 'q' to hang up."""
    phone.dial()
    _show(phone, click.echo)
    while phone.turn and phone.turn.verb not in ("Hangup", None):
        verb = phone.turn.verb
        hint = {
            "Gather": 'keys, "speech, Enter = silence',
            "Dial": "completed/no-answer/busy",
            "Enqueue": "bridged/hangup/queue-full",
            "Record": "Enter = leave a message",
        }.get(verb, "")
        answer = click.prompt(f"[{hint}, q = hang up]", default="", show_default=False)
        if answer == "q":
            break
        if verb == "Gather":
            if answer.startswith('"'):
                phone.say(answer.strip('"'))
            elif answer:
                phone.press(answer)
            else:
                phone.silence()
        elif verb == "Dial":
            phone.dial_result(answer or "completed")
        elif verb == "Enqueue":
            phone.queue_result(answer or "bridged")
        elif verb == "Record":
            phone.record()
        _show(phone, click.echo)
    phone.hang_up()
    click.echo("☎  (hung up)")


@click.command()
@click.option("--from", "from_number", default="+4915112345678", show_default=True, help="Caller ID.")
@click.option("--to", "to_number", default="+4930123456789", show_default=True, help="Number dialled.")
@click.option("--url", default=None, help="Base URL of a running service (default: in-process).")
@click.option("--script", type=click.Path(exists=True, dir_okay=False), help="Run a scripted conversation.")
@click.option(
    "--at", "at", default=None, help='Call at this time in the flow\'s time zone, e.g. "2026-12-01 10:00".'
)
@with_appcontext
def simulate(from_number: str, to_number: str, url: str | None, script: str | None, at: str | None) -> None:
    """Call the hotline from the terminal."""
    from flask import current_app

    from ivr.setup import SetupError, prepare_instance

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    set_time: Callable[[str], None] | None = None
    if url:
        if at:
            raise click.UsageError("--at works only in-process: a running service keeps its own clock")
        transport: Transport = OverHttp(url, app.config["TWILIO_AUTH_TOKEN"])
    else:
        try:
            for note in prepare_instance(app):
                click.echo(note, err=True)
        except SetupError as exc:
            raise click.ClickException(str(exc)) from None
        transport = InProcess(app)

        def set_time(text: str) -> None:
            freeze_clock(app, text)

        if at:
            try:
                set_time(at)
            except ValueError as exc:
                raise click.BadParameter(str(exc), param_hint="--at") from None
    phone = Phone(transport, from_number, to_number)
    if script is None:
        interactive(phone)
        return
    try:
        run_script(phone, Path(script).read_text(encoding="utf-8").splitlines(), click.echo, set_time)
    except SimulatorError as exc:
        click.echo(f"✗ {exc}", err=True)
        sys.exit(1)
