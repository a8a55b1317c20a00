"""A flow definition: parsed from YAML, validated as a whole, ready for the engine."""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    ValidationError,
    field_validator,
    model_validator,
)

from ivr.flows.nodes import NODE_TYPES, Node
from ivr.flows.nodes.base import find_texts
from ivr.flows.placeholders import placeholder_problems
from ivr.flows.schedule import Schedule
from ivr.flows.yamlsource import FlowError, LineDict, did_you_mean, line_of, load_yaml


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

    name: str
    description: str | None = None
    languages: list[str] = Field(default_factory=lambda: ["de"], min_length=1)
    start: str
    schedules: dict[str, Schedule] = Field(default_factory=dict)
    departments: dict[str, Department] = Field(default_factory=dict)
    intents: dict[str, list[str]] = Field(default_factory=dict)
    #: Recording of conversations: never, ask (a consent node asks; §201 StGB, DSGVO) or always
    #: (internal lines only: staff, not customers, call them).
    recording: Literal["never", "ask", "always"] = "never"
    internal_line: bool = False
    nodes: dict[str, dict[str, Any]]

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9_-]{1,100}", value):
            raise ValueError(f"'{value}' is not a flow name: use lowercase letters, digits, - and _")
        return value


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
    recording: str = "never"
    internal_line: bool = False

    @property
    def default_language(self) -> str:
        """The language a call starts in."""
        return self.languages[0]

    @property
    def checksum(self) -> str:
        """SHA-256 of the source text."""
        return hashlib.sha256(self.source.encode()).hexdigest()


#: A flow is a phone menu, not a program: far more nodes is a mistake (or an attack).
MAX_NODES = 1000


def _model_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel]:
    """The model whose fields apply at ``loc`` below ``model`` (dict keys and indexes skipped)."""
    for part in loc:
        info = model.model_fields.get(str(part))
        if info is not None:
            model = _model_in(info.annotation) or model
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    todo = [annotation]
    while todo:
        ann = todo.pop()
        if isinstance(ann, type) and issubclass(ann, BaseModel) and not issubclass(ann, RootModel):
            return ann
        todo.extend(get_args(ann))
    return None


_PLAIN = {
    "dict_type": "must be a mapping (key: value lines)",
    "list_type": "must be a list",
    "string_type": "must be text",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
}


def _pydantic_problems(
    exc: ValidationError, data: Any, prefix: tuple[str | int, ...], model: type[BaseModel]
) -> Iterator[tuple[int, str]]:
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p in {"str", "dict[str,str]"}))
        where = ".".join(str(p) for p in (*prefix, *loc))
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden" and loc:
            fields = _model_at(model, loc[:-1]).model_fields
            message = f"unknown field{did_you_mean(str(loc[-1]), fields)}"
        elif err["type"] == "missing":
            message = "required field is missing"
        elif err["type"] in _PLAIN:
            message = _PLAIN[err["type"]]
        yield line_of(data, (*prefix, *loc)), f"{where}: {message}" if where else message


@dataclass
class _TopLevel:
    """The top level as far as it is valid, and what the graph checks may rely on."""

    spec: FlowSpec
    start_valid: bool = True
    languages_valid: bool = True
    #: Nodes that are not even a mapping (reported already; declared nonetheless).
    broken_nodes: set[str] = field(default_factory=set)


