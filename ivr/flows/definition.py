"""A flow definition: parsed from YAML, validated as a whole, ready for the engine."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ivr.flows.nodes import NODE_TYPES, Node
from ivr.flows.nodes.base import find_texts
from ivr.flows.schedule import Schedule
from ivr.flows.yamlsource import FlowError, LineDict, line_of, load_yaml


class Department(BaseModel):
    """Where a department's calls go: a phone number or a named queue."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dial: str | None = None
    queue: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Department:
        if bool(self.dial) == bool(self.queue):
            raise ValueError("a department needs exactly one of 'dial' or 'queue'")
        return self


class FlowSpec(BaseModel):
    """The top level of a flow file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9_-]{1,100}$")
    description: str | None = None
    languages: list[str] = Field(default_factory=lambda: ["de"], min_length=1)
    start: str
    schedules: dict[str, Schedule] = Field(default_factory=dict)
    departments: dict[str, Department] = Field(default_factory=dict)
    intents: dict[str, list[str]] = Field(default_factory=dict)
    nodes: dict[str, dict[str, Any]]


@dataclass
class Flow:
    """A validated flow: its settings and its node objects by id."""

    name: str
    languages: list[str]
    start: str
    nodes: dict[str, Node]
    schedules: dict[str, Schedule] = field(default_factory=dict)
    departments: dict[str, Department] = field(default_factory=dict)
    intents: dict[str, list[str]] = field(default_factory=dict)
    source: str = ""

    @property
    def default_language(self) -> str:
        """The language a call starts in."""
        return self.languages[0]

    @property
    def checksum(self) -> str:
        """SHA-256 of the source text."""
        return hashlib.sha256(self.source.encode()).hexdigest()


def _pydantic_problems(
    exc: ValidationError, data: Any, prefix: tuple[str | int, ...]
) -> Iterator[tuple[int, str]]:
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p in {"str", "dict[str,str]"}))
        where = ".".join(str(p) for p in (*prefix, *loc))
        message = err["msg"].removeprefix("Value error, ")
        yield line_of(data, (*prefix, *loc)), f"{where}: {message}" if where else message


def parse_flow(text: str, filename: str = "<flow>") -> Flow:
    """Parse and validate a flow; raise FlowError listing every problem with its line."""
    data = load_yaml(text, filename)
    if not isinstance(data, LineDict):
        raise FlowError(filename, [(1, "a flow file must be a mapping with 'name', 'start' and 'nodes'")])
    try:
        spec = FlowSpec.model_validate(dict(data))
    except ValidationError as exc:
        raise FlowError(filename, list(_pydantic_problems(exc, data, ()))) from None

    problems: list[tuple[int, str]] = []
    nodes: dict[str, Node] = {}
    for node_id, raw in spec.nodes.items():
        where = ("nodes", node_id)
        if not isinstance(raw, dict):
            problems.append((line_of(data, where), f"node '{node_id}' must be a mapping"))
            continue
        cls = NODE_TYPES.get(str(raw.get("type")))
        if cls is None:
            known = ", ".join(sorted(NODE_TYPES))
            problems.append(
                (
                    line_of(data, (*where, "type")),
                    f"node '{node_id}': unknown type '{raw.get('type')}' (known: {known})",
                )
            )
            continue
        try:
            nodes[node_id] = cls(node_id, cls.Spec.model_validate(dict(raw)))
        except ValidationError as exc:
            problems.extend(_pydantic_problems(exc, data, where))
    flow = Flow(
        name=spec.name,
        languages=spec.languages,
        start=spec.start,
        nodes=nodes,
        schedules=spec.schedules,
        departments=spec.departments,
        intents=spec.intents,
        source=text,
    )
    problems.extend(_graph_problems(flow, data, set(spec.nodes)))
    if problems:
        raise FlowError(filename, problems)
    return flow


def _graph_problems(flow: Flow, data: Any, declared: set[str]) -> Iterator[tuple[int, str]]:
    """Unknown targets, unreachable nodes, loops without input, missing translations."""
    if flow.start not in declared:
        yield line_of(data, ("start",)), f"start: unknown node '{flow.start}'"
    for node_id, node in flow.nodes.items():
        where = ("nodes", node_id)
        for path, target in node.targets():
            if target not in declared:
                yield line_of(data, (*where, *path)), f"node '{node_id}': unknown target '{target}'"
        for path, reason in node.check(flow):
            yield line_of(data, (*where, *path)), f"node '{node_id}': {reason}"
        for path, text in find_texts(node.spec):
            missing = _missing_languages(text.root, flow.languages)
            if missing:
                yield (
                    line_of(data, (*where, *path)),
                    (f"node '{node_id}': {'.'.join(map(str, path))} has no text for {', '.join(missing)}"),
                )
    reachable = _reachable(flow)
    for node_id in flow.nodes:
        if node_id not in reachable:
            yield line_of(data, ("nodes", node_id)), f"node '{node_id}' is unreachable from '{flow.start}'"
    for cycle in _inputless_cycles(flow):
        yield (
            line_of(data, ("nodes", cycle[0])),
            ("loop without caller input: " + " → ".join([*cycle, cycle[0]])),
        )


def _missing_languages(value: str | dict[str, str], languages: list[str]) -> list[str]:
    if isinstance(value, str):
        return [] if len(languages) == 1 else ["each language (give a mapping per language)"]
    return [lang for lang in languages if not value.get(lang)]


def _reachable(flow: Flow) -> set[str]:
    seen: set[str] = set()
    todo = [flow.start]
    while todo:
        node_id = todo.pop()
        if node_id in seen or node_id not in flow.nodes:
            continue
        seen.add(node_id)
        todo.extend(target for _path, target in flow.nodes[node_id].targets())
    return seen


def _inputless_cycles(flow: Flow) -> list[list[str]]:
    """Cycles made only of nodes that never wait for the caller (they would spin forever)."""
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node_id: str, path: list[str]) -> None:
        state[node_id] = 1
        for target in flow.nodes[node_id].immediate_targets():
            if target not in flow.nodes:
                continue
            if state.get(target) == 1:
                cycles.append(path[path.index(target) :] if target in path else [target])
            elif target not in state:
                visit(target, [*path, target])
        state[node_id] = 2

    for node_id in flow.nodes:
        if node_id not in state:
            visit(node_id, [node_id])
    return cycles
