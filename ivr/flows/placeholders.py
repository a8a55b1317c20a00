"""Prompt ``{placeholders}``: checked at validation against what the flow provides, rendered
at call time without ever failing (a caller never hears an error because of a prompt)."""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ivr.flows.yamlsource import did_you_mean


def placeholder_problems(text: str, available: Iterable[str]) -> list[str]:
    """Why the placeholders of ``text`` would not render (empty when they would)."""
    names = sorted(set(available))
    try:
        fields = [(name, spec, conv) for _lit, name, spec, conv in string.Formatter().parse(text)]
    except ValueError as exc:
        return [f"bad placeholder syntax ({exc}); write {{{{ or }}}} for a literal brace"]
    problems: list[str] = []
    for name, spec, conversion in fields:
        if name is None:
            continue
        shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        if name == "" or name.isdigit():
            problems.append(f"positional placeholder '{shown}': name a variable ({_listing(names)})")
        elif not name.isidentifier():
            problems.append(f"placeholder '{shown}': only plain names like {{opening_hours}} work")
        elif spec or conversion:
            problems.append(f"placeholder '{shown}' takes no format; write {{{name}}}")
        elif name not in names:
            hint = did_you_mean(name, names)
            problems.append(f"unknown placeholder '{{{name}}}'{hint}; available here: {_listing(names)}")
    return problems


def _listing(names: Sequence[str]) -> str:
    return ", ".join("{" + n + "}" for n in names) or "none"


class _Lenient(string.Formatter):
    """str.format that fills what it cannot resolve with nothing instead of raising."""

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        """A plain name's value; empty for unknown names, None, positions, ``a.b`` and ``a[0]``."""
        value = kwargs.get(field_name) if field_name.isidentifier() else None
        return ("" if value is None else value), field_name

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        """Apply ``!r``/``!s``/``!a``; ignore unknown conversions."""
        try:
            return super().convert_field(value, conversion)
        except ValueError:
            return value

    def format_field(self, value: Any, format_spec: str) -> str:
        """Format with the spec, or plainly when the spec does not fit the value."""
        try:
            return str(super().format_field(value, format_spec))
        except (TypeError, ValueError):
            return str(value)


_LENIENT = _Lenient()


def render(text: str, values: Mapping[str, Any]) -> str:
    """Fill ``{name}`` placeholders from ``values``; never raises."""
    try:
        return _LENIENT.vformat(text, (), values)
    except (ValueError, IndexError):  # unbalanced braces, mixed {} and {0}, nesting too deep
        return text.replace("{", "").replace("}", "")
