"""Prompt placeholders: wrong ones are refused at validation, and rendering never fails a call."""

from __future__ import annotations

import pytest

from ivr.flows.definition import parse_flow
from ivr.flows.placeholders import render
from ivr.flows.yamlsource import FlowError

FLOW = """\
name: t
start: hello
schedules:
  office: {{weekly: {{mon-fri: "09:00-17:00"}}, describe: werktags}}
nodes:
  hello:
    type: say
    say: "{say}"
    next: hours
  hours:
    type: hours
    schedule: office
    open: number
    closed: number
  number:
    type: collect
    prompt: Ihre Kundennummer?
    variable: customer_number
    min_digits: 4
    max_digits: 6
    no_input: Bitte die Nummer.
    invalid: Vier bis sechs Ziffern.
    next: bye
    on_failure: bye
  bye:
    type: hangup
    say: Danke.
"""


def problems(say: str) -> list[str]:
    with pytest.raises(FlowError) as exc:
        parse_flow(FLOW.format(say=say), "t.yaml")
    return exc.value.lines()


def test_placeholders_the_flow_provides_are_accepted():
    flow = parse_flow(FLOW.format(say="Wir sind {opening_hours} da, Kunde {customer_number}. {{Klammer}}"))
    assert set(flow.nodes) == {"hello", "hours", "number", "bye"}


def test_positional_placeholder_is_refused():
    assert problems("Preis: {0} Euro") == [
        "t.yaml:8: node 'hello': say: positional placeholder '{0}': "
        "name a variable ({customer_number}, {opening_hours})"
    ]
    assert "positional placeholder '{}'" in problems("Preis: {} Euro")[0]


def test_unknown_placeholder_suggests_the_close_one():
    assert problems("Wir sind {opening_hour} da") == [
        "t.yaml:8: node 'hello': say: unknown placeholder '{opening_hour}' (did you mean "
        "'opening_hours'?); available here: {customer_number}, {opening_hours}"
    ]


def test_bad_syntax_formats_and_attribute_access_are_refused():
    assert "bad placeholder syntax" in problems("Preis { Euro")[0]
    assert "bad placeholder syntax" in problems("Preis } Euro")[0]
    assert "takes no format; write {customer_number}" in problems("{customer_number:>10}")[0]
    assert "only plain names" in problems("{customer_number.real}")[0]


def test_placeholders_filled_by_one_node_only_work_in_that_text():
    flow = FLOW.format(say="Hallo").replace("    say: Danke.", "    say: Geht es um {topic}?")
    with pytest.raises(FlowError) as exc:
        parse_flow(flow, "t.yaml")
    assert "unknown placeholder '{topic}'" in exc.value.lines()[0]


@pytest.mark.parametrize(
    ("text", "values", "heard"),
    [
        ("Preis: {0} Euro", {}, "Preis:  Euro"),
        ("Preis: {} Euro", {}, "Preis:  Euro"),
        ("Hallo {name}", {}, "Hallo "),
        ("Hallo {name}", {"name": None}, "Hallo "),
        ("Hallo {name.upper}", {"name": "x"}, "Hallo "),
        ("Hallo {name[3]}", {"name": "x"}, "Hallo "),
        ("Hallo {name:.2f}", {"name": "Eva"}, "Hallo Eva"),
        ("Hallo {name!z}", {"name": "Eva"}, "Hallo Eva"),
        ("Hallo {name", {"name": "Eva"}, "Hallo name"),
        ("{a}{0}", {"a": "x"}, "x"),
        ("{{wörtlich}}", {}, "{wörtlich}"),
    ],
)
def test_rendering_never_fails(text, values, heard):
    assert render(text, values) == heard


def test_a_version_published_before_the_checks_still_answers_calls(app, session, phone, runner, tmp_path):
    import hashlib

    from ivr.cli import main
    from ivr.flows.store import SHIPPED_FLOWS
    from ivr.models import FlowVersion

    source = (SHIPPED_FLOWS / "hotline.yaml").read_text(encoding="utf-8")
    source = source.replace("Guten Tag und willkommen", "Guten Tag {0}{kunde.name} und willkommen", 1)
    bad = tmp_path / "hotline.yaml"
    bad.write_text(source, encoding="utf-8")
    refused = runner.invoke(main, ["flows", "validate", str(bad)])
    assert refused.exit_code == 1 and "positional placeholder '{0}'" in refused.output

    # As stored by an earlier release, whose validation let these placeholders through.
    checksum = hashlib.sha256(source.encode()).hexdigest()
    session.add(FlowVersion(name="hotline", version=2, source=source, checksum=checksum, author="old"))
    session.commit()
    caller = phone()
    caller.dial()
    assert caller.heard.startswith("Guten Tag  und willkommen beim Kundenservice.")
