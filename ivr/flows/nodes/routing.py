"""Nodes that hand the caller on: to a department, to voicemail, by opening hours."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from pydantic import Field, model_validator

from ivr.flows.nodes.base import Context, Goto, Node, NodeSpec, Result, Text, Wait, register
from ivr.flows.steps import CallerInput, Dial, Enqueue, Hangup, Record

CONNECTED = {"completed", "answered", "bridged"}


def may_record(ctx: Context) -> bool:
    """Recording only on internal lines set to ``always``, or after the caller consented."""
    policy = getattr(ctx.flow, "recording", "never")
    if policy == "always":
        return True
    return policy == "ask" and ctx.state.variables.get("recording_consent") is True


#: Queue results that mean the caller is (being) connected to an agent by routing.
HANDED_OVER = {"redirected", "bridging-in-process"}
#: Call variable naming the node to continue at once the agent hangs up (e.g. a survey);
#: without it the caller's call ends with the conversation.
AFTER_AGENT = "after_agent"


class RouteSpec(NodeSpec):
    """Connect the caller to a department (phone number or named queue)."""

    department: str | None = None
    dial: str | None = None
    queue: str | None = None
    announce: Text | None = None
    timeout: int = Field(default=30, ge=5, le=600)
    #: Queue priority of callers routed here (higher first); urgent intents and repeat
    #: callers add one each.
    priority: int = Field(default=0, ge=0, le=10)
    on_failure: str | None = None
    failure_message: Text | None = None

    @model_validator(mode="after")
    def _one_destination(self) -> RouteSpec:
        given = [x for x in (self.department, self.dial, self.queue) if x]
        if len(given) != 1:
            raise ValueError("a route node needs exactly one of 'department', 'dial' or 'queue'")
        return self


@register
class RouteNode(Node):
    """Dial a number or enqueue; on no answer continue at ``on_failure``."""

    kind = "route"
    Spec = RouteSpec
    spec: RouteSpec
    waits = True

    def destination(self, ctx: Context) -> Dial | Enqueue:
        """The verb for this node's department, number or queue."""
        if self.spec.department:
            dept = ctx.flow.departments[self.spec.department]
            if dept.dial:
                return Dial(number=dept.dial, timeout=self.spec.timeout)
            return Enqueue(queue=dept.queue or self.spec.department)
        if self.spec.dial:
            return Dial(number=self.spec.dial, timeout=self.spec.timeout)
        return Enqueue(queue=self.spec.queue or "support")

    def enter(self, ctx: Context) -> Result:
        """Announce and connect."""
        verb = self.destination(ctx)
        if isinstance(verb, Dial) and may_record(ctx):
            verb = replace(verb, record=True)
        target = verb.number if isinstance(verb, Dial) else verb.queue
        ctx.log(
            "route",
            node=self.id,
            department=self.spec.department,
            to=target,
            intent=ctx.state.variables.get("intent"),
        )
        if isinstance(verb, Enqueue) and ctx.services is not None:
            ctx.services.get("routing").enqueue(
                verb.queue, ctx.state.language, self.spec.priority, ctx.state.variables
            )
        return Wait(ctx.say(self.spec.announce), verb)

    def handle(self, ctx: Context, data: CallerInput) -> Result:
        """After the connection: done when bridged, otherwise the failure branch."""
        result = data.dial_status or data.queue_result or "unknown"
        ctx.log("route_result", node=self.id, result=result)
        if data.queue_result and result not in CONNECTED | HANDED_OVER and ctx.services is not None:
            ctx.services.get("routing").leave(result)
        after = ctx.state.variables.get(AFTER_AGENT)
        if after in ctx.flow.nodes and result in HANDED_OVER:
            # Twilio reports the move out of <Enqueue> into the agent's conference, and ignores
            # what we answer: the call stays here until the conference's <Dial action> comes.
            return Wait((), self.destination(ctx))
        if after in ctx.flow.nodes and result in CONNECTED:
            del ctx.state.variables[AFTER_AGENT]
            return Goto(after)
        if result in CONNECTED | HANDED_OVER:
            return Wait((), Hangup())
        if result == "hangup":  # the caller gave up while waiting
            ctx.state.variables["abandoned_in_queue"] = True
            return Wait((), Hangup())
        if self.spec.on_failure:
            return Goto(self.spec.on_failure, ctx.say(self.spec.failure_message))
        return Wait(ctx.say(self.spec.failure_message), Hangup())

    def check(self, flow: Any) -> Iterator[tuple[tuple[str | int, ...], str]]:
        """The department must be defined in the flow."""
        if self.spec.department and self.spec.department not in flow.departments:
            yield ("department",), f"unknown department '{self.spec.department}'"


class VoicemailSpec(NodeSpec):
    """Record a message for the team."""

    prompt: Text
    max_length: int = Field(default=120, ge=5, le=600)
    thanks: Text
    next: str | None = None
    #: Whose agents see the message on the console (default: the queue the caller waited in).
    queue: str | None = Field(default=None, max_length=50)


@register
class VoicemailNode(Node):
    """Record a voicemail, thank the caller, then hang up or continue."""

    kind = "voicemail"
    Spec = VoicemailSpec
    spec: VoicemailSpec
    waits = True

    def enter(self, ctx: Context) -> Result:
        """Ask for the message and record."""
        return Wait(ctx.say(self.spec.prompt), Record(max_length=self.spec.max_length))

    def handle(self, ctx: Context, data: CallerInput) -> Result:
        """Log the recording and thank the caller."""
        ctx.log("voicemail", node=self.id, recording_url=data.recording_url, duration=data.recording_duration)
        ctx.state.variables["voicemail"] = bool(data.recording_url)
        if data.recording_url and ctx.services is not None:
            ctx.services.get("voicemails").record(
                data.recording_url, data.recording_duration, self.spec.queue, ctx.state.language
            )
        if self.spec.next:
            return Goto(self.spec.next, ctx.say(self.spec.thanks))
        return Wait(ctx.say(self.spec.thanks), Hangup())


class HoursSpec(NodeSpec):
    """Branch on the opening hours of a schedule defined in the flow."""

    schedule: str
    open: str
    closed: str


@register
class HoursNode(Node):
    """Continue at ``open`` or ``closed``; sets ``{opening_hours}`` for prompts."""

    kind = "hours"
    Spec = HoursSpec
    spec: HoursSpec
    provides = frozenset({"opening_hours"})

    def enter(self, ctx: Context) -> Result:
        """Check the schedule at the current time."""
        schedule = ctx.flow.schedules[self.spec.schedule]
        is_open = schedule.is_open(ctx.now)
        if schedule.describe is not None:
            lang = ctx.state.language
            ctx.state.variables["opening_hours"] = schedule.describe.get(lang, ctx.flow.default_language)
        ctx.log("hours", node=self.id, schedule=self.spec.schedule, open=is_open)
        return Goto(self.spec.open if is_open else self.spec.closed)

    def check(self, flow: Any) -> Iterator[tuple[tuple[str | int, ...], str]]:
        """The schedule must be defined in the flow."""
        if self.spec.schedule not in flow.schedules:
            yield ("schedule",), f"unknown schedule '{self.spec.schedule}'"
