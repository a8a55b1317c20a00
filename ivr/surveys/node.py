"""The ``survey`` node: invite before the agent, ask two questions after the agent hangs up.

Place it just before a ``route`` node. When a sampled caller agrees, the route node comes back
here once the conversation is over (``AFTER_AGENT``): the caller's leg continues in the flow
instead of ending, and hears CSAT 1–5 or NPS 0–10, then "resolved? yes/no".
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from ivr.flows.nodes.base import Context, Goto, Node, NodeSpec, Result, Text, Wait, register
from ivr.flows.nodes.menu import spoken_digits
from ivr.flows.nodes.routing import AFTER_AGENT, RouteNode
from ivr.flows.phrases import NO_INPUT, NO_MATCH, yes_no_words, yes_or_no
from ivr.flows.steps import CallerInput, Gather, Hangup
from ivr.surveys.service import INVITED, PASSED, SKIPPED, Sampling

#: Call variable: where the caller is in the survey (invite, accepted, score, resolved).
STAGE = "survey_stage"

INVITE = Text(
    {
        "de": "Nach dem Gespräch haben wir zwei kurze Fragen zu unserem Service. Machen Sie mit? "
        "Dann drücken Sie die 1 oder sagen Sie ja. Sonst die 2.",
        "en": "After your conversation we have two short questions about our service. Will you take "
        "part? Then press 1 or say yes. Otherwise press 2.",
    }
)
ACCEPTED = Text(
    {
        "de": "Vielen Dank. Bleiben Sie nach dem Gespräch einfach am Apparat.",
        "en": "Thank you. Simply stay on the line after the conversation.",
    }
)
DECLINED = Text({"de": "In Ordnung.", "en": "All right."})
CSAT = Text(
    {
        "de": "Wie zufrieden waren Sie mit unserem Service? Drücken oder sagen Sie eine Zahl "
        "von 1, gar nicht zufrieden, bis 5, sehr zufrieden.",
        "en": "How satisfied were you with our service? Press or say a number from 1, "
        "not at all satisfied, to 5, very satisfied.",
    }
)
NPS = Text(
    {
        "de": "Wie wahrscheinlich ist es, dass Sie uns weiterempfehlen? Sagen Sie eine Zahl von 0 bis 10, "
        "oder tippen Sie sie ein und drücken Sie die Raute.",
        "en": "How likely are you to recommend us? Say a number from 0 to 10, "
        "or key it in followed by the hash key.",
    }
)
RESOLVED = Text(
    {
        "de": "Wurde Ihr Anliegen heute gelöst? Drücken Sie die 1 oder sagen Sie ja, sonst die 2.",
        "en": "Was your issue resolved today? Press 1 or say yes, otherwise press 2.",
    }
)
THANKS = Text(
    {
        "de": "Vielen Dank für Ihre Antworten. Auf Wiederhören.",
        "en": "Thank you for your answers. Goodbye.",
    }
)
NUMBER_HINTS = {
    "de": ("null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun", "zehn"),
    "en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
}
SCALES = {"csat": (1, 5), "nps": (0, 10)}


class SurveySpec(NodeSpec):
    """An in-call survey: invitation before the agent, CSAT or NPS and "resolved?" after."""

    next: str
    enabled: bool = True
    scale: Literal["csat", "nps"] = "csat"
    #: Invite every N-th eligible caller of the day (1 = everyone).
    sample_every: int = Field(default=1, ge=1, le=1000)
    #: At most this many invitations per day (local day in ``timezone``).
    daily_cap: int = Field(default=200, ge=1, le=100_000)
    #: A caller invited (whether they agreed or declined) is not invited again for this many days.
    cooldown_days: int = Field(default=30, ge=0, le=365)
    timezone: str = "Europe/Berlin"
    retries: int = Field(default=1, ge=0, le=3)
    timeout: int = Field(default=5, ge=2, le=15)
    invite: Text = INVITE
    accepted: Text = ACCEPTED
    declined: Text = DECLINED
    csat_question: Text = CSAT
    nps_question: Text = NPS
    resolved_question: Text = RESOLVED
    thanks: Text = THANKS
    no_input: Text = NO_INPUT
    no_match: Text = NO_MATCH

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}'") from None
        return value


@register
class SurveyNode(Node):
    """Invite a sampled caller; after the agent, take the two answers; log them for the KPIs."""

    kind = "survey"
    Spec = SurveySpec
    spec: SurveySpec
    waits = True

    def enter(self, ctx: Context) -> Result:
        """Before the agent: maybe invite. Back from the agent: the first question."""
        ctx.reset_attempts(self.id)
        stage = ctx.state.variables.get(STAGE)
        if stage == "accepted":
            return self.ask(ctx, "score")
        if not self.spec.enabled or stage is not None:  # asked once per call, whatever the answer
            return Goto(self.spec.next)
        decision = self.decide(ctx)
        if decision != "invite":
            ctx.log(PASSED if decision == "sampled_out" else SKIPPED, node=self.id, reason=decision)
            return Goto(self.spec.next)
        ctx.log(INVITED, node=self.id, scale=self.spec.scale)
        return self.ask(ctx, "invite")

    def decide(self, ctx: Context) -> str:
        """The service's sampling decision (everyone is invited without a database)."""
        if ctx.services is None:
            return "invite"
        rules = Sampling(
            every=self.spec.sample_every,
            daily_cap=self.spec.daily_cap,
            cooldown=timedelta(days=self.spec.cooldown_days),
            timezone=self.spec.timezone,
        )
        return str(ctx.services.get("survey").decide(rules, ctx.now))

    def ask(self, ctx: Context, stage: str, before: tuple[Any, ...] = ()) -> Result:
        """Play the question of ``stage`` and wait for the key or words."""
        ctx.state.variables[STAGE] = stage
        question = {
            "invite": self.spec.invite,
            "score": self.spec.csat_question if self.spec.scale == "csat" else self.spec.nps_question,
            "resolved": self.spec.resolved_question,
        }[stage]
        return Wait(tuple(before) + ctx.say(question), self.gather(ctx, stage))

    def gather(self, ctx: Context, stage: str) -> Gather:
        """One key for yes/no and CSAT; up to two keys and ``#`` for NPS; speech when available."""
        lang = ctx.state.language
        speech = bool(getattr(ctx.services, "speech_gather", False))
        if stage == "score":
            two = self.spec.scale == "nps"
            hints = NUMBER_HINTS.get(lang, ())[: 11 if two else 6]
            return Gather(
                num_digits=2 if two else 1,
                finish_on_key="#" if two else "",
                timeout=self.spec.timeout,
                speech=speech,
                hints=hints,
            )
        return Gather(num_digits=1, timeout=self.spec.timeout, speech=speech, hints=tuple(yes_no_words(lang)))

    def handle(self, ctx: Context, data: CallerInput) -> Result:
        """Apply the answer to the current question."""
        stage = ctx.state.variables.get(STAGE)
        if stage == "invite":
            return self.consent(ctx, data)
        if stage == "score":
            return self.score(ctx, data)
        if stage == "resolved":
            return self.resolved(ctx, data)
        return Goto(self.spec.next)  # an input for a stage that is over: carry on

    def consent(self, ctx: Context, data: CallerInput) -> Result:
        """Yes: remember to come back after the agent. No: never asked again in this call."""
        answer = self.yes_no(ctx, data)
        if answer is None:
            return self.retry(ctx, data, "invite", on_failure=self.no_consent)
        ctx.log("survey_consent", node=self.id, accepted=answer)
        if answer:
            ctx.state.variables[STAGE] = "accepted"
            ctx.state.variables[AFTER_AGENT] = self.id
            return Goto(self.spec.next, ctx.say(self.spec.accepted))
        ctx.state.variables[STAGE] = "declined"
        return Goto(self.spec.next, ctx.say(self.spec.declined))

    def no_consent(self, ctx: Context) -> Result:
        """No answer to the invitation is no consent: on to the agent without the survey."""
        ctx.state.variables[STAGE] = "unanswered"
        ctx.log(SKIPPED, node=self.id, reason="no answer")
        return Goto(self.spec.next)

    def score(self, ctx: Context, data: CallerInput) -> Result:
        """CSAT 1–5 or NPS 0–10 by keypad or voice; then the "resolved?" question."""
        low, high = SCALES[self.spec.scale]
        if data.digits:
            raw: str | None = data.digits.rstrip("#")
        else:
            raw = spoken_digits(data.speech or "", ctx.state.language) if not data.empty else None
        if not raw or not raw.isdigit() or not low <= int(raw) <= high:
            return self.retry(ctx, data, "score", on_failure=self.finish)
        self.answer(ctx, self.spec.scale, int(raw))
        ctx.reset_attempts(self.id)
        return self.ask(ctx, "resolved")

    def resolved(self, ctx: Context, data: CallerInput) -> Result:
        """Yes (1) or no (2), then thanks and goodbye."""
        answer = self.yes_no(ctx, data)
        if answer is None:
            return self.retry(ctx, data, "resolved", on_failure=self.finish)
        self.answer(ctx, "resolved", 1 if answer else 0)
        return self.finish(ctx)

    def finish(self, ctx: Context) -> Result:
        """Thank the caller and end the call."""
        ctx.state.variables[STAGE] = "done"
        return Wait(ctx.say(self.spec.thanks), Hangup())

    def answer(self, ctx: Context, question: str, value: int) -> None:
        """Log one answer, credited to the last agent of the call."""
        agent = ctx.services.get("survey").last_agent() if ctx.services is not None else None
        ctx.log("survey_answer", node=self.id, question=question, value=value, agent_id=agent)

    def yes_no(self, ctx: Context, data: CallerInput) -> bool | None:
        """Key 1 / 2, or a spoken yes / no; None when it is neither."""
        if data.digits:
            return {"1": True, "2": False}.get(data.digits[0])
        if data.speech and data.speech.strip():
            return yes_or_no(data.speech, ctx.flow.languages)
        return None

    def retry(self, ctx: Context, data: CallerInput, stage: str, on_failure: Any) -> Result:
        """Ask again after silence or a wrong answer; after the retries, ``on_failure(ctx)``."""
        reason = "no_input" if data.empty else "no_match"
        attempts = ctx.attempt(self.id)
        ctx.log(reason, node=self.id, attempt=attempts, stage=stage)
        if attempts > self.spec.retries:
            result: Result = on_failure(ctx)
            return result
        sorry = self.spec.no_input if data.empty else self.spec.no_match
        return self.ask(ctx, stage, before=ctx.say(sorry))

    def check(self, flow: Any) -> Iterator[tuple[tuple[str | int, ...], str]]:
        """A route node must follow directly (or through say/hours/goto nodes): the questions
        are asked after the agent hangs up."""
        seen: set[str] = set()
        todo = [self.spec.next]
        while todo:
            node_id = todo.pop()
            node = flow.nodes.get(node_id)
            if node_id in seen or node is None:
                continue
            if isinstance(node, RouteNode):
                return
            seen.add(node_id)
            todo.extend(node.immediate_targets())
        yield ("next",), "no route node follows this survey: its questions come after a conversation"
