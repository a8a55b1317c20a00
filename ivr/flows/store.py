"""Published flow versions in the database, and a per-process cache of parsed flows."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.flows.definition import Flow, parse_flow
from ivr.models import FlowVersion

SHIPPED_FLOWS = Path(__file__).resolve().parent.parent.parent / "call_flows"

_parsed: dict[int, Flow] = {}


def publish_flow(session: Session, source: str, filename: str, author: str = "system") -> FlowVersion:
    """Validate ``source`` and store it as the newest version of its flow (FlowError if invalid)."""
    flow = parse_flow(source, filename)
    current = latest_version(session, flow.name)
    if current is not None and current.checksum == flow.checksum:
        return current
    number = (
        session.scalar(select(func.max(FlowVersion.version)).where(FlowVersion.name == flow.name)) or 0
    ) + 1
    version = FlowVersion(
        name=flow.name, version=number, source=source, checksum=flow.checksum, author=author
    )
    session.add(version)
    session.flush()
    return version


def latest_version(session: Session, name: str) -> FlowVersion | None:
    """The newest published version of a flow."""
    return session.scalar(
        select(FlowVersion).where(FlowVersion.name == name).order_by(FlowVersion.version.desc()).limit(1)
    )


def list_flows(session: Session) -> list[FlowVersion]:
    """The newest version of every flow."""
    newest = (
        select(FlowVersion.name, func.max(FlowVersion.version).label("v"))
        .group_by(FlowVersion.name)
        .subquery()
    )
    return list(
        session.scalars(
            select(FlowVersion)
            .join(newest, (FlowVersion.name == newest.c.name) & (FlowVersion.version == newest.c.v))
            .order_by(FlowVersion.name)
        )
    )


def flow_by_id(session: Session, version_id: int) -> Flow:
    """The parsed flow of a version id, without loading its source once it is cached."""
    flow = _parsed.get(version_id)
    if flow is None:
        flow = flow_of(session.get_one(FlowVersion, version_id))
    return flow


def flow_of(version: FlowVersion) -> Flow:
    """The parsed flow of a version; versions are immutable, so parse each once per process."""
    flow = _parsed.get(version.id)
    if flow is None or flow.checksum != version.checksum:
        flow = parse_flow(version.source, f"{version.name} v{version.version}")
        _parsed[version.id] = flow
    return flow


def load_shipped_flows(session: Session) -> list[FlowVersion]:
    """Publish every shipped flow file whose content is not yet the newest version."""
    return [
        publish_flow(session, path.read_text(encoding="utf-8"), path.name)
        for path in sorted(SHIPPED_FLOWS.glob("*.yaml"))
    ]
