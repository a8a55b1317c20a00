"""The consent node: a conversation is recorded only after the caller presses a key or says yes.

An announcement plus "stay on the line" is not consent (German data-protection authorities,
§201 StGB). The answer, or its absence, is stored with its time and the flow version that
asked (table ``consents``); without a yes nothing is recorded (``ivr.flows.nodes.routing``).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from sqlalchemy.orm import Session

from ivr.flows.nodes.base import Context, Goto, Node, NodeSpec, Result, Text, Wait, register
from ivr.flows.phrases import yes_no_words, yes_or_no
from ivr.flows.steps import CallerInput, Event, Gather
from ivr.models import Call, FlowVersion, Interaction
from ivr.privacy.models import Consent

CONSENT = "recording_consent"
DEFAULT_PROMPT = Text(
    {
        "de": "Dürfen wir dieses Gespräch zur Qualitätssicherung aufzeichnen? "
        "Dann drücken Sie die 1 oder sagen Sie ja. Ohne Aufzeichnung drücken Sie die 2.",
        "en": "May we record this call for quality purposes? Then press 1 or say yes. "
        "To continue without recording, press 2.",
    }
)
DEFAULT_AGREED = Text(
    {"de": "Danke, das Gespräch wird aufgezeichnet.", "en": "Thank you, the call will be recorded."}
)
DEFAULT_REFUSED = Text(
    {"de": "In Ordnung, wir zeichnen nichts auf.", "en": "All right, nothing will be recorded."}
)


class ConsentSpec(NodeSpec):
    """Ask whether the conversation may be recorded; continue at ``next`` either way."""

    prompt: Text = DEFAULT_PROMPT
    agreed: Text | None = DEFAULT_AGREED
    refused: Text | None = DEFAULT_REFUSED
    next: str
    timeout: int = Field(default=5, ge=2, le=30)
    #: Unclear answers asked again before it counts as "no".
    retries: int = Field(default=1, ge=0, le=3)


@register
class ConsentNode(Node):
    """Ask for recording consent (flow ``recording: ask``); ``always``/``never`` decide without asking."""

    kind = "consent"
    Spec = ConsentSpec
    spec: ConsentSpec
    waits = True

    def enter(self, ctx: Context) -> Result:
        """Ask, or settle it by the flow's policy."""
        policy = getattr(ctx.flow, "recording", "never")
        if policy == "always":  # an internal line: staff are informed by their employer
            return self.settle(ctx, True, "internal_line", say=False)
        if policy == "never":
            ctx.state.variables[CONSENT] = False
            return Goto(self.spec.next)
        ctx.reset_attempts(self.id)
        return self.ask(ctx)

    def ask(self, ctx: Context) -> Wait:
        """The question, answered by key or by a spoken yes/no."""
        speech = bool(getattr(ctx.services, "speech_gather", False))
        hints = tuple(yes_no_words(ctx.state.language)) if speech else ()
        gather = Gather(num_digits=1, timeout=self.spec.timeout, speech=speech, hints=hints)
        return Wait(ctx.say(self.spec.prompt), gather)

    def handle(self, ctx: Context, data: CallerInput) -> Result:
        """1 or yes: consent; 2 or no: refusal; anything else asked again, then taken as no."""
        if data.digits and data.digits[0] in "12":
            return self.settle(ctx, data.digits[0] == "1", "key")
        if data.speech:
            answer = yes_or_no(data.speech, ctx.flow.languages)
            if answer is not None:
                return self.settle(ctx, answer, "speech")
        if ctx.attempt(self.id) > self.spec.retries:
            return self.settle(ctx, False, "no_answer")
        return self.ask(ctx)

    def settle(self, ctx: Context, granted: bool, method: str, say: bool = True) -> Result:
        """Store the answer in the call and log it; the consent row is written with the step."""
        ctx.state.variables[CONSENT] = granted
        ctx.log("consent", node=self.id, purpose="recording", granted=granted, method=method)
        text = (self.spec.agreed if granted else self.spec.refused) if say else None
        return Goto(self.spec.next, ctx.say(text))


def store_consents(session: Session, call: Call, interaction: Interaction, events: list[Event]) -> None:
    """A ``consents`` row for every consent answer of this step, with the flow version that asked."""
    answers = [e for e in events if e.kind == "consent"]
    if not answers:
        return
    version = session.get(FlowVersion, call.flow_version_id)
    assert version is not None
    for event in answers:
        data: dict[str, Any] = event.data
        session.add(
            Consent(
                interaction_id=interaction.id,
                call_sid=call.call_sid,
                purpose=str(data.get("purpose", "recording")),
                granted=bool(data["granted"]),
                method=str(data["method"]),
                flow=version.name,
                flow_version=version.version,
            )
        )
