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
from ivr.flows.phrases import NO_INPUT, NO_MATCH, contains_phrase, words, yes_no_words, yes_or_no
from ivr.flows.steps import CallerInput, Gather, Prompt

DTMF_KEY = re.compile(r"^[0-9*#]$")


class Option(BaseModel):
    """One menu choice: a key, optional spoken keywords per language, a target."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    next: str
    keywords: dict[str, list[str]] = Field(default_factory=dict)
    #: Offered in another language, in that language's voice ("For English, press 9."),
    #: to callers whose current language differs; keyed by language code.
    announce: dict[str, str] = Field(default_factory=dict)


class MenuSpec(NodeSpec):
    """A keypad menu that also understands spoken keywords."""

    prompt: Text
    options: dict[str, Option]
    no_input: Text = NO_INPUT
    no_match: Text = NO_MATCH
    #: The options a spoken yes / no chooses, for menus that ask a yes/no question.
    yes: str | None = None
    no: str | None = None
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


@register
class MenuNode(Node):
    """Play a menu, take a key or spoken words, reprompt on silence or nonsense."""

    kind = "menu"
    provides = frozenset({"transcript"})
    Spec = MenuSpec
    spec: MenuSpec
    waits = True

    def gather(self, ctx: Context) -> Gather:
        """Keypad always; speech when the call can send it and the menu has words for it."""
        lang = ctx.state.language
        hints = tuple(w for o in self.spec.options.values() for w in o.keywords.get(lang, []))
        if self.spec.yes or self.spec.no:
            hints += tuple(yes_no_words(lang))
        speech = bool(getattr(ctx.services, "speech_gather", False)) and bool(hints or self.spec.speech_next)
        return Gather(num_digits=1, timeout=self.spec.timeout, speech=speech, hints=hints)

    def listens_after(self, ctx: Context) -> bool:
        """Whether silence leads to ``speech_next``, which records or streams the answer (Vosk)."""
        capture = getattr(ctx.services, "speech_capture", "off")
        return bool(self.spec.speech_next) and capture in ("record", "stream")

    def prompt(self, ctx: Context, gather: Gather) -> tuple[Prompt, ...]:
        """The menu prompt, options offered in other languages, and the invitation to speak."""
        invites = gather.speech or self.listens_after(ctx)
        lang = ctx.state.language
        offers = tuple(
            Prompt(lang=other, text=text)
            for option in self.spec.options.values()
            for other, text in option.announce.items()
            if other != lang
        )
        return ctx.say(self.spec.prompt) + offers + (ctx.say(self.spec.speech_hint) if invites else ())

    def enter(self, ctx: Context) -> Result:
        """Play the menu."""
        ctx.reset_attempts(self.id)
        gather = self.gather(ctx)
        return Wait(self.prompt(ctx, gather), gather)

    def handle(self, ctx: Context, data: CallerInput) -> Result:
        """Route by key or spoken words; reprompt or give up after the allowed retries."""
        if data.digits:
            key = data.digits[0]
            option = self.spec.options.get(key)
            if option is not None:
                ctx.log("route", node=self.id, key=key, next=option.next)
                return Goto(option.next)
            return self.retry(ctx, self.spec.no_match, "no_match", key=data.digits[:20])
        if data.speech and data.speech.strip():
            return self.hear(ctx, data.speech)
        if self.listens_after(ctx) and not ctx.state.counters.get(self.id):
            # Our own recogniser cannot listen inside <Gather>: a caller who presses nothing
            # is taken to the node that records their words.
            ctx.log("route", node=self.id, speech=True, next=self.spec.speech_next, reason="no key")
            assert self.spec.speech_next is not None
            return Goto(self.spec.speech_next)
        return self.retry(ctx, self.spec.no_input, "no_input")

    def hear(self, ctx: Context, speech: str) -> Result:
        """Route speech: the longest keyword (unless a sure classifier disagrees), yes/no, speech_next."""
        switch_language(ctx, self.id, speech)
        key = self.keyword_option(speech, ctx.state.language)
        if key is not None:
            target = self.spec.options[key].next
            suggested = self.suggestion(ctx, speech)
            if suggested is None or suggested == target:
                ctx.log("route", node=self.id, speech=True, key=key, next=target)
                return Goto(target)
            ctx.log("keyword_overruled", node=self.id, key=key, keyword_next=target, intent_next=suggested)
            return self.to_speech_next(ctx, speech)
        answer = yes_or_no(speech, ctx.flow.languages) if self.spec.yes or self.spec.no else None
        chosen = {True: self.spec.yes, False: self.spec.no}.get(answer) if answer is not None else None
        if chosen is not None:
            ctx.log("route", node=self.id, speech=True, answer=answer, key=chosen)
            return Goto(self.spec.options[chosen].next)
        if self.spec.speech_next:
            return self.to_speech_next(ctx, speech)
        return self.retry(ctx, self.spec.no_match, "no_match")

    def keyword_option(self, speech: str, lang: str) -> str | None:
        """The option whose keyword occurs in ``speech`` as whole words; the longest keyword wins."""
        said = words(speech)
        found = [
            (len(words(keyword)), len(keyword), key)
            for key, option in self.spec.options.items()
            for keyword in option.keywords.get(lang, [])
            if contains_phrase(said, keyword)
        ]
        return max(found)[2] if found else None

    def suggestion(self, ctx: Context, speech: str) -> str | None:
        """Where ``speech_next`` (e.g. the intent classifier) is sure this caller belongs."""
        node = ctx.flow.nodes.get(self.spec.speech_next) if self.spec.speech_next else None
        return node.suggest(ctx, speech) if node is not None else None

    def to_speech_next(self, ctx: Context, speech: str) -> Result:
        """Hand the transcript to ``speech_next`` (kept for the agent too)."""
        assert self.spec.speech_next is not None
        ctx.state.variables["transcript"] = speech[:500]
        ctx.log("route", node=self.id, speech=True, next=self.spec.speech_next)
        return Goto(self.spec.speech_next)

    def retry(self, ctx: Context, text: Text, reason: str, **data: Any) -> Result:
        """Reprompt with the menu, or leave for ``on_failure`` once the retries are used up."""
        if out_of_retries(ctx, self.id, self.spec.retries, self.spec.on_failure, reason, **data):
            return Goto(self.spec.on_failure)
        gather = self.gather(ctx)
        return Wait(ctx.say(text) + self.prompt(ctx, gather), gather)

    def check(self, flow: object) -> Iterator[tuple[tuple[str | int, ...], str]]:
        """Keywords of different options must not overlap; yes/no and announcements must fit."""
        phrases = [
            (key, lang, keyword)
            for key, option in self.spec.options.items()
            for lang, keywords in option.keywords.items()
            for keyword in keywords
        ]
        for key, lang, keyword in phrases:
            for other, other_lang, other_keyword in phrases:
                if other < key and lang == other_lang and _overlap(keyword, other_keyword):
                    yield (
                        ("options", key, "keywords"),
                        f"keyword '{keyword}' of option {key} overlaps '{other_keyword}' of option {other}",
                    )
        for field in ("yes", "no"):
            value = getattr(self.spec, field)
            if value is not None and value not in self.spec.options:
                yield (field,), f"'{value}' is not one of the menu's options"
        languages = getattr(flow, "languages", [])
        for key, option in self.spec.options.items():
            for lang in option.announce:
                if lang not in languages:
                    yield ("options", key, "announce"), f"language '{lang}' is not in the flow's languages"


def _overlap(a: str, b: str) -> bool:
    """Whether one keyword is the other, or contained in it as whole words."""
    return contains_phrase(words(a), b) or contains_phrase(words(b), a)


def switch_language(ctx: Context, node_id: str, speech: str) -> None:
    """Answer in the language the caller speaks, when it is clearly another of the flow's."""
    try:
        from speech.intents.lang import detect_language
    except ImportError:  # the speech package is optional for keypad-only installs
        return
    current = ctx.state.language
    spoken = detect_language(speech, default=current)
    if spoken != current and spoken in ctx.flow.languages and len(words(speech)) >= 3:
        ctx.state.language = spoken
        ctx.log("language", node=node_id, language=spoken, reason="caller speaks it")


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
