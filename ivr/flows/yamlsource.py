"""YAML loading that remembers the line of every mapping key and refuses duplicate keys."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

#: Limits that keep a hostile or mistaken file from exhausting memory or the stack.
MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 40


class FlowError(Exception):
    """A flow definition is invalid; ``problems`` holds (line, reason) pairs."""

    def __init__(self, filename: str, problems: Sequence[tuple[int, str]]) -> None:
        self.filename = filename
        self.problems = sorted(set(problems))
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """Each problem as ``file:line: reason``."""
        return [f"{self.filename}:{line}: {reason}" for line, reason in self.problems]


class LineDict(dict[str, Any]):
    """A mapping that knows the 1-based line of itself and of each key."""

    line: int = 0
    key_lines: dict[Any, int]


class LineList(list[Any]):
    """A sequence that knows its 1-based line and the line of each item."""

    line: int = 0
    item_lines: list[int]


class _Loader(yaml.SafeLoader):
    """SafeLoader whose mappings and sequences carry line numbers, nested at most MAX_DEPTH deep."""

    _depth = 0
    #: Key problems found so far; loading goes on (first occurrence kept) to report them all.
    key_problems: list[tuple[int, str]]

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """Compose a node, refusing nesting deeper than MAX_DEPTH before the stack runs out."""
        self._depth += 1
        try:
            if self.check_event(yaml.AliasEvent):  # aliases multiply what later steps walk
                raise yaml.MarkedYAMLError(
                    problem="aliases (*name) are not supported; write the value out",
                    problem_mark=self.peek_event().start_mark,  # type: ignore[no-untyped-call]
                )
            if self._depth > MAX_DEPTH:
                raise yaml.MarkedYAMLError(
                    problem=f"nested deeper than {MAX_DEPTH} levels",
                    problem_mark=self.peek_event().start_mark,  # type: ignore[no-untyped-call]
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:  # type: ignore[override]
        result = LineDict()
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str | int):
                self.key_problems.append((line, "YAML: keys must be text"))
                continue
            key = str(key)
            if key in result:
                first = result.key_lines[key]
                self.key_problems.append((line, f"YAML: duplicate key '{key}' (first on line {first})"))
                continue
            result[key] = self.construct_object(value_node, deep=True)
            result.key_lines[key] = line
        return result

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> LineList:
        result = LineList(self.construct_object(child, deep=True) for child in node.value)
        result.line = node.start_mark.line + 1
        result.item_lines = [child.start_mark.line + 1 for child in node.value]
        return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _Loader.construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _Loader.construct_sequence)
# Digits like 1 or 0 must stay text ("0" and "00" differ); so must yes/no/on/off.
_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag not in ("tag:yaml.org,2002:bool",)]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_flow_file(path: Path | str, filename: str | None = None) -> str:
    """A flow file's text: at most MAX_FILE_BYTES of UTF-8, else FlowError."""
    name = filename or str(path)
    with open(path, "rb") as fh:
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise FlowError(name, [(1, f"file is larger than {MAX_FILE_BYTES // 1024} KiB")])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FlowError(name, [(line, "not UTF-8 text (save the file as UTF-8)")]) from None


def load_yaml(text: str, filename: str, problems: list[tuple[int, str]] | None = None) -> Any:
    """Parse YAML text into LineDict/LineList values, or raise FlowError.

    Duplicate and non-text keys go to ``problems`` when given (loading goes on), else raise.
    """
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise FlowError(filename, [(1, f"file is larger than {MAX_FILE_BYTES // 1024} KiB")])
    loader = _Loader(text)
    loader.key_problems = problems if problems is not None else []
    try:
        data = loader.get_single_data()
        if problems is None and loader.key_problems:
            raise FlowError(filename, loader.key_problems)
        return data
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else 1
        raise FlowError(filename, [(line, f"YAML: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise FlowError(filename, [(1, f"YAML: {exc}")]) from None
    except RecursionError:  # pragma: no cover - MAX_DEPTH stops nesting well before this
        raise FlowError(filename, [(1, "YAML: nested too deeply")]) from None
    finally:
        loader.dispose()


def line_of(data: Any, path: Sequence[Any]) -> int:
    """The line of the deepest element of ``path`` that the parsed document still has."""
    line = getattr(data, "line", 1)
    node = data
    for part in path:
        if isinstance(node, LineDict) and str(part) in node:
            line = node.key_lines.get(str(part), line)
            node = node[str(part)]
        elif isinstance(node, LineList) and isinstance(part, int) and part < len(node):
            line = node.item_lines[part]
            node = node[part]
        else:
            break
    return line


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or an empty string."""
    found = difflib.get_close_matches(word, sorted(choices), n=1)
    return f" (did you mean '{found[0]}'?)" if found else ""