def _top_level(data: LineDict, problems: list[tuple[int, str]]) -> _TopLevel:
    """Validate the top level; on errors keep what is valid so the nodes are still checked."""
    raw = dict(data)
    try:
        return _TopLevel(FlowSpec.model_validate(raw))
    except ValidationError as exc:
        problems.extend(_pydantic_problems(exc, data, (), FlowSpec))
        errors = [err["loc"] for err in exc.errors() if err["loc"]]
    broken: dict[str, set[str]] = {}  # collection → entries that failed (declared nonetheless)
    for loc in errors:
        top = str(loc[0])
        if top in ("schedules", "departments", "nodes") and len(loc) > 1 and isinstance(raw.get(top), dict):
            broken.setdefault(top, set()).add(str(loc[1]))
        else:
            raw.pop(top, None)
    for top, keys in broken.items():
        raw[top] = {k: v for k, v in raw[top].items() if k not in keys}
    result = _TopLevel(
        FlowSpec.model_validate(
            {
                "name": "invalid",
                "start": "",
                "nodes": {},
                **{k: v for k, v in raw.items() if k in FlowSpec.model_fields},
            }
        ),
        start_valid="start" in raw,
        languages_valid="languages" in raw or "languages" not in data,
        broken_nodes=broken.pop("nodes", set()),
    )
    # Entries that failed stay declared, so references to them cause no second error.
    update: dict[str, Any] = {}
    models: dict[str, type[BaseModel]] = {"schedules": Schedule, "departments": Department}
    for top, keys in broken.items():
        entries = dict(getattr(result.spec, top))
        entries.update({k: models[top].model_construct() for k in keys})
        update[top] = entries
    result.spec = result.spec.model_copy(update=update)
    return result


def parse_flow(text: str, filename: str = "<flow>", check_placeholders: bool = True) -> Flow:
    """Parse and validate a flow; raise FlowError listing every problem with its line.

    Versions published before placeholders were checked load with ``check_placeholders=False``:
    their prompts render leniently rather than failing every call.
    """
    problems: list[tuple[int, str]] = []
    data = load_yaml(text, filename, problems)
    if not isinstance(data, LineDict):
        problems.append((1, "a flow file must be a mapping with 'name', 'start' and 'nodes'"))
        raise FlowError(filename, problems)
    top = _top_level(data, problems)
    spec = top.spec
    if len(spec.nodes) > MAX_NODES:
        problems.append((line_of(data, ("nodes",)), f"more than {MAX_NODES} nodes ({len(spec.nodes)})"))
        raise FlowError(filename, problems)

    nodes: dict[str, Node] = {}
    invalid: dict[str, Any] = {}  # declared nodes that failed validation, as written
    for node_id in top.broken_nodes:
        invalid[node_id] = data["nodes"][node_id]
    for node_id, raw in spec.nodes.items():
        where = ("nodes", node_id)
        invalid[node_id] = raw
        kind = str(raw.get("type"))
        cls = NODE_TYPES.get(kind)
        if "type" not in raw:
            known = ", ".join(sorted(NODE_TYPES))
            problems.append((line_of(data, where), f"node '{node_id}': missing 'type' (one of: {known})"))
            continue
        if cls is None:
            hint = did_you_mean(kind, NODE_TYPES) or f" (known: {', '.join(sorted(NODE_TYPES))})"
            problems.append(
                (line_of(data, (*where, "type")), f"node '{node_id}': unknown type '{kind}'{hint}")
            )
            continue
        try:
            nodes[node_id] = cls(node_id, cls.Spec.model_validate(dict(raw)))
            del invalid[node_id]
        except ValidationError as exc:
            problems.extend(_pydantic_problems(exc, data, where, cls.Spec))
    flow = Flow(
        name=spec.name,
        languages=spec.languages,
        start=spec.start,
        nodes=nodes,
        schedules=spec.schedules,
        departments=spec.departments,
        intents=spec.intents,
        source=text,
        recording=spec.recording,
        internal_line=spec.internal_line,
    )
    problems.extend(_graph_problems(flow, data, top, invalid, check_placeholders))
    if problems:
        raise FlowError(filename, problems)
    return flow


