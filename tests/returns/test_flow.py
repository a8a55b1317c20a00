"""The return node's YAML: validated like every flow (targets, periods, reasons)."""

from __future__ import annotations

import pytest

from ivr.flows.definition import parse_flow
from ivr.flows.yamlsource import FlowError


def flow_with(**fields: object) -> str:
    """A small flow with a return node and extra fields for it (YAML)."""
    extra = "".join(f"    {name}: {value}\n" for name, value in fields.items())
    return (
        "name: returns_test\nlanguages: [de, en]\nstart: returns\nnodes:\n"
        "  returns:\n    type: return_request\n    next: bye\n    on_failure: agent\n"
        + extra
        + "  agent: {type: route, queue: service}\n"
        "  bye: {type: hangup, say: {de: Tschüss, en: Bye}}\n"
    )


def test_a_return_period_below_the_statutory_14_days_is_refused():
    with pytest.raises(FlowError, match="period_days"):
        parse_flow(flow_with(period_days=7))


def test_reason_targets_must_be_known_reasons_and_nodes():
    with pytest.raises(FlowError, match="reason_targets"):
        parse_flow(flow_with(reason_targets="{broken: agent}"))
    with pytest.raises(FlowError, match="unknown target 'nobody'"):
        parse_flow(flow_with(reason_targets="{damaged: nobody}"))
