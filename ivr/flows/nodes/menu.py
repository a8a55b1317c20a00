"""Nodes that wait for keypad or spoken input: menus and digit collection."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ivr.flows.nodes.base import (
    Context,
    Goto,
    Node,
    NodeSpec,
    Result,
    Text,
    Wait,
    out_of_retries,
    register,
)
from ivr.flows.steps import CallerInput, Gather, Prompt

DTMF_KEY = re.compile(r"^[0-9*#]$")


class Option(BaseModel):
    """One menu choice: a key, optional spoken keywords per language, a target."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    next: str
    keywords: dict[str, list[str]] = Field(default_factory=dict)


class MenuSpec(NodeSpec):
    """A keypad menu that also understands spoken keywords."""

    prompt: Text
    options: dict[str, Option]
    no_input: Text
    no_match: Text
    retries: int = Field(default=2, ge=0, le=5)
    on_failure: str
    timeout: int = Field(default=5, ge=1, le=30)
    speech_next: str | None = None
    #: Appended to the prompt when the caller can answer by voice.
    speech_hint: Text | None = None

    @field_validator("options", mode="before")
    @classmethod
    def _short_options(cls, value: Any) -> Any:
        """Allow ``"1": node_id`` as shorthand for ``"1": {next: node_id}``."""
        if isinstance(value, dict):
            return {k: {"next": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("options")
    @classmethod
    def _keys_are_dtmf(cls, value: dict[str, Option]) -> dict[str, Option]:
        bad = [k for k in value if not DTMF_KEY.match(k)]
        if bad:
            raise ValueError(f"option keys must be one keypad key (0-9, * or #), not {bad}")
        if not value:
            raise ValueError("a menu needs at least one option")
        return value


def words(text: str) -> list[str]:
    """Lowercase words of a transcript."""
    return re.findall(r"[\wäöüß]+", text.lower())


@register
class MenuNode(Node):
    """Play a menu, take a key or a spoken keyword, reprompt on silence or nonsense."""

    kind = "menu"
    provides = frozenset({"transcript"})
    Spec = MenuSpec
    spec: MenuSpec
    waits = True

    def gather(self, ctx: Context) -> Gather:
        """Keypad always; speech when the call can send it and the menu has words for it."""
        lang = ctx.state.language
        hints = tuple(w for o in self.spec.options.values() for w in o.keywords.get(lang, []))
        speech = bool(getattr(ctx.services, "speech_gather", False)) and bool(hints or self.spec.speech_next)
        return Gather(num_digits=1, timeout=self.spec.timeout, speech=speech, hints=hints)

    def listens_after(self, ctx: Context) -> bool:
        """Whether silence leads to ``speech_next``, which records or streams the answer (Vosk)."""
        capture = getattr(ctx.services, "speech_capture", "off")
        return bool(self.spec.speech_next) and capture in ("record", "stream")

    def prompt(self, ctx: Context, gather: Gather) -> tuple[Prompt, ...]:
        """The menu prompt, inviting speech only when speech is accepted."""
        invites = gather.speech or self.listens_after(ctx)
        return ctx.say(self.spec.prompt) + (ctx.say(self.spec.speech_hint) if invites else ())

    def enter(self, ctx: Context) -> Result:
        """Play the menu."""
        ctx.reset_attempts(self.id)
        gather = self.gather(ctx)
        return Wait(self.prompt(ctx, gather), gather)

    def handle(self, ctx: Context, data: CallerInput) -> Result:
        """Route by key or keyword; reprompt or give up after the allowed retries."""
        if data.digits:
            key = data.digits[0]
            option = self.spec.options.get(key)
            if option is not None:
                ctx.log("route", node=self.id, key=key, next=option.next)
                return Goto(option.next)
            return self.retry(ctx, self.spec.no_match, "no_match", key=data.digits[:20])
        if data.speech and data.speech.strip():
            said = words(data.speech)
            for key, option in self.spec.options.items():
                keywords = option.keywords.get(ctx.state.language, [])
                if any(" ".join(words(k)) in " ".join(said) for k in keywords):
                    ctx.log("route", node=self.id, speech=True, key=key, next=option.next)
                    return Goto(option.next)
            if self.spec.speech_next:
                ctx.state.variables["transcript"] = data.speech[:500]
                ctx.log("route", node=self.id, speech=True, next=self.spec.speech_next)
                return Goto(self.spec.speech_next)
            return self.retry(ctx, self.spec.no_match, "no_match")
        if self.listens_after(ctx) and not ctx.state.counters.get(self.id):
            # Our own recogniser cannot listen inside <Gather>: a caller who presses nothing
            # is taken to the node that records their words.
            ctx.log("route", node=self.id, speech=True, next=self.spec.speech_next, reason="no key")
            assert self.spec.speech_next is not None
            return Goto(self.spec.speech_next)
        return self.retry(ctx, self.spec.no_input, "no_input")

    def retry(self, ctx: Context, text: Text, reason: str, **data: Any) -> Result:
        """Reprompt with the menu, or leave for ``on_failure`` once the retries are used up."""
        if out_of_retries(ctx, self.id, self.spec.retries, self.spec.on_failure, reason, **data):
            return Goto(self.spec.on_failure)
        gather = self.gather(ctx)
        return Wait(ctx.say(text) + self.prompt(ctx, gather), gather)

    def check(self, flow: object) -> Iterator[tuple[tuple[str | int, ...], str]]:
        """The same spoken keyword must not lead to two options."""
        seen: dict[tuple[str, str], str] = {}
        for key, option in self.spec.options.items():
            for lang, keywords in option.keywords.items():
                for word in keywords:
                    other = seen.setdefault((lang, word.lower()), key)
                    if other != key:
                        yield (
                            ("options", key, "keywords"),
                            (f"keyword '{word}' is used by options {other} and {key}"),
                        )


class CollectSpec(NodeSpec):
    """Collect a number (customer number, postal code) by keypad or speech."""

    prompt: Text
    variable: str
    min_digits: int = Field(default=1, ge=1, le=30)
    max_digits: int = Field(default=20, ge=1, le=30)
    finish_on_key: str = "#"
    next: str
    no_input: Text
    invalid: Text
    retries: int = Field(default=2, ge=0, le=5)
    on_failure: str
    timeout: int = Field(default=6, ge=1, le=30)
    speech: bool = True


def spoken_digits(text: str, lang: str) -> str | None:
    """The digits a caller spoke, via the shared parser in ``speech``."""
    try:
        from speech.numbers import parse_digits
    except ImportError:  # the speech package is optional for keypad-only installs
        found = re.sub(r"\D", "", text)
        return found or None
    return parse_digits(text, lang)


@register
class CollectNode(Node):
    """Ask for digits, validate their count, store them in a call variable."""

    kind = "collect"
    Spec = CollectSpec
    spec: CollectSpec
    waits = True

    def variables(self) -> frozenset[str]:
        """The call variable the digits are stored in."""
        return frozenset({self.spec.variable})

    def gather(self, ctx: Context) -> Gather:
        """Keypad up to max_digits, finished by ``#``; speech when available."""
        speech = self.spec.speech and bool(getattr(ctx.services, "speech_gather", False))
        return Gather(
            num_digits=None if self.spec.finish_on_key else self.spec.max_digits,
            finish_on_key=self.spec.finish_on_key,
            timeout=self.spec.timeout,
            speech=speech,
        )

    def enter(self, ctx: Context) -> Result:
        """Ask for the number."""
        ctx.reset_attempts(self.id)
        return Wait(ctx.say(self.spec.prompt), self.gather(ctx))

    def handle(self, ctx: Context, data: CallerInput) -> Result:
        """Store valid digits and continue; reprompt on silence or a wrong length."""
        if data.empty:
            return self.retry(ctx, self.spec.no_input, "no_input")
        if data.digits:
            value: str | None = data.digits.rstrip(self.spec.finish_on_key or "#")
        else:
            value = spoken_digits(data.speech or "", ctx.state.language)
        n = len(value or "")
        if not value or not value.isdigit() or not self.spec.min_digits <= n <= self.spec.max_digits:
            return self.retry(ctx, self.spec.invalid, "no_match", length=n)
        ctx.state.variables[self.spec.variable] = value
        ctx.log("collected", node=self.id, variable=self.spec.variable, length=n)
        return Goto(self.spec.next)

    def retry(self, ctx: Context, text: Text, reason: str, **data: Any) -> Result:
        """Reprompt, or leave for ``on_failure`` once the retries are used up."""
        if out_of_retries(ctx, self.id, self.spec.retries, self.spec.on_failure, reason, **data):
            return Goto(self.spec.on_failure)
        return Wait(ctx.say(text), self.gather(ctx))
