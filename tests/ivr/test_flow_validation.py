"""Validation reports every problem in one run, in plain words, and survives hostile files."""

from __future__ import annotations

import pytest

from ivr.cli import main
from ivr.flows.definition import MAX_NODES, parse_flow
from ivr.flows.yamlsource import FlowError

FLOW = """\
name: t
languages: [de, en]
start: hello
nodes:
  hello:
    type: say
    say: {de: Hallo, en: Hello}
    next: menu
  menu:
    type: menu
    prompt: {de: Wählen Sie, en: Choose}
    options: {"1": bye, "2": agent}
    no_input: {de: Bitte noch einmal, en: Once more}
    no_match: {de: Wie bitte, en: Pardon}
    on_failure: bye
  agent:
    type: route
    queue: support
    on_failure: bye
  bye:
    type: hangup
    say: {de: Tschüss, en: Bye}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(FlowError) as exc:
        parse_flow(text, "t.yaml")
    return exc.value.lines()


def validate(runner, tmp_path, content: bytes | str):
    path = tmp_path / "flow.yaml"
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    result = runner.invoke(main, ["flows", "validate", str(path)])
    return path, result


def test_the_base_flow_is_valid():
    assert set(parse_flow(FLOW).nodes) == {"hello", "menu", "agent", "bye"}


def test_every_problem_of_a_file_in_one_run():
    broken = (
        FLOW.replace("languages: [de, en]", "languages: [de, en]\nshedules: {}")
        .replace("next: menu", "next: mneu")
        .replace("    on_failure: bye\n  agent", "    on_failure: bye\n    retires: 3\n  agent")
        .replace("type: route", "type: rout")
    )
    assert problems(broken) == [
        "t.yaml:3: shedules: unknown field (did you mean 'schedules'?)",
        "t.yaml:9: node 'hello': unknown target 'mneu' (did you mean 'menu'?)",
        "t.yaml:17: nodes.menu.retires: unknown field (did you mean 'retries'?)",
        "t.yaml:19: node 'agent': unknown type 'rout' (did you mean 'route'?)",
    ]


def test_every_duplicate_key_in_one_run():
    text = FLOW.replace("    next: menu\n", "    next: menu\n    next: bye\n").replace(
        '"2": agent}', '"2": agent, "2": bye}'
    )
    assert problems(text.replace("name: t", "name: t\nname: u")) == [
        "t.yaml:2: YAML: duplicate key 'name' (first on line 1)",
        "t.yaml:10: YAML: duplicate key 'next' (first on line 9)",
        "t.yaml:14: YAML: duplicate key '2' (first on line 14)",
    ]


def test_a_wrong_start_is_reported_once_without_an_unreachable_cascade():
    assert problems(FLOW.replace("start: hello", "start: helo")) == [
        "t.yaml:3: start: unknown node 'helo' (did you mean 'hello'?)"
    ]
    assert problems(FLOW.replace("start: hello", "start: begin")) == ["t.yaml:3: start: unknown node 'begin'"]


def test_a_top_level_error_does_not_hide_node_errors():
    found = problems(FLOW.replace("name: t", "name: Mein Flow").replace("next: menu", "next: nowhere"))
    assert (
        found[0] == "t.yaml:1: name: 'Mein Flow' is not a flow name: use lowercase letters, digits, - and _"
    )
    assert "t.yaml:8: node 'hello': unknown target 'nowhere'" in found


def test_a_node_without_type_says_so():
    found = problems(FLOW.replace("    type: route\n", ""))
    assert found == [
        "t.yaml:16: node 'agent': missing 'type' (one of: ask_intent, callback, collect, consent, goto, "
        "hangup, hours, language, menu, order_notice, order_status, return_request, route, say, survey, "
        "voicemail)"
    ]


def test_a_broken_schedule_is_reported_once_not_at_every_use():
    flow = FLOW.replace(
        "nodes:\n",
        "schedules:\n  service:\n    weekly: {mon-fri: '8-20'}\nnodes:\n",
    ).replace("next: menu", "next: hours") + (
        "  hours:\n    type: hours\n    schedule: service\n    open: menu\n    closed: bye\n"
    )
    assert problems(flow) == [
        "t.yaml:6: schedules.service.weekly: '8-20' is not a time range like 08:00-18:00"
    ]


def test_deeply_nested_yaml_is_refused_with_a_line(runner, tmp_path):
    path, result = validate(runner, tmp_path, "name: t\nstart: x\nnodes: " + "[" * 50_000 + "]" * 50_000)
    assert result.exit_code == 1
    assert result.output == f"{path}:3: YAML: nested deeper than 40 levels\n"


def test_non_utf8_input_is_refused_with_a_line(runner, tmp_path):
    path, result = validate(runner, tmp_path, FLOW.encode("utf-8").replace("Tschüss".encode(), b"Tsch\xfcss"))
    assert result.exit_code == 1
    assert result.output == f"{path}:22: not UTF-8 text (save the file as UTF-8)\n"


def test_huge_files_and_node_counts_are_refused(runner, tmp_path):
    chain = "".join(f"  n{i}:\n    type: goto\n    next: n{i + 1}\n" for i in range(200_000))
    path, result = validate(runner, tmp_path, "name: t\nstart: n0\nnodes:\n" + chain)
    assert result.exit_code == 1
    assert result.output == f"{path}:1: file is larger than 1024 KiB\n"

    chain = "".join(f"  n{i}: {{type: goto, next: n{i + 1}}}\n" for i in range(MAX_NODES + 1))
    path, result = validate(runner, tmp_path, "name: t\nstart: n0\nnodes:\n" + chain)
    assert result.exit_code == 1
    assert result.output == f"{path}:3: more than {MAX_NODES} nodes ({MAX_NODES + 1})\n"


def test_a_long_chain_within_the_limit_validates_without_recursion():
    chain = "".join(f"  n{i}: {{type: goto, next: n{i + 1}}}\n" for i in range(MAX_NODES - 1))
    flow = parse_flow(f"name: t\nstart: n0\nnodes:\n{chain}  n{MAX_NODES - 1}: {{type: hangup}}\n")
    assert len(flow.nodes) == MAX_NODES


def test_aliases_are_refused():
    text = FLOW.replace("say: {de: Hallo, en: Hello}", "say: &hi {de: Hallo, en: Hello}").replace(
        "say: {de: Tschüss, en: Bye}", "say: *hi"
    )
    assert problems(text) == ["t.yaml:22: YAML: aliases (*name) are not supported; write the value out"]
