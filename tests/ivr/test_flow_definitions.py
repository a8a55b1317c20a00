"""Flow files: the shipped ones are valid; broken ones are rejected with the line at fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.cli import main
from ivr.flows.definition import parse_flow
from ivr.flows.yamlsource import FlowError

SHIPPED = sorted(Path(__file__).resolve().parents[2].joinpath("call_flows").glob("*.yaml"))

HEADER = """\
name: t
languages: [de, en]
start: hello
nodes:
"""
HELLO = """\
  hello:
    type: say
    say: {de: Hallo, en: Hello}
    next: bye
  bye:
    type: hangup
"""


def problems(body: str) -> list[str]:
    with pytest.raises(FlowError) as exc:
        parse_flow(HEADER + body, "t.yaml")
    return exc.value.lines()


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_flow_validates_as_the_cli_does(path, runner):
    result = runner.invoke(main, ["flows", "validate", str(path)])
    assert result.exit_code == 0, result.output
    assert f"{path}: ok" in result.output


def test_valid_minimal_flow():
    flow = parse_flow(HEADER + HELLO, "t.yaml")
    assert set(flow.nodes) == {"hello", "bye"}


def test_unknown_target_names_its_line():
    # 'bye' is not reported unreachable: the misspelt target most likely means it.
    assert problems(HELLO.replace("next: bye", "next: byee")) == [
        "t.yaml:8: node 'hello': unknown target 'byee' (did you mean 'bye'?)",
    ]


def test_unreachable_node():
    body = HELLO + "  lost:\n    type: hangup\n"
    assert problems(body) == ["t.yaml:11: node 'lost' is unreachable from 'hello'"]


def test_loop_without_input():
    body = """\
  hello:
    type: say
    say: {de: Hallo, en: Hello}
    next: again
  again:
    type: goto
    next: hello
"""
    assert problems(body) == ["t.yaml:5: loop without caller input: hello → again → hello"]


def test_missing_translation_and_missing_prompt():
    body = (
        HELLO.replace("{de: Hallo, en: Hello}", "{de: Hallo}")
        + """\
  menu:
    type: menu
    options: {"1": bye}
    no_input: {de: x, en: x}
    no_match: {de: x, en: x}
    on_failure: bye
"""
    )
    found = problems(body.replace("next: bye\n  bye", "next: menu\n  bye", 1))
    assert "t.yaml:7: node 'hello': say has no text for en" in found
    assert "t.yaml:11: nodes.menu.prompt: required field is missing" in found


def test_duplicate_digit_in_menu():
    body = (
        HELLO.replace("next: bye", "next: menu")
        + """\
  menu:
    type: menu
    prompt: {de: x, en: x}
    options:
      "1": bye
      "1": hello
    no_input: {de: x, en: x}
    no_match: {de: x, en: x}
    on_failure: bye
"""
    )
    assert problems(body) == ["t.yaml:16: YAML: duplicate key '1' (first on line 15)"]


def test_bad_keypad_key_and_unknown_field_and_type():
    body = (
        HELLO.replace("next: bye", "next: menu")
        + """\
  menu:
    type: menu
    prompt: {de: x, en: x}
    options: {"12": bye}
    no_input: {de: x, en: x}
    no_match: {de: x, en: x}
    on_failure: bye
    retires: 3
  odd:
    type: teleport
"""
    )
    found = problems(body)
    assert any(
        p.startswith("t.yaml:14: nodes.menu.options: option keys must be one keypad key") for p in found
    )
    assert "t.yaml:18: nodes.menu.retires: unknown field (did you mean 'retries'?)" in found
    assert any(p.startswith("t.yaml:20: node 'odd': unknown type 'teleport'") for p in found)


def test_unknown_schedule_and_department():
    body = (
        HELLO.replace("next: bye", "next: hours")
        + """\
  hours:
    type: hours
    schedule: nightly
    open: route
    closed: bye
  route:
    type: route
    department: sales
"""
    )
    found = problems(body)
    assert "t.yaml:13: node 'hours': unknown schedule 'nightly'" in found
    assert "t.yaml:18: node 'route': unknown department 'sales'" in found


def test_yaml_syntax_error_has_a_line():
    assert problems("  hello: [unclosed\n")[0].startswith("t.yaml:6: YAML: expected ',' or ']'")


def test_cli_validate_reports_problems_and_fails(runner, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(HEADER + HELLO.replace("next: bye", "next: nowhere"), encoding="utf-8")
    result = runner.invoke(main, ["flows", "validate", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:8: node 'hello': unknown target 'nowhere'" in result.output


def test_invalid_import_keeps_the_published_version(runner, tmp_path):
    bad = tmp_path / "hotline.yaml"
    bad.write_text("name: hotline\nstart: x\nnodes: {}\n", encoding="utf-8")
    result = runner.invoke(main, ["flows", "import", str(bad)])
    assert result.exit_code == 1
    assert "start: unknown node 'x'" in result.output
    listed = runner.invoke(main, ["flows", "list"]).output
    assert listed.startswith("hotline\tv1\t")
    exported = runner.invoke(main, ["flows", "export", "hotline"]).output
    assert exported == SHIPPED[0].read_text(encoding="utf-8")
