"""The ``ask_intent`` node: "Sagen Sie mir kurz, worum es geht" → transcript → intent → route."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from pydantic import Field

from ivr.flows.nodes.base import Context, Goto, Node, NodeSpec, Result, Text, Wait, register
from ivr.flows.nodes.menu import switch_language
from ivr.flows.phrases import yes_no_words, yes_or_no
from ivr.flows.steps import CallerInput, Gather, Listen, Prompt, Record
from ivr.understanding.service import Heard, SpeechService, classifier_for, validation_model

OTHER = "other"
MAX_TRANSCRIPT = 500

#: How the confirmation question names each intent ("Geht es um {topic}?").
TOPICS: dict[str, dict[str, str]] = {
    "order_status": {"de": "den Stand Ihrer Bestellung", "en": "the status of your order"},
    "delivery_issue": {"de": "ein Problem mit einer Lieferung", "en": "a problem with a delivery"},
    "return_refund": {"de": "eine Rücksendung", "en": "a return"},
    "cancel_change": {"de": "eine Stornierung oder Änderung", "en": "cancelling or changing an order"},
    "payment_invoice": {"de": "eine Rechnung oder Zahlung", "en": "an invoice or a payment"},
    "product_question": {"de": "eine Frage zu einem Artikel", "en": "a question about a product"},
    "warranty_defect": {"de": "einen defekten Artikel", "en": "a faulty item"},
    "complaint": {"de": "eine Beschwerde", "en": "a complaint"},
    "account_data": {"de": "Ihr Kundenkonto", "en": "your customer account"},
    "agent": {"de": "ein Gespräch mit einem Mitarbeiter", "en": "talking to a person"},
    "callback": {"de": "einen Rückruf", "en": "a callback"},
}
HOW_TO_CONFIRM = {
    True: Text(
        {
            "de": "Sagen Sie ja oder nein, oder drücken Sie die 1 für ja und die 2 für nein.",
            "en": "Say yes or no, or press 1 for yes and 2 for no.",
        }
    ),
    False: Text(
        {"de": "Drücken Sie die 1 für ja und die 2 für nein.", "en": "Press 1 for yes and 2 for no."}
    ),
}


class AskIntentSpec(NodeSpec):
    """Ask why the caller calls and route by the recognised intent."""

    prompt: Text = Text(
        {"de": "Sagen Sie mir kurz, worum es geht.", "en": "Please tell me briefly what your call is about."}
    )
    intent_targets: dict[str, str]
    on_failure: str
    #: A keypad menu for when speech is switched off.
    fallback: str | None = None
    #: Route at once at or above this confidence; confirm between confirm_from and it.
    threshold: float = Field(default=0.6, gt=0, le=1)
    confirm_from: float = Field(default=0.2, ge=0, le=1)
    confirm: Text = Text({"de": "Geht es um {topic}?", "en": "Is it about {topic}?"})
    #: After a "no" to the confirmation: not a failure to understand, just the wrong guess.
    rejected: Text = Text(
        {
            "de": "Entschuldigung, dann habe ich Sie falsch verstanden. Sagen Sie mir bitte in einem "
            "kurzen Satz, worum es geht.",
            "en": "Sorry, then I got you wrong. Please tell me in one short sentence what it is about.",
        }
    )
    retry: Text = Text(
        {
            "de": "Das habe ich leider nicht verstanden. Sagen Sie mir bitte in einem "
            "kurzen Satz, worum es geht.",
            "en": "Sorry, I didn't get that. Please tell me in one short sentence what it is about.",
        }
    )
    no_input: Text = Text(
        {
            "de": "Ich habe leider nichts gehört. Sagen Sie mir bitte kurz, worum es geht.",
            "en": "Sorry, I didn't hear anything. Please tell me briefly what it is about.",
        }
    )
    timeout: int = Field(default=5, ge=1, le=30)
    max_length: int = Field(default=15, ge=3, le=30)


@register
class AskIntentNode(Node):
    """Capture a spoken reason, classify it, confirm when unsure, hand over after two failures."""

    kind = "ask_intent"
    provides = frozenset({"intent", "intent_text", "transcript"})
    fills = {"confirm": frozenset({"topic"})}
    Spec = AskIntentSpec
    spec: AskIntentSpec

    def enter(self, ctx: Context) -> Result:
        """Classify what the caller already said in the menu, else ask."""
        ctx.reset_attempts(self.id)
        variables = ctx.state.variables
        variables.pop("intent_candidate", None)
        pending = variables.get("transcript")
        if pending and pending != variables.get("intent_text"):
            return self.understand(ctx, str(pending))
        return self.capture(ctx, ctx.say(self.spec.prompt))

    def handle(self, ctx: Context, data: CallerInput) -> Result:
        """Take keys, a spoken answer, a recording or a streamed utterance."""
        candidate = ctx.state.variables.get("intent_candidate")
        if data.digits:
            return self.keys(ctx, data.digits[0], candidate)
        heard = self.heard(ctx, data)
        if heard.problem == "foreign_host":
            ctx.log("security", node=self.id, reason="RecordingUrl on a foreign host refused")
        if heard.problem or not heard.text.strip():
            reason = "no_match" if heard.problem in ("foreign_host", "unavailable") else "no_input"
            return self.fail(ctx, reason, problem=heard.problem)
        text = heard.text[:MAX_TRANSCRIPT]
        switch_language(ctx, self.id, text)
        ctx.state.variables["transcript"] = text
        ctx.log(
            "transcript",
            node=self.id,
            text=text,
            confidence=round(heard.confidence, 3),
            source=self.mode(ctx),
        )
        if candidate:
            answer = yes_or_no(text, ctx.flow.languages)
            if answer is True:
                return self.route(ctx, str(candidate), confirmed=True)
            if answer is False:
                ctx.state.variables.pop("intent", None)
                return self.fail(ctx, "rejected", intent=candidate)
        return self.understand(ctx, text)

    def keys(self, ctx: Context, key: str, candidate: Any) -> Result:
        """1/2 answer a confirmation; 0 is a person; other keys lead to the keypad menu."""
        if candidate and key == "1":
            return self.route(ctx, str(candidate), confirmed=True)
        if candidate and key == "2":
            ctx.state.variables.pop("intent", None)
            return self.fail(ctx, "rejected", intent=candidate)
        if key == "0":
            ctx.log("route", node=self.id, key=key, next=self.spec.on_failure)
            return Goto(self.spec.on_failure)
        if self.spec.fallback and not candidate:
            ctx.log("route", node=self.id, key=key, next=self.spec.fallback)
            return Goto(self.spec.fallback)
        return self.fail(ctx, "no_match", key=key)

    def heard(self, ctx: Context, data: CallerInput) -> Heard:
        """The utterance from Twilio's recogniser, our recording recogniser or a media stream."""
        if data.speech:
            return Heard(data.speech, data.confidence or 0.0)
        speech = _service(ctx)
        if speech is None:
            return Heard("", 0.0)
        token = ctx.state.variables.get("listen_token")
        kept = speech.streamed(str(token)) if token else None
        if kept is not None:  # recognised by the /heard webhook or a media stream
            return kept
        if data.recording_url:  # a recording that reached the plain step webhook
            return speech.recognise_recording(data.recording_url)
        return Heard("", 0.0)

    def understand(self, ctx: Context, text: str) -> Result:
        """Classify ``text`` and route, confirm or retry."""
        result = classifier_for(ctx.flow).classify(text, ctx.state.language)
        variables = ctx.state.variables
        variables["intent_text"] = text
        variables["intent"] = result.intent
        variables["intent_confidence"] = round(result.confidence, 3)
        ctx.log(
            "intent",
            node=self.id,
            text=text,
            intent=result.intent,
            confidence=round(result.confidence, 3),
            runner_up=result.runner_up,
            runner_up_confidence=round(result.runner_up_confidence, 3),
            lang=result.lang,
        )
        targets = self.spec.intent_targets
        if result.intent in targets and result.confidence >= self.spec.threshold:
            return self.route(ctx, result.intent, confirmed=False)
        unsure = result.intent if result.intent != OTHER else result.runner_up
        unsure_conf = result.confidence if result.intent != OTHER else result.runner_up_confidence
        if unsure in targets and unsure_conf >= self.spec.confirm_from:
            return self.ask_confirmation(ctx, str(unsure))
        if result.intent != OTHER:  # understood, but this flow has no place for it: a person
            ctx.log(
                "route",
                node=self.id,
                intent=result.intent,
                next=self.spec.on_failure,
                reason="no target for intent",
            )
            return Goto(self.spec.on_failure)
        return self.fail(ctx, "no_match")

    def ask_confirmation(self, ctx: Context, intent: str) -> Result:
        """ "Geht es um eine Rücksendung?" — yes/no by voice, or 1/2."""
        ctx.state.variables["intent_candidate"] = intent
        lang = ctx.state.language
        names = TOPICS.get(intent, {})
        topic = names.get(lang) or names.get(ctx.flow.default_language) or intent
        voice = self.mode(ctx) in ("twilio", "stream")
        prompts = ctx.say(self.spec.confirm, topic=topic) + ctx.say(HOW_TO_CONFIRM[voice])
        ctx.log("confirm", node=self.id, intent=intent)
        return self.capture(ctx, prompts, grammar=tuple(yes_no_words(lang)), keys_only=not voice)

    def suggest(self, ctx: Context, text: str) -> str | None:
        """The intent's node when the classifier is sure of ``text`` (a menu then trusts it)."""
        result = classifier_for(ctx.flow).classify(text, ctx.state.language)
        target = self.spec.intent_targets.get(result.intent)
        return target if target and result.confidence >= self.spec.threshold else None

    def route(self, ctx: Context, intent: str, confirmed: bool) -> Result:
        """Continue at the intent's node."""
        target = self.spec.intent_targets[intent]
        ctx.reset_attempts(self.id)
        ctx.state.variables.pop("intent_candidate", None)
        ctx.state.variables["intent"] = intent
        ctx.log("route", node=self.id, intent=intent, confirmed=confirmed, next=target)
        return Goto(target)

    def fail(self, ctx: Context, reason: str, **data: Any) -> Result:
        """Ask once more; the second failure goes to ``on_failure`` (a person)."""
        attempts = ctx.attempt(self.id)
        ctx.state.variables.pop("intent_candidate", None)
        ctx.log(reason, node=self.id, attempt=attempts, **data)
        if attempts > 1:
            ctx.log("route", node=self.id, next=self.spec.on_failure, reason="not understood")
            return Goto(self.spec.on_failure)
        text = {"no_input": self.spec.no_input, "rejected": self.spec.rejected}.get(reason, self.spec.retry)
        return self.capture(ctx, ctx.say(text))

    def capture(
        self,
        ctx: Context,
        prompts: tuple[Prompt, ...],
        grammar: tuple[str, ...] = (),
        keys_only: bool = False,
    ) -> Result:
        """Wait for the answer the way the configured speech mode captures it."""
        mode = self.mode(ctx)
        if mode == "off":
            target = self.spec.fallback or self.spec.on_failure
            ctx.log("route", node=self.id, next=target, reason="speech input is off")
            return Goto(target)
        if mode == "twilio":
            gather = Gather(
                num_digits=1, timeout=self.spec.timeout, speech=True, hints=grammar, sentence=not grammar
            )
            return Wait(prompts, gather)
        if keys_only:
            return Wait(prompts, Gather(num_digits=1, timeout=self.spec.timeout))
        token = uuid.uuid4().hex[:16]  # keys what the recogniser hears to this very question
        ctx.state.variables["listen_token"] = token
        if mode == "stream":
            # The stream hears the prompt's silence too; give the caller time after it ends.
            no_input = self.spec.timeout + sum(len(p.text or "") for p in prompts) // 14
            return Wait(
                prompts,
                Listen(
                    token=token,
                    timeout=self.spec.timeout + self.spec.max_length,
                    no_input=no_input,
                    grammar=grammar,
                ),
            )
        return Wait(prompts, Record(max_length=self.spec.max_length, purpose="speech", timeout=3))

    def mode(self, ctx: Context) -> str:
        """The capture mode of this call (twilio when no services are plugged in, as in engine tests)."""
        speech = _service(ctx)
        return speech.mode if speech is not None else "twilio"

    def check(self, flow: Any) -> Iterator[tuple[tuple[str | int, ...], str]]:
        """Intent labels must exist; grammar words must be in the loaded model's vocabulary."""
        from speech.intents import LABELS

        known = set(LABELS) | set(getattr(flow, "intents", {}) or {})
        for label in self.spec.intent_targets:
            if label not in known:
                names = ", ".join(sorted(known))
                yield ("intent_targets", label), f"unknown intent '{label}' (known: {names})"
        model = validation_model()
        if model is not None:
            for lang in getattr(flow, "languages", ["de"]):
                missing = model.missing_words(yes_no_words(lang))
                if missing:
                    yield (
                        ("type",),
                        (
                            f"yes/no words for '{lang}' unknown to the Vosk model "
                            f"{model.path.name}: {', '.join(missing)}"
                        ),
                    )


def _service(ctx: Context) -> SpeechService | None:
    services = ctx.services
    if services is None or not hasattr(services, "get"):
        return None
    speech: SpeechService = services.get("speech")
    return speech
