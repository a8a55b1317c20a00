"""The node contract, the registry keyed by YAML ``type:``, and the per-step context."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, RootModel

from ivr.flows.placeholders import render
from ivr.flows.steps import CallerInput, Event, Prompt, Verb

if TYPE_CHECKING:
    from ivr.flows.definition import Flow


class Text(RootModel[str | dict[str, str]]):
    """A prompt: one text, or one text per language code (``de``, ``en``)."""

    def get(self, lang: str, fallback: str) -> str:
        """The text in ``lang``, else in the flow's default language."""
        if isinstance(self.root, str):
            return self.root
        return self.root.get(lang) or self.root.get(fallback) or next(iter(self.root.values()))


class NodeSpec(BaseModel):
    """Fields every node has; subclasses add their own and forbid unknown ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str


@dataclass(frozen=True)
class Goto:
    """Continue at another node without waiting for the caller."""

    target: str
    prompts: tuple[Prompt, ...] = ()


@dataclass(frozen=True)
class Wait:
    """Play prompts, then run a verb; its result comes back to the same node."""

    prompts: tuple[Prompt, ...]
    verb: Verb


Result = Goto | Wait


@dataclass
class CallState:
    """The part of a call the engine reads and changes."""

    node: str
    language: str
    variables: dict[str, Any] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)


@dataclass
class Context:
    """What a node may use during one step: flow, call state, clock, plug-in services."""

    flow: Flow
    state: CallState
    now: datetime
    services: Any = None
    events: list[Event] = field(default_factory=list)

    def say(self, text: Text | None, **values: Any) -> tuple[Prompt, ...]:
        """Render ``text`` in the caller's language, filling ``{name}`` placeholders."""
        if text is None:
            return ()
        lang = self.state.language
        raw = text.get(lang, self.flow.default_language)
        return (Prompt(lang=lang, text=render(raw, {**self.state.variables, **values})),)

    def log(self, kind: str, **data: Any) -> None:
        """Append an event to the call's history."""
        self.events.append(Event(kind, data))

    def attempt(self, node_id: str) -> int:
        """Count one more failed attempt at ``node_id`` and return the count."""
        count = self.state.counters.get(node_id, 0) + 1
        self.state.counters[node_id] = count
        return count

    def reset_attempts(self, node_id: str) -> None:
        """Forget failed attempts at ``node_id`` (it succeeded or is entered afresh)."""
        self.state.counters.pop(node_id, None)


class Node:
    """One node kind. Subclasses set ``kind`` and ``Spec`` and override ``enter``."""

    kind: ClassVar[str]
    Spec: ClassVar[type[NodeSpec]]
    #: Whether entering the node can wait for the caller (breaks input-less loops).
    waits: ClassVar[bool] = False
    #: Whether the caller's keyed or spoken input is personal data (order numbers, postal
    #: codes): the history then records only its length.
    masks_input: ClassVar[bool] = False
    #: Call variables this kind sets: usable as ``{placeholders}`` in every prompt of the flow.
    provides: ClassVar[frozenset[str]] = frozenset()
    #: Placeholders this kind fills in for particular texts only (field path → names).
    fills: ClassVar[dict[str, frozenset[str]]] = {}

    def __init__(self, node_id: str, spec: NodeSpec) -> None:
        self.id = node_id
        self.spec = spec

    def enter(self, ctx: Context) -> Result:
        """Run when the call reaches this node."""
        raise NotImplementedError

    def handle(self, ctx: Context, data: CallerInput) -> Result:
        """Run with the caller's answer to this node's verb."""
        raise NotImplementedError(f"{self.kind} takes no input")

    def suggest(self, ctx: Context, text: str) -> str | None:
        """The node this one would surely send a caller who said ``text`` to; None when unsure."""
        return None

    def targets(self) -> Iterator[tuple[tuple[str | int, ...], str]]:
        """Yield (field path, node id) for every node this one can lead to."""
        yield from _find_targets(self.spec, ())

    def immediate_targets(self) -> Iterator[str]:
        """Node ids reached without waiting for the caller (for loop detection)."""
        if not self.waits:
            for _path, target in self.targets():
                yield target

    def check(self, flow: Flow) -> Iterator[tuple[tuple[str | int, ...], str]]:
        """Yield (field path, reason) for problems only the whole flow reveals."""
        return iter(())

    def variables(self) -> frozenset[str]:
        """The call variables this node sets (``provides``, plus any its spec names)."""
        return self.provides


TARGET_FIELDS = {
    "next",
    "on_failure",
    "open",
    "closed",
    "on_no_answer",
    "speech_next",
    "fallback",
    "callback_next",
}


def _find_targets(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Walk a spec for fields that name other nodes (by the convention in TARGET_FIELDS)."""
    if isinstance(value, BaseModel) and not isinstance(value, RootModel):
        for name in type(value).model_fields:
            child = getattr(value, name)
            if name in TARGET_FIELDS and isinstance(child, str):
                yield (*path, name), child
            elif name.endswith("_targets") and isinstance(child, dict):
                for key, target in child.items():
                    yield (*path, name, key), target
            else:
                yield from _find_targets(child, (*path, name))
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from _find_targets(child, (*path, key))
    elif isinstance(value, list | tuple):
        for i, child in enumerate(value):
            yield from _find_targets(child, (*path, i))


def find_texts(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Text]]:
    """Yield (field path, Text) for every prompt in a spec."""
    if isinstance(value, Text):
        yield path, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from find_texts(getattr(value, name), (*path, name))
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from find_texts(child, (*path, key))
    elif isinstance(value, list | tuple):
        for i, child in enumerate(value):
            yield from find_texts(child, (*path, i))


def out_of_retries(
    ctx: Context, node_id: str, retries: int, on_failure: str, reason: str, **data: Any
) -> bool:
    """Count a failed attempt (logged as ``reason``); True once more than ``retries`` failed."""
    attempts = ctx.attempt(node_id)
    ctx.log(reason, node=node_id, attempt=attempts, **data)
    if attempts > retries:
        ctx.log("route", node=node_id, next=on_failure, reason="retries exhausted")
        return True
    return False


NODE_TYPES: dict[str, type[Node]] = {}


def register(cls: type[Node]) -> type[Node]:
    """Class decorator: make a node kind available to flow definitions."""
    NODE_TYPES[cls.kind] = cls
    return cls
