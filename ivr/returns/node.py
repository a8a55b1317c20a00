"""The ``return_request`` node: verify the caller as for order status, then register a return."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field, field_validator

from ivr.flows.nodes.base import Context, Goto, Result, Wait, register
from ivr.flows.phrases import yes_or_no
from ivr.flows.steps import CallerInput, Prompt
from ivr.orders.node import OrderStatusNode, OrderStatusSpec, _today
from ivr.orders.prompts import OrderPrompts
from ivr.orders.source import OrderInfo
from ivr.orders.wording import say_date
from ivr.readback import spell_number
from ivr.returns.models import RECEIVED, REFUNDED
from ivr.returns.policy import (
    MAX_LISTED_ITEMS,
    REASON_KEYS,
    STATUTORY_DAYS,
    item_from_speech,
    reason_from_speech,
    return_deadline,
    split_items,
)
from ivr.returns.prompts import ALL_ITEMS, REASON_WORDING, THE_ORDER, VERIFY_PROMPTS, ReturnPrompts
from ivr.returns.service import NewReturn, label_channel

#: Reasons that are no plain return: they lead to a person (``reason_targets``).
DIVERTED = ("damaged", "defective")


class ReturnRequestSpec(OrderStatusSpec):
    """Returns by phone; ``reason_targets`` sends damaged and defective goods to a person or callback."""

    prompts: OrderPrompts = Field(default_factory=lambda: VERIFY_PROMPTS)
    return_prompts: ReturnPrompts = Field(default_factory=ReturnPrompts)
    #: The shop's return period in days from delivery: at least the statutory 14.
    period_days: int = Field(default=STATUTORY_DAYS, ge=STATUTORY_DAYS, le=365)
    #: ``damaged`` (the delivery-problem path) and ``defective`` (warranty) → node; else ``on_failure``.
    reason_targets: dict[str, str] = Field(default_factory=dict)

    @field_validator("prompts", mode="before")
    @classmethod
    def _return_wording_by_default(cls, value: object) -> object:
        """Prompts a flow leaves out keep the return wording, not the order node's."""
        if isinstance(value, dict):
            return {**VERIFY_PROMPTS.model_dump(), **value}
        return value

    @field_validator("reason_targets")
    @classmethod
    def _known_reasons(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = set(value) - set(DIVERTED)
        if unknown:
            raise ValueError(f"reason_targets takes {', '.join(DIVERTED)}, not {', '.join(sorted(unknown))}")
        return value


@register
class ReturnRequestNode(OrderStatusNode):
    """Order (latest delivered first), item(s), reason, confirmation; then number and label."""

    kind = "return_request"
    provides = frozenset({"order_date", "order_number", "return_number"})
    fills = {
        "return_prompts.expired": frozenset({"period_days", "deadline"}),
        "return_prompts.pick_item": frozenset({"choices"}),
        "return_prompts.item_choice": frozenset({"item", "key"}),
        "return_prompts.ask_reason": frozenset({"items"}),
        "return_prompts.confirm": frozenset({"items", "reason"}),
        "return_prompts.status_received": frozenset({"date"}),
        "return_prompts.status_refunded": frozenset({"date"}),
    }
    Spec = ReturnRequestSpec
    spec: ReturnRequestSpec

    def _recent_order(self, ctx: Context, caller: str) -> OrderInfo | None:
        """The caller's most recently delivered order (what people return), if the source knows it."""
        latest = getattr(ctx.services.get("orders"), "latest_delivered", None)
        return latest(caller) if latest else None

    def _verified(self, ctx: Context, order: OrderInfo) -> Result:
        """A verified caller: the return in progress first, else the checks and the item list."""
        existing = ctx.services.get("returns").latest(order.order_number)
        if existing is not None:
            return self._say_status(ctx, existing)
        return self._start_return(ctx, order)

    # --- phases (the caller's answer to what the node asked last) ------------------------------

    def _on_closing(self, ctx: Context, data: CallerInput, keyed: str) -> Result:
        """After "not delivered yet": "0" was handled; anything else ends politely."""
        return Goto(self.spec.next)

    def _on_expired(self, ctx: Context, data: CallerInput, keyed: str) -> Result:
        if keyed == "4" or (not keyed and reason_from_speech(data.speech or "") == "defective"):
            return self._divert(ctx, "defective")
        if data.empty or keyed:
            return self._reprompt(ctx, data, self._expired_prompt(ctx), prompt_only=True)
        return Goto(self.spec.next)

    def _on_item(self, ctx: Context, data: CallerInput, keyed: str) -> Result:
        items = list(self._state(ctx)["items"])
        if keyed == "9":
            return self._ask_reason(ctx, items)
        index = (
            int(keyed) - 1
            if keyed.isdigit() and 0 < int(keyed) <= len(items)
            else item_from_speech(data.speech or "", items)
            if not keyed
            else None
        )
        if index is None:
            return self._reprompt(ctx, data, self._item_prompt(ctx, items))
        return self._ask_reason(ctx, [items[index]])

    def _on_reason(self, ctx: Context, data: CallerInput, keyed: str) -> Result:
        reason = REASON_KEYS.get(keyed) if keyed else reason_from_speech(data.speech or "")
        if reason is None:
            return self._reprompt(ctx, data, self._reason_prompt(ctx))
        ctx.state.variables["return_reason"] = reason  # the agent sees it
        if reason in DIVERTED:
            return self._divert(ctx, reason)
        self._set(ctx, reason=reason, phase="confirm", tries=0)
        return Wait(self._confirm_prompt(ctx), self._gather(ctx, digits=1))

    def _on_confirm(self, ctx: Context, data: CallerInput, keyed: str) -> Result:
        answer = yes_or_no(data.speech or "", ctx.flow.languages) if not keyed else None
        if keyed == "1" or answer is True:
            return self._register(ctx)
        if keyed == "2" or answer is False:
            order = ctx.services.get("orders").find(self._state(ctx)["number"])
            return self._start_return(ctx, order) if order else Goto(self.spec.on_failure)
        return self._reprompt(ctx, data, self._confirm_prompt(ctx))

    def _on_registered(self, ctx: Context, data: CallerInput, keyed: str) -> Result:
        if keyed == "1":
            number = self._state(ctx)["return_number"]
            p = self.spec.return_prompts
            return Wait(
                (*ctx.say(p.registered, return_number=spell_number(number, ctx.state.language)),),
                self._gather(ctx, digits=1),
            )
        return Goto(self.spec.next)

    def _on_status(self, ctx: Context, data: CallerInput, keyed: str) -> Result:
        order = ctx.services.get("orders").find(self._state(ctx)["number"])
        if order is None or (data.empty and not keyed):
            return Goto(self.spec.next)
        if keyed == "1":
            return self._verified(ctx, order)
        if keyed == "2":
            return self._start_return(ctx, order)
        return self._reprompt(ctx, data, ctx.say(self.spec.return_prompts.after_status), prompt_only=True)

    # --- steps -------------------------------------------------------------------------------

    def _start_return(self, ctx: Context, order: OrderInfo) -> Result:
        """Explain an order not delivered or past its period; else list its items (or go on)."""
        p, today = self.spec.return_prompts, _today(ctx)
        if order.status != "delivered":
            ctx.log("return_check", node=self.id, result="not_delivered", status=order.status)
            return self._ask(ctx, "closing", p.not_delivered)
        deadline = return_deadline(order.delivered_at, today, self.spec.period_days)
        if deadline < today:
            ctx.log("return_check", node=self.id, result="expired", days_late=(today - deadline).days)
            self._set(ctx, deadline=deadline.isoformat())
            self._set(ctx, phase="expired", tries=0)
            return Wait(self._expired_prompt(ctx), self._gather(ctx, digits=1))
        items = split_items(order.items)
        if ctx.services.get("returns").count(order.order_number) >= max(len(items), 1):
            ctx.log("return_check", node=self.id, result="all_returned")
            return self._ask(ctx, "closing", p.all_returned)  # no endless returns from one order
        ctx.log("return_check", node=self.id, result="within_period", days_left=(deadline - today).days)
        if len(items) > MAX_LISTED_ITEMS:
            return Goto(self.spec.on_failure, ctx.say(p.too_many_items))
        if len(items) > 1:
            self._set(ctx, items=items, phase="item", tries=0)
            return Wait(self._item_prompt(ctx, items), self._gather(ctx, digits=1))
        return self._ask_reason(ctx, items)

    def _ask_reason(self, ctx: Context, chosen: list[str]) -> Result:
        self._set(ctx, chosen=chosen, phase="reason", tries=0)
        return Wait(self._reason_prompt(ctx), self._gather(ctx, digits=1))

    def _register(self, ctx: Context) -> Result:
        """Store the return, say its number and how the label comes; the caller is done."""
        st, p, lang = self._state(ctx), self.spec.return_prompts, ctx.state.language
        order = ctx.services.get("orders").find(st["number"])
        if order is None:
            return Goto(self.spec.on_failure)
        new = NewReturn(order.order_number, list(st["chosen"]), st["reason"], order.phone, order.email, lang)
        number = ctx.services.get("returns").register(new, ctx.now)
        channel = label_channel(order.phone, order.email)
        ctx.log(
            "return_registered",
            node=self.id,
            order_number=order.order_number,
            return_number=number,
            reason=st["reason"],
            items=len(new.items),
            label_via=channel or "agent",
        )
        ctx.state.variables["return_number"] = number
        ctx.state.variables["outcome"] = "self_service"
        self._set(ctx, return_number=number, phase="registered", tries=0)
        label = {"sms": p.label_sms, "email": p.label_email}.get(channel or "", p.label_by_agent)
        spoken = spell_number(number, lang)
        prompts = (
            *ctx.say(p.registered, return_number=spoken),
            *ctx.say(label),
            *ctx.say(p.after_registered),
        )
        return Wait(prompts, self._gather(ctx, digits=1))

    def _say_status(self, ctx: Context, existing: Any) -> Result:
        """Where the return (and its refund) stands, with the date the shop reported."""
        p, lang, today = self.spec.return_prompts, ctx.state.language, _today(ctx)
        text, day = {
            REFUNDED: (p.status_refunded, existing.refunded_on),
            RECEIVED: (p.status_received, existing.received_on),
        }.get(existing.state, (p.status_registered, None))
        ctx.log("return_status", node=self.id, return_number=existing.return_number, state=existing.state)
        ctx.state.variables["outcome"] = "self_service"
        self._set(ctx, phase="status", tries=0)
        values = {
            "return_number": spell_number(existing.return_number, lang),
            "date": say_date(day, lang, today) if day else "",
        }
        prompts = (*ctx.say(text, **values), *ctx.say(p.after_status))
        return Wait(prompts, self._gather(ctx, digits=1))

    def _divert(self, ctx: Context, reason: str) -> Result:
        """Damaged goods take the delivery-problem path, faults after use the warranty path."""
        p = self.spec.return_prompts
        if reason == "damaged":
            ctx.state.variables["order_problem"] = "damaged"
        target = self.spec.reason_targets.get(reason, self.spec.on_failure)
        if ctx.state.variables.get("outcome") == "self_service":
            del ctx.state.variables["outcome"]
        ctx.log("route", node=self.id, next=target, reason=f"return reason {reason}")
        return Goto(target, ctx.say(p.damaged if reason == "damaged" else p.defective))

    # --- wording -----------------------------------------------------------------------------

    def _confirm_prompt(self, ctx: Context) -> tuple[Prompt, ...]:
        st, lang = self._state(ctx), ctx.state.language
        items = self._items_words(ctx, st.get("chosen") or [])
        return ctx.say(self.spec.return_prompts.confirm, items=items, reason=_reason(st, lang))

    def _items_words(self, ctx: Context, chosen: list[str]) -> str:
        lang = "de" if ctx.state.language == "de" else "en"
        everything = self._state(ctx).get("items") or []
        if not chosen:
            return THE_ORDER[lang]
        if len(chosen) > 1 and chosen == everything:
            return ALL_ITEMS[lang]
        return ", ".join(chosen)

    def _item_prompt(self, ctx: Context, items: list[str]) -> tuple[Prompt, ...]:
        p = self.spec.return_prompts
        choices = " ".join(
            prompt.text or ""
            for i, item in enumerate(items, 1)
            for prompt in ctx.say(p.item_choice, item=item, key=i)
        )
        return ctx.say(p.pick_item, choices=choices)

    def _reason_prompt(self, ctx: Context) -> tuple[Prompt, ...]:
        chosen = self._state(ctx).get("chosen") or []
        return ctx.say(self.spec.return_prompts.ask_reason, items=self._items_words(ctx, chosen))

    def _expired_prompt(self, ctx: Context) -> tuple[Prompt, ...]:
        deadline = date.fromisoformat(self._state(ctx)["deadline"])
        return ctx.say(
            self.spec.return_prompts.expired,
            period_days=self.spec.period_days,
            deadline=say_date(deadline, ctx.state.language, _today(ctx)),
        )


def _reason(st: dict[str, Any], lang: str) -> str:
    return REASON_WORDING["de" if lang == "de" else "en"].get(st.get("reason") or "", "")
