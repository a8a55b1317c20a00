"""Nodes that speak, jump, switch language or hang up."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import model_validator

from ivr.flows.nodes.base import Context, Goto, Node, NodeSpec, Result, Text, Wait, register
from ivr.flows.steps import Hangup, Prompt


class SaySpec(NodeSpec):
    """Say a text or play an audio file, then continue."""

    say: Text | None = None
    play: str | None = None
    next: str

    @model_validator(mode="after")
    def _has_prompt(self) -> SaySpec:
        if self.say is None and self.play is None:
            raise ValueError("a say node needs 'say' or 'play'")
        return self


@register
class SayNode(Node):
    """Say something and move on."""

    kind = "say"
    Spec = SaySpec
    spec: SaySpec

    def enter(self, ctx: Context) -> Result:
        """Queue the prompt and continue at ``next``."""
        prompts = ctx.say(self.spec.say)
        if self.spec.play:
            prompts += (Prompt(lang=ctx.state.language, url=self.spec.play),)
        return Goto(self.spec.next, prompts)


class GotoSpec(NodeSpec):
    """Jump to another node."""

    next: str


@register
class GotoNode(Node):
    """Continue at another node."""

    kind = "goto"
    Spec = GotoSpec
    spec: GotoSpec

    def enter(self, ctx: Context) -> Result:
        """Jump."""
        return Goto(self.spec.next)


class HangupSpec(NodeSpec):
    """Say goodbye (optionally) and end the call."""

    say: Text | None = None


@register
class HangupNode(Node):
    """End the call politely."""

    kind = "hangup"
    Spec = HangupSpec
    spec: HangupSpec
    waits = True

    def enter(self, ctx: Context) -> Result:
        """Say goodbye and hang up."""
        ctx.log("hangup")
        return Wait(ctx.say(self.spec.say), Hangup())


class LanguageSpec(NodeSpec):
    """Switch the caller's language for the rest of the call."""

    language: str
    next: str


@register
class LanguageNode(Node):
    """Switch language, e.g. when a caller presses 9 for English."""

    kind = "language"
    Spec = LanguageSpec
    spec: LanguageSpec

    def enter(self, ctx: Context) -> Result:
        """Set the language and continue."""
        ctx.state.language = self.spec.language
        ctx.log("language", language=self.spec.language)
        return Goto(self.spec.next)

    def check(self, flow: object) -> Iterator[tuple[tuple[str | int, ...], str]]:
        """The language must be one the flow speaks."""
        languages = getattr(flow, "languages", [])
        if self.spec.language not in languages:
            yield ("language",), f"language '{self.spec.language}' is not in the flow's languages {languages}"
