"""What the engine hands to the TwiML renderer, and what a caller sends back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Prompt:
    """Something the caller hears: spoken text in a language, or an audio file."""

    lang: str
    text: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Gather:
    """Wait for keypad digits and/or speech."""

    num_digits: int | None = None
    finish_on_key: str = ""
    timeout: int = 5
    speech: bool = False
    hints: tuple[str, ...] = ()
    #: A free sentence ("worum geht es?") rather than a short command, yes/no or number.
    sentence: bool = False


@dataclass(frozen=True)
class Dial:
    """Connect the caller to a phone number."""

    number: str
    timeout: int = 30
    caller_id: str | None = None
    #: Record the conversation: only with the caller's consent (ivr.privacy.consent).
    record: bool = False


@dataclass(frozen=True)
class Enqueue:
    """Put the caller into a named agent queue."""

    queue: str


@dataclass(frozen=True)
class Record:
    """Record the caller (voicemail or a spoken answer)."""

    max_length: int = 120
    purpose: str = "voicemail"
    timeout: int = 5


@dataclass(frozen=True)
class Listen:
    """Stream the caller's audio to our recogniser while a keypad Gather waits."""

    token: str
    timeout: int = 12
    no_input: int = 8
    grammar: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hangup:
    """End the call."""


Verb = Gather | Dial | Enqueue | Record | Listen | Hangup


@dataclass
class Step:
    """The outcome of one webhook: prompts to play, then one verb."""

    prompts: list[Prompt]
    verb: Verb
    language: str = "de"

    @property
    def finished(self) -> bool:
        """Whether the call ends after this step."""
        return isinstance(self.verb, Hangup)


@dataclass(frozen=True)
class CallerInput:
    """What Twilio reported after the last verb; empty fields mean nothing came."""

    digits: str | None = None
    speech: str | None = None
    confidence: float | None = None
    recording_url: str | None = None
    recording_duration: int | None = None
    dial_status: str | None = None
    queue_result: str | None = None

    @property
    def empty(self) -> bool:
        """Whether the caller gave no keypad or speech input."""
        return not self.digits and not (self.speech and self.speech.strip())


@dataclass
class Event:
    """An entry for the interaction's log."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)
