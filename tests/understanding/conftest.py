"""Fixtures for the ask_intent conversations: a stricter hotline, history lookups."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from ivr.cli import main
from ivr.flows.store import SHIPPED_FLOWS, publish_flow

CALLER = "+4915112345678"


@pytest.fixture
def strict_hotline(session: Session) -> None:
    """The shipped hotline, but ask_why confirms every intent it is not certain of.

    Calibrated confidences of clear requests are 0.9999…, so only 1.0 forces the question.
    """
    source = (SHIPPED_FLOWS / "hotline.yaml").read_text(encoding="utf-8")
    marker = "    type: ask_intent\n"
    assert marker in source
    publish_flow(session, source.replace(marker, marker + "    threshold: 1.0\n"), "hotline.yaml")
    session.commit()


@pytest.fixture
def history(runner: Any) -> Callable[[str], list[dict[str, Any]]]:
    """The caller's history as ``ivr history PHONE --json`` prints it."""

    def read(phone: str = CALLER) -> list[dict[str, Any]]:
        result = runner.invoke(main, ["history", phone, "--json"])
        assert result.exit_code == 0, result.output
        return list(json.loads(result.output))

    return read


def said(entry: dict[str, Any], data: dict[str, Any], field: str = "text") -> str:
    """The transcript an event refers to (free text is kept apart from events, docs/privacy.md)."""
    assert field not in data, "free text must not be stored in an event"
    [text] = [t["text"] for t in entry["transcripts"] if t["id"] == data[f"{field}_ref"]]
    return str(text)


def events(entry: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The data of one kind of event in a history entry."""
    return [e["data"] for e in entry["events"] if e["kind"] == kind]
