"""The ``callback`` flow node: confirm or key in a number, choose a time, queue the request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import Field

from callbacks.prompts import UNKNOWN_REASON, spoken_time, text
from ivr.flows.nodes.base import Context, Goto, Node, NodeSpec, Result, Wait, register
from ivr.flows.nodes.menu import spoken_digits
from ivr.flows.phrases import yes_no_words, yes_or_no
from ivr.flows.steps import CallerInput, Gather, Hangup, Prompt
from ivr.readback import spell_phone

WINDOW_KEYS = {"1": "asap", "2": "morning", "3": "afternoon"}
STAGE = "callback_stage"
NUMBER = "callback_number"


class CallbackSpec(NodeSpec):
    """Offer a callback; ``schedule`` names the flow's opening hours the call must fall in."""

    schedule: str | None = None
    source: str = Field(default="ivr", pattern=r"^[a-z_]{1,20}$")
    priority: int = Field(default=0, ge=0, le=10)
    reason: str | None = Field(default=None, max_length=200)
    ask_window: bool = True
    retries: int = Field(default=2, ge=0, le=5)
    next: str | None = None
    on_failure: str


@register
class CallbackNode(Node):
    """Confirm the caller ID (or take another number), ask when, queue it, say when we will call."""

    kind = "callback"
    Spec = CallbackSpec
    spec: CallbackSpec
    waits = True

    def enter(self, ctx: Context) -> Result:
        """Start with the caller ID when it is a number we may call, else ask for one."""
        ctx.reset_attempts(self.id)
        service = _service(ctx)
        if service is None:
            ctx.log("error", node=self.id, reason="callback service unavailable")
            return Goto(self.spec.on_failure)
        check = service.check(ctx.services.caller)
        if check.e164:
            return self._ask(ctx, "confirm", check.e164)
        return self._ask(ctx, "number")

    def handle(self, ctx: Context, data: CallerInput) -> Result:
        """Advance through confirm → (number → confirm_entered) → window → queued."""
        stage = ctx.state.variables.get(STAGE, "number")
        key = (data.digits or "")[:1]
        if not key and data.speech and stage in ("confirm", "confirm_entered"):
            # A yes/no question: "ja", "ja bitte", "nein, eine andere" answer it like 1 and 2.
            key = {True: "1", False: "2", None: ""}[yes_or_no(data.speech, ctx.flow.languages)]
        if stage == "number":
            return self._take_number(ctx, data)
        if data.empty:
            return self._retry(ctx, stage, text("no_input", ctx.state.language))
        if stage in ("confirm", "confirm_entered"):
            if key == "1":
                return self._ask(ctx, "window") if self.spec.ask_window else self._submit(ctx, "asap")
            if key == "2":
                return self._ask(ctx, "number")
        elif stage == "window" and key in WINDOW_KEYS:
            return self._submit(ctx, WINDOW_KEYS[key])
        return self._retry(ctx, stage, text("no_match", ctx.state.language))

    def _take_number(self, ctx: Context, data: CallerInput) -> Result:
        lang = ctx.state.language
        if data.empty:
            return self._retry(ctx, "number", text("no_input", lang))
        raw = data.digits.rstrip("#") if data.digits else spoken_digits(data.speech or "", lang)
        check = _service(ctx).check(raw)
        ctx.log("callback_number", node=self.id, valid=bool(check.e164), problem=check.problem)
        if check.e164 is None:
            return self._retry(ctx, "number", text(check.problem or "invalid", lang))
        return self._ask(ctx, "confirm_entered", check.e164)

    def _ask(self, ctx: Context, stage: str, number: str | None = None, before: str = "") -> Wait:
        lang = ctx.state.language
        ctx.state.variables[STAGE] = stage
        if number:
            ctx.state.variables[NUMBER] = number
        known = ctx.state.variables.get(NUMBER)
        prompt = text(
            "ask_number" if stage == "number" else stage,
            lang,
            number=spell_phone(known, lang) if known else "",
        )
        gather = (
            Gather(finish_on_key="#", timeout=8, speech=bool(ctx.services.speech_gather))
            if stage == "number"
            else self._menu_gather(ctx, stage)
        )
        prompts = [Prompt(lang=lang, text=t) for t in (before, prompt) if t]
        return Wait(tuple(prompts), gather)

    def _menu_gather(self, ctx: Context, stage: str) -> Gather:
        """One key; the yes/no questions about the number also listen for a spoken answer."""
        if stage not in ("confirm", "confirm_entered") or not ctx.services.speech_gather:
            return Gather(num_digits=1, timeout=6)
        return Gather(num_digits=1, timeout=6, speech=True, hints=tuple(yes_no_words(ctx.state.language)))

    def _retry(self, ctx: Context, stage: str, message: str) -> Result:
        attempts = ctx.attempt(self.id)
        ctx.log("no_match", node=self.id, stage=stage, attempt=attempts)
        if attempts > self.spec.retries:
            ctx.log("route", node=self.id, next=self.spec.on_failure, reason="retries exhausted")
            return Goto(self.spec.on_failure)
        return self._ask(ctx, stage, before=message)

    def _submit(self, ctx: Context, window: str) -> Result:
        lang, variables = ctx.state.language, ctx.state.variables
        number = variables[NUMBER]
        schedule = ctx.flow.schedules.get(self.spec.schedule) if self.spec.schedule else None
        result = _service(ctx).submit(
            number,
            ctx.now,
            source=self.spec.source,
            window=window,
            language=lang,
            reason=self.spec.reason or variables.get("intent"),
            intent=variables.get("intent"),
            transcript=variables.get("transcript"),
            priority=self.spec.priority,
            hours=schedule.model_dump(mode="json") if schedule else None,
        )
        ctx.log(
            "callback",
            node=self.id,
            outcome=result.outcome,
            request_id=result.request.id if result.request else None,
            window=window,
        )
        if result.call_at is None or (not result.accepted and result.outcome != "rate_limited"):
            return Goto(self.spec.on_failure, (Prompt(lang=lang, text=text("refused", lang)),))
        variables["outcome"] = "callback"
        variables["callback_request_id"] = result.request.id if result.request else None
        timezone = schedule.timezone if schedule else "Europe/Berlin"
        when = spoken_time(result.call_at, ctx.now, timezone, lang)
        key = "done" if result.accepted else "known"
        said = (Prompt(lang=lang, text=text(key, lang, when=when, number=spell_phone(number, lang))),)
        if self.spec.next:
            return Goto(self.spec.next, said)
        return Wait(said, Hangup())

    def check(self, flow: Any) -> Iterator[tuple[tuple[str | int, ...], str]]:
        """The schedule must be defined in the flow."""
        if self.spec.schedule and self.spec.schedule not in flow.schedules:
            yield ("schedule",), f"unknown schedule '{self.spec.schedule}'"


def _service(ctx: Context) -> Any:
    """The callback service of this call (None outside a webhook, e.g. in a dry run)."""
    if ctx.services is None:
        return None
    return ctx.services.get("callbacks")


def reason_text(reason: str | None, lang: str) -> str:
    """The reason as an agent hears it."""
    return reason.replace("_", " ") if reason else UNKNOWN_REASON.get(lang, UNKNOWN_REASON["de"])
