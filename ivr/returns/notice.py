"""The ``order_notice`` node: before the menu, tell a caller what we already know they call about.

Only a caller whose caller ID placed the order hears it, and only what the order node's caller-ID
offer already reveals to that caller (the order date, that it is late, the new date).
"""

from __future__ import annotations

from pydantic import Field, field_validator

from ivr.flows.nodes.base import Context, Goto, Node, NodeSpec, Result, Text, Wait, register
from ivr.flows.steps import CallerInput, Gather, Prompt
from ivr.orders.node import NOTICE_ORDER, _today
from ivr.orders.source import SourceUnavailable
from ivr.orders.wording import is_overdue, say_date, say_order_date

KINDS = ("order", "return")


def _t(de: str, en: str) -> Text:
    return Text({"de": de, "en": en})


class OrderNoticeSpec(NodeSpec):
    """``next`` when there is nothing to say or the caller wants something else; ``answer_targets``
    (``order``, ``return``) when they press 1."""

    next: str
    answer_targets: dict[str, str]
    delayed: Text = _t(
        "Ihre Bestellung {order_date} verspätet sich leider.{new_date} Wenn Sie deshalb anrufen, "
        "drücken Sie die 1. Für alles andere bleiben Sie einfach dran.",
        "We are sorry: your order {order_date} is delayed.{new_date} If that is why you are calling, "
        "press 1. For anything else, just hold the line.",
    )
    new_date: Text = _t(" Neuer voraussichtlicher Termin: {date}.", " The new expected date is {date}.")
    return_in_progress: Text = _t(
        "Zu Ihrer Rücksendung aus der Bestellung {order_date}: Wenn Sie deshalb anrufen, drücken Sie "
        "die 1. Für alles andere bleiben Sie einfach dran.",
        "About your return from your order {order_date}: if that is why you are calling, press 1. "
        "For anything else, just hold the line.",
    )
    timeout: int = Field(default=3, ge=1, le=10)
    #: The key that switches to ``language`` (the main menu's "For English, press 9" comes later).
    language_key: str = "9"
    language: str = "en"
    language_offer: Text = _t("For English, press 9.", "For English, press 9.")

    @field_validator("answer_targets")
    @classmethod
    def _known_kinds(cls, value: dict[str, str]) -> dict[str, str]:
        if set(value) - set(KINDS):
            raise ValueError(f"answer_targets takes {', '.join(KINDS)}")
        return value


@register
class OrderNoticeNode(Node):
    """Says a known delay or a return in progress first, so the caller is done with one key."""

    kind = "order_notice"
    provides = frozenset({"order_date"})
    fills = {"delayed": frozenset({"new_date"}), "new_date": frozenset({"date"})}
    Spec = OrderNoticeSpec
    spec: OrderNoticeSpec
    waits = True

    def enter(self, ctx: Context) -> Result:
        """A delayed or overdue open order first, else a return in progress, else straight on."""
        caller = ctx.services.caller
        if not caller:
            return Goto(self.spec.next)
        try:
            order = ctx.services.get("orders").latest_open(caller)
        except SourceUnavailable:
            return Goto(self.spec.next)
        today, lang = _today(ctx), ctx.state.language
        if order is not None and (order.status == "delayed" or is_overdue(order, today)):
            reason = "delayed" if order.status == "delayed" else "overdue"
            due = order.expected_delivery if order.status == "delayed" else None
            new_date = (
                ctx.say(self.spec.new_date, date=say_date(due, lang, today))[0].text
                if due and due >= today
                else ""
            )
            prompts = ctx.say(
                self.spec.delayed, order_date=say_order_date(order.ordered_at, lang, today), new_date=new_date
            )
            return self._offer(ctx, "order", reason, order.order_number, prompts)
        found = ctx.services.get("returns").in_progress(caller)
        if found is not None:
            number, ordered = found
            prompts = ctx.say(self.spec.return_in_progress, order_date=say_order_date(ordered, lang, today))
            return self._offer(ctx, "return", "return", number, prompts)
        return Goto(self.spec.next)

    def handle(self, ctx: Context, data: CallerInput) -> Result:
        """ "1": the caller calls about it; anything else (or nothing): on to the menu."""
        offer = dict(ctx.state.variables.get("notice") or {})
        if data.digits == self.spec.language_key and ctx.state.language != self.spec.language:
            ctx.state.language = self.spec.language
            ctx.log("language", node=self.id, language=self.spec.language, reason="caller pressed a key")
            return self.enter(ctx)
        accepted = (data.digits or "").startswith("1")
        ctx.log("proactive_notice", node=self.id, reason=offer.get("reason"), offered=True, accepted=accepted)
        if not accepted:
            return Goto(self.spec.next)
        ctx.state.variables[NOTICE_ORDER] = offer.get("order_number")
        ctx.state.variables["proactive_notice"] = offer.get("reason")  # the agent and the KPIs see it
        target = self.spec.answer_targets.get(str(offer.get("kind")), self.spec.next)
        return Goto(target)

    def _offer(
        self, ctx: Context, kind: str, reason: str, number: str, prompts: tuple[Prompt, ...]
    ) -> Result:
        ctx.state.variables["notice"] = {"kind": kind, "reason": reason, "order_number": number}
        lang = self.spec.language
        if ctx.state.language != lang and lang in ctx.flow.languages:
            text = self.spec.language_offer.get(lang, lang)
            prompts = (*prompts, Prompt(lang=lang, text=text))
        return Wait(prompts, Gather(num_digits=1, timeout=self.spec.timeout, speech=False))