def _graph_problems(
    flow: Flow, data: Any, top: _TopLevel, invalid: dict[str, Any], check_placeholders: bool
) -> Iterator[tuple[int, str]]:
    """Unknown targets, unreachable nodes, loops without input, missing translations."""
    declared = set(flow.nodes) | set(invalid)
    variables = frozenset().union(*(node.variables() for node in flow.nodes.values()))
    # A misspelt target is followed to the node it most likely means: no unreachable cascade.
    edges: dict[str, list[str]] = {node_id: _raw_targets(raw, declared) for node_id, raw in invalid.items()}
    start: str | None = flow.start
    if flow.recording == "always" and not flow.internal_line:
        yield (
            line_of(data, ("recording",)),
            "recording: always is only for internal lines, where staff call (set internal_line: true); "
            "customers must be asked (recording: ask and a consent node)",
        )
    if top.start_valid and flow.start not in declared:
        start = _closest(flow.start, declared)
        yield (
            line_of(data, ("start",)),
            f"start: unknown node '{flow.start}'{did_you_mean(flow.start, declared)}",
        )
    for node_id, node in flow.nodes.items():
        where = ("nodes", node_id)
        edges[node_id] = []
        for path, target in node.targets():
            if target not in declared:
                hint = did_you_mean(target, declared)
                yield line_of(data, (*where, *path)), f"node '{node_id}': unknown target '{target}'{hint}"
                target = _closest(target, declared) or target
            edges[node_id].append(target)
        for path, reason in node.check(flow):
            yield line_of(data, (*where, *path)), f"node '{node_id}': {reason}"
        for path, text in find_texts(node.spec):
            field_path = ".".join(map(str, path))
            available = variables | node.fills.get(field_path, frozenset())
            for lang, raw in _texts_by_language(text.root) if check_placeholders else ():
                for reason in placeholder_problems(raw, available):
                    yield line_of(data, (*where, *path, *lang)), f"node '{node_id}': {field_path}: {reason}"
            missing = _missing_languages(text.root, flow.languages) if top.languages_valid else []
            if missing:
                yield (
                    line_of(data, (*where, *path)),
                    (f"node '{node_id}': {'.'.join(map(str, path))} has no text for {', '.join(missing)}"),
                )
    if top.start_valid and start is not None:
        reachable = _reachable(start, edges)
        for node_id in declared - reachable:
            yield line_of(data, ("nodes", node_id)), f"node '{node_id}' is unreachable from '{flow.start}'"
    for cycle in _inputless_cycles(flow):
        yield (
            line_of(data, ("nodes", cycle[0])),
            ("loop without caller input: " + " → ".join([*cycle, cycle[0]])),
        )


def _closest(word: str, choices: Iterable[str]) -> str | None:
    found = difflib.get_close_matches(word, sorted(choices), n=1)
    return found[0] if found else None


def _raw_targets(raw: Any, declared: set[str]) -> list[str]:
    """Best guess at where an invalid node leads: every text in it that names a node."""
    found: list[str] = []
    todo = [raw]
    while todo:
        value = todo.pop()
        if isinstance(value, str) and value in declared:
            found.append(value)
        elif isinstance(value, dict):
            todo.extend(value.values())
        elif isinstance(value, list):
            todo.extend(value)
    return found


def _texts_by_language(value: str | dict[str, str]) -> list[tuple[tuple[str, ...], str]]:
    if isinstance(value, str):
        return [((), value)]
    return [((lang,), text) for lang, text in value.items()]


def _missing_languages(value: str | dict[str, str], languages: list[str]) -> list[str]:
    if isinstance(value, str):
        return [] if len(languages) == 1 else ["each language (give a mapping per language)"]
    return [lang for lang in languages if not value.get(lang)]


def _reachable(start: str, edges: dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        node_id = todo.pop()
        if node_id in seen or node_id not in edges:
            continue
        seen.add(node_id)
        todo.extend(edges[node_id])
    return seen


def _inputless_cycles(flow: Flow) -> list[list[str]]:
    """Cycles made only of nodes that never wait for the caller (they would spin forever).

    An iterative depth-first search: a 1000-node chain must not exhaust the stack.
    """
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for root in flow.nodes:
        if root in state:
            continue
        path = [root]
        state[root] = 1
        stack = [iter(list(flow.nodes[root].immediate_targets()))]
        while stack:
            target = next(stack[-1], None)
            if target is None:
                stack.pop()
                state[path.pop()] = 2
            elif target not in flow.nodes:
                continue
            elif state.get(target) == 1:
                cycles.append(path[path.index(target) :])
            elif target not in state:
                state[target] = 1
                path.append(target)
                stack.append(iter(list(flow.nodes[target].immediate_targets())))
    return cycles
