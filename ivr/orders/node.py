"""The ``order_status`` node: find the caller's order, verify them, then say where it is."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field

from ivr.flows.nodes.base import Context, Goto, Node, NodeSpec, Result, Text, Wait, register
from ivr.flows.nodes.menu import spoken_digits
from ivr.flows.phrases import words, yes_or_no
from ivr.flows.steps import CallerInput, Gather, Prompt
from ivr.orders.prompts import OrderPrompts
from ivr.orders.source import OrderInfo, SourceUnavailable, mask_order_number
from ivr.orders.wording import compose_answer, compose_tracking, is_overdue, say_order_date
from ivr.phone import WITHHELD, caller_key, mask_phone

log = logging.getLogger(__name__)

ORDER_NUMBER = re.compile(r"^[0-9]{3,20}$")
AGENT_WORDS = {"mitarbeiter", "mitarbeiterin", "mensch", "person", "agent", "operator", "kollege"}
#: Per-call count of failed verifications (postal codes that do not match, or an unknown number).
FAILURES = "order_verification_failures"
STATE = "order_lookup"
#: Set by the ``order_notice`` node: the order the caller just said they call about (press 1).
NOTICE_ORDER = "notice_order"
#: Dates are spoken as the caller's calendar shows them (German market first).
LOCAL_TZ = ZoneInfo("Europe/Berlin")


class OrderStatusSpec(NodeSpec):
    """Order-status self-service; ``next`` when the caller is done, ``on_failure`` for an agent."""

    next: str
    on_failure: str
    #: A callback node offered to callers whose parcel is overdue (key 5).
    callback_next: str | None = None
    prompts: OrderPrompts = Field(default_factory=OrderPrompts)
    attempts: int = Field(default=3, ge=1, le=5)
    postal_attempts: int = Field(default=2, ge=1, le=3)
    max_failures_per_call: int = Field(default=3, ge=1, le=10)
    #: Per caller ID over a rolling 24 hours.
    max_failures_per_day: int = Field(default=10, ge=1, le=100)
    #: Per order number over a rolling 24 hours, whatever the caller ID.
    max_failures_per_order: int = Field(default=5, ge=1, le=100)
    #: All callers without a usable caller ID together, over a rolling 24 hours.
    max_failures_withheld: int = Field(default=5, ge=1, le=100)
    timeout: int = Field(default=6, ge=1, le=30)


@register
class OrderStatusNode(Node):
    """Caller-ID offer or order number, then caller ID or postal code, then the answer."""

    kind = "order_status"
    provides = frozenset({"order_date", "order_number"})
    Spec = OrderStatusSpec
    spec: OrderStatusSpec
    waits = True
    masks_input = True

    def enter(self, ctx: Context) -> Result:
        """Offer the caller's newest open order, or ask for an order number."""
        ctx.state.variables[STATE] = {"phase": "number", "tries": 0}
        if limit := self._caller_limit_hit(ctx):
            return self._lock_out(ctx, "blocked", limit)
        caller = ctx.services.caller
        if noticed := ctx.state.variables.pop(NOTICE_ORDER, None):
            try:
                return self._look_up(ctx, str(noticed))  # verified as ever: caller ID, else postal code
            except SourceUnavailable:
                return self._unavailable(ctx)
        try:
            recent = self._recent_order(ctx, caller) if caller else None
        except SourceUnavailable:
            return self._unavailable(ctx)
        if recent is None:
            return self._ask(ctx, "number", self.spec.prompts.ask_number)
        self._set(ctx, number=recent.order_number)
        ctx.state.variables["order_date"] = say_order_date(recent.ordered_at, ctx.state.language, _today(ctx))
        return self._ask(ctx, "offer", self.spec.prompts.offer_recent)

    def handle(self, ctx: Context, data: CallerInput) -> Result:
        """Apply the caller's answer to whatever the node asked last."""
        st = self._state(ctx)
        keyed = (data.digits or "").rstrip("#")
        if keyed == "0" or (not keyed and AGENT_WORDS & set(words(data.speech or ""))):
            return self._to_agent(ctx, "caller asked for an agent")
        try:
            handler: Callable[[Context, CallerInput, str], Result] = getattr(self, f"_on_{st['phase']}")
            return handler(ctx, data, keyed)
        except SourceUnavailable:
            return self._unavailable(ctx)

    # --- phases -----------------------------------------------------------------------

    def _on_offer(self, ctx: Context, data: CallerInput, keyed: str) -> Result:
        if keyed == "1":
            return self._look_up(ctx, self._state(ctx)["number"])
        if keyed == "2":
            return self._ask(ctx, "number", self.spec.prompts.ask_number)
        return self._reprompt(ctx, data, ctx.say(self.spec.prompts.offer_recent))

    def _on_number(self, ctx: Context, data: CallerInput, keyed: str) -> Result:
        p = self.spec.prompts
        if data.empty:
            return self._retry(ctx, p.no_input, p.ask_number)
        number = keyed if data.digits else spoken_digits(data.speech or "", ctx.state.language)
        if not number or not ORDER_NUMBER.match(number):
            ctx.log("order_lookup", node=self.id, valid=False, length=len(number or ""))
            return self._retry(ctx, p.invalid_number, p.ask_number)
        return self._look_up(ctx, number)

    def _on_postal(self, ctx: Context, data: CallerInput, keyed: str) -> Result:
        p, st = self.spec.prompts, self._state(ctx)
        if data.empty:
            return self._retry(ctx, p.no_input, p.ask_postal, limit=self.spec.postal_attempts)
        given = keyed if data.digits else spoken_digits(data.speech or "", ctx.state.language)
        number, guard = st["number"], ctx.services.get("order_guard")
        guard.lock(caller_key(ctx.services.caller), number)  # counts below are final until commit
        if limit := self._caller_limit_hit(ctx) or self._order_limit_hit(ctx, number):
            return self._lock_out(ctx, "blocked", limit)
        order = ctx.services.get("orders").find(number)
        if order is not None and given and _same_postal(given, order.postal_code):
            return self._answer(ctx, order, "postal_code")
        st = self._set(ctx, postal_failures=st.get("postal_failures", 0) + 1)
        if limit := self._fail_verification(ctx, number):
            return self._lock_out(ctx, "limit reached", limit)
        if st["postal_failures"] >= self.spec.postal_attempts:
            ctx.log(
                "order_lookup",
                node=self.id,
                order_number=st["number"],
                verified=False,
                answered="nothing",
                reason="postal code wrong",
            )
            return self._ask(ctx, "not_verified", p.not_verified)
        return Wait(ctx.say(p.wrong_postal), self._gather(ctx, digits=None))

    def _on_answer(self, ctx: Context, data: CallerInput, keyed: str) -> Result:
        st = self._state(ctx)
        order = ctx.services.get("orders").find(st["number"])
        if data.empty or order is None:
            return Goto(self.spec.next)  # the caller has heard what they wanted: goodbye
        lang = ctx.state.language
        if keyed == "1":
            return self._say_answer(ctx, order)
        if keyed == "2" and order.tracking_number:
            ctx.log("order_tracking", node=self.id, order_number=order.order_number)
            return Wait(
                (*ctx.say(Text(compose_tracking(order, lang))), *self._menu(ctx, order)),
                self._gather(ctx, digits=1),
            )
        if keyed == "3":
            return self._ask(ctx, "number", self.spec.prompts.ask_number)
        overdue = is_overdue(order, _today(ctx))
        if keyed == "4" and (order.status == "delivered" or overdue):
            ctx.state.variables["order_problem"] = "overdue" if overdue else True
            return self._to_agent(ctx, "caller reports a delivery problem")
        if keyed == "5" and overdue and self.spec.callback_next:
            ctx.state.variables["order_problem"] = "overdue"
            ctx.log("route", node=self.id, next=self.spec.callback_next, reason="callback about a late order")
            return Goto(self.spec.callback_next)
        return self._reprompt(ctx, data, self._menu(ctx, order), prompt_only=True)

    def _on_not_verified(self, ctx: Context, data: CallerInput, keyed: str) -> Result:
        """ "0" was handled above: a spoken yes is a person too, a no a polite goodbye."""
        answer = yes_or_no(data.speech or "", ctx.flow.languages) if not keyed else None
        if answer is True:
            return self._to_agent(ctx, "caller asked for an agent")
        if answer is False:
            return Goto(self.spec.next)
        # Silence or another key: ask again; still nothing → a person rather than a goodbye.
        return self._reprompt(ctx, data, ctx.say(self.spec.prompts.not_verified))

    # --- steps ------------------------------------------------------------------------

    def _look_up(self, ctx: Context, number: str) -> Result:
        """Find the order; reveal it only to a verified caller.

        Until the caller is verified, an unknown number sounds exactly like a known one (the postal
        code is asked for, then "cannot verify"), so the hotline is no oracle for order numbers.
        """
        if limit := self._caller_limit_hit(ctx):
            return self._lock_out(ctx, "blocked", limit)
        order = ctx.services.get("orders").find(number)
        ctx.state.variables["order_number"] = number  # for the agent, should the caller need one
        self._set(ctx, number=number, postal_failures=0)
        caller = ctx.services.caller
        if order is not None and caller and order.phone == caller:
            return self._answer(ctx, order, "caller_id")
        if order is None:
            ctx.log("order_lookup", node=self.id, order_number=number, found=False, verified=False)
        if limit := self._order_limit_hit(ctx, number):
            return self._lock_out(ctx, "blocked", limit)
        return self._ask(ctx, "postal", self.spec.prompts.ask_postal)

    def _answer(self, ctx: Context, order: OrderInfo, verified_by: str) -> Result:
        ctx.log(
            "order_lookup",
            node=self.id,
            order_number=order.order_number,
            found=True,
            verified=True,
            verified_by=verified_by,
            answered=order.status,
        )
        return self._verified(ctx, order)

    def _verified(self, ctx: Context, order: OrderInfo) -> Result:
        """What a verified caller hears: here the order's status (other order nodes say more)."""
        ctx.state.variables["outcome"] = "self_service"
        return self._say_answer(ctx, order)

    def _say_answer(self, ctx: Context, order: OrderInfo) -> Result:
        self._set(ctx, phase="answer", tries=0)
        answer = compose_answer(order, ctx.state.language, _today(ctx))
        return Wait((*ctx.say(Text(answer)), *self._menu(ctx, order)), self._gather(ctx, digits=1))

    def _menu(self, ctx: Context, order: OrderInfo) -> tuple[Prompt, ...]:
        """The choices after an answer; a late parcel's are reporting it and a callback."""
        p = self.spec.prompts
        if is_overdue(order, _today(ctx)):
            ctx.state.variables["order_overdue"] = True  # the agent sees it
            offer = ctx.say(p.offer_callback) if self.spec.callback_next else ()
            return ctx.say(p.menu_overdue) + offer
        if order.status == "delivered":
            return ctx.say(p.menu_delivered)
        return ctx.say(p.menu if order.tracking_number else p.menu_without_tracking)

    # --- helpers ----------------------------------------------------------------------

    def _recent_order(self, ctx: Context, caller: str) -> OrderInfo | None:
        """The order offered to a caller whose caller ID placed it: the newest open one."""
        order: OrderInfo | None = ctx.services.get("orders").latest_open(caller)
        return order

    def _state(self, ctx: Context) -> dict[str, Any]:
        """This node's part of the call state (read-only; change it with ``_set``)."""
        return dict(ctx.state.variables.get(STATE) or {"phase": "number", "tries": 0})

    def _set(self, ctx: Context, **changes: Any) -> dict[str, Any]:
        """Replace, never mutate, the stored state: SQLAlchemy only saves JSON it sees replaced."""
        st = {**self._state(ctx), **changes}
        ctx.state.variables[STATE] = st
        return st

    def _gather(self, ctx: Context, digits: int | None) -> Gather:
        speech = bool(getattr(ctx.services, "speech_gather", False))
        if digits:
            return Gather(num_digits=digits, timeout=self.spec.timeout, speech=speech)
        return Gather(finish_on_key="#", timeout=self.spec.timeout, speech=speech)

    def _ask(self, ctx: Context, phase: str, text: Text) -> Result:
        """Say ``text`` and wait in ``phase``: numbers end with ``#``, menus take one key."""
        self._set(ctx, phase=phase, tries=0)
        return Wait(ctx.say(text), self._gather(ctx, None if phase in {"number", "postal"} else 1))

    def _retry(self, ctx: Context, why: Text, ask: Text, limit: int | None = None) -> Result:
        """Explain and ask again, or hand over to an agent once the attempts are used up."""
        st = self._set(ctx, tries=self._state(ctx).get("tries", 0) + 1)
        if st["tries"] >= (limit or self.spec.attempts):
            ctx.log("route", node=self.id, next=self.spec.on_failure, reason="attempts used up")
            return Goto(self.spec.on_failure, ctx.say(self.spec.prompts.give_up))
        return Wait(ctx.say(why) + ctx.say(ask), self._gather(ctx, digits=None))

    def _reprompt(
        self, ctx: Context, data: CallerInput, menu: tuple[Prompt, ...], prompt_only: bool = False
    ) -> Result:
        """A menu heard nothing or a wrong key: say the menu again, twice at most."""
        st = self._set(ctx, tries=self._state(ctx).get("tries", 0) + 1)
        if st["tries"] > 2:
            return Goto(self.spec.next if prompt_only else self.spec.on_failure)
        why = self.spec.prompts.no_input if data.empty else self.spec.prompts.no_match
        return Wait(ctx.say(why) + menu, self._gather(ctx, digits=1))

    def _to_agent(self, ctx: Context, reason: str) -> Result:
        if ctx.state.variables.get("outcome") == "self_service":
            del ctx.state.variables["outcome"]  # the agent, not the IVR, resolves this call
        ctx.log("route", node=self.id, next=self.spec.on_failure, reason=reason)
        return Goto(self.spec.on_failure)

    def _unavailable(self, ctx: Context) -> Result:
        ctx.log("order_source_unavailable", node=self.id)
        return Goto(self.spec.on_failure, ctx.say(self.spec.prompts.unavailable))

    def _caller_limit_hit(self, ctx: Context) -> str | None:
        """``call``, ``caller`` or ``withheld`` when that limit is used up, else None."""
        if ctx.state.counters.get(FAILURES, 0) >= self.spec.max_failures_per_call:
            return "call"
        key = caller_key(ctx.services.caller)
        limit = self.spec.max_failures_withheld if key == WITHHELD else self.spec.max_failures_per_day
        if ctx.services.get("order_guard").caller_failures(key, ctx.now) >= limit:
            return "withheld" if key == WITHHELD else "caller"
        return None

    def _order_limit_hit(self, ctx: Context, number: str) -> str | None:
        """``order`` once this order number failed too often (from any phone), else None."""
        failures = ctx.services.get("order_guard").order_failures(number, ctx.now)
        return "order" if failures >= self.spec.max_failures_per_order else None

    def _fail_verification(self, ctx: Context, number: str) -> str | None:
        """Count a failed verification for the call, the caller and the order; the limit it hit."""
        in_call = ctx.state.counters.get(FAILURES, 0) + 1
        ctx.state.counters[FAILURES] = in_call
        ctx.services.get("order_guard").record_failure(caller_key(ctx.services.caller), number, ctx.now)
        ctx.log("order_verification_failed", node=self.id, reason="not verified", in_call=in_call)
        return self._caller_limit_hit(ctx) or self._order_limit_hit(ctx, number)

    def _lock_out(self, ctx: Context, why: str, limit: str) -> Result:
        """Stop lookups for this call, note a security event, and hand over to a person."""
        st = self._state(ctx)
        in_call = ctx.state.counters.get(FAILURES, 0)
        ctx.log(
            "security",
            node=self.id,
            threat="order_guessing",
            detail=why,
            limit=limit,
            failures_in_call=in_call,
            order_number=mask_order_number(st.get("number")),
        )
        log.warning(
            "order lookups stopped for call %s from %s (%s: %s limit, %d failures in call)",
            ctx.services.call_sid,
            mask_phone(ctx.services.caller),
            why,
            limit,
            in_call,
        )
        return Goto(self.spec.on_failure, ctx.say(self.spec.prompts.locked))


def _same_postal(given: str, expected: str | None) -> bool:
    """Postal codes match ignoring spaces, dashes and case."""

    def clean(code: str) -> str:
        return re.sub(r"[\s-]", "", code).upper()

    return bool(expected) and clean(given) == clean(expected or "")


def _today(ctx: Context) -> date:
    return ctx.now.astimezone(LOCAL_TZ).date()
