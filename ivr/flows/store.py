"""Published flow versions in the database, and a per-process cache of parsed flows.

Versions are append-only: the newest version of a flow is the live one (it answers new
calls); a rollback publishes old content again as a new version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from sqlalchemy import Table, bindparam, func, select, text
from sqlalchemy.orm import Session

from ivr.db import DriverStatement
from ivr.flows.definition import Flow, parse_flow
from ivr.flows.yamlsource import FlowError, read_flow_file
from ivr.models import FlowVersion

SHIPPED_FLOWS = Path(__file__).resolve().parent.parent.parent / "call_flows"

_parsed: dict[int, Flow] = {}


class FlowLookupError(Exception):
    """No such flow or version; the message says which."""


@dataclass(frozen=True)
class Published:
    """The outcome of a publish: the live version, and whether it is new."""

    version: FlowVersion
    created: bool


def publish(session: Session, source: str, filename: str, author: str = "system") -> Published:
    """Validate ``source`` and make it the live version of its flow (FlowError if invalid).

    Content identical to the live version publishes nothing.
    """
    flow = parse_flow(source, filename)
    _lock_flow(session, flow.name)
    current = latest_version(session, flow.name)
    if current is not None and current.checksum == flow.checksum:
        return Published(current, created=False)
    number = (current.version if current is not None else 0) + 1
    version = FlowVersion(
        name=flow.name, version=number, source=source, checksum=flow.checksum, author=author[:100]
    )
    session.add(version)
    session.flush()
    return Published(version, created=True)


def _lock_flow(session: Session, name: str) -> None:
    """Serialise publishes of one flow until commit (SQLite: its write transaction already does)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"ivr.flow:{name}"})


def publish_flow(session: Session, source: str, filename: str, author: str = "system") -> FlowVersion:
    """Publish ``source`` (see ``publish``) and return the live version."""
    return publish(session, source, filename, author).version


# Built once: every incoming call looks its flow up.
_LATEST_VERSION = (
    select(FlowVersion)
    .where(FlowVersion.name == bindparam("name"))
    .order_by(FlowVersion.version.desc())
    .limit(1)
)


# The live version, on the driver: every incoming call asks (the source is parsed once).
_versions = cast(Table, FlowVersion.__table__)
_LIVE_VERSION = DriverStatement(
    select(_versions.c.id, _versions.c.version, _versions.c.checksum, _versions.c.source)
    .where(_versions.c.name == bindparam("name"))
    .order_by(_versions.c.version.desc())
    .limit(1)
)


@dataclass(frozen=True)
class LiveFlow:
    """The live version of a flow: its id and number, and the flow parsed."""

    version_id: int
    version: int
    flow: Flow


def live_flow(session: Session, name: str) -> LiveFlow | None:
    """The live version of a flow, parsed once per process."""
    row = _LIVE_VERSION.first(session, {"name": name})
    if row is None:
        return None
    version_id, number, checksum, source = row
    return LiveFlow(version_id, number, _parse(version_id, f"{name} v{number}", checksum, source))


def latest_version(session: Session, name: str) -> FlowVersion | None:
    """The newest (live) version of a flow."""
    return session.scalar(_LATEST_VERSION, {"name": name})


def flow_versions(session: Session, name: str) -> list[FlowVersion]:
    """Every version of a flow, oldest first (FlowLookupError if there is none)."""
    versions = list(
        session.scalars(select(FlowVersion).where(FlowVersion.name == name).order_by(FlowVersion.version))
    )
    if not versions:
        raise FlowLookupError(_unknown_flow(session, name))
    return versions


def flow_version(session: Session, name: str, number: int | None = None) -> FlowVersion:
    """Version ``number`` of a flow, or its live version (FlowLookupError if missing)."""
    if number is None:
        version = latest_version(session, name)
    else:
        version = session.scalar(
            select(FlowVersion).where(FlowVersion.name == name, FlowVersion.version == number)
        )
    if version is None:
        if number is None or latest_version(session, name) is None:
            raise FlowLookupError(_unknown_flow(session, name))
        raise FlowLookupError(f"flow '{name}' has no version {number}")
    return version


def rollback_flow(session: Session, name: str, to: int | None, author: str) -> Published:
    """Publish the content of version ``to`` (default: the last one that differs) as a new version."""
    versions = flow_versions(session, name)
    live = versions[-1]
    if to is None:
        older = [v for v in versions if v.checksum != live.checksum]
        if not older:
            raise FlowLookupError(f"flow '{name}' has no earlier content to go back to")
        target = older[-1]
    else:
        target = flow_version(session, name, to)
    return publish(session, target.source, f"{name} v{target.version}", author)


def list_flows(session: Session) -> list[FlowVersion]:
    """The live (newest) version of every flow."""
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


def _unknown_flow(session: Session, name: str) -> str:
    known = ", ".join(v.name for v in list_flows(session)) or "none"
    return f"no flow named '{name}' (flows: {known})"


def flow_by_id(session: Session, version_id: int) -> Flow:
    """The parsed flow of a version id, without loading its source once it is cached."""
    flow = _parsed.get(version_id)
    if flow is None:
        flow = flow_of(session.get_one(FlowVersion, version_id))
    return flow


def flow_of(version: FlowVersion) -> Flow:
    """The parsed flow of a version; versions are immutable, so parse each once per process."""
    return _parse(version.id, f"{version.name} v{version.version}", version.checksum, version.source)


def _parse(version_id: int, label: str, checksum: str, source: str) -> Flow:
    flow = _parsed.get(version_id)
    if flow is None or flow.checksum != checksum:
        # Published versions passed validation when they were published; prompts render leniently.
        flow = parse_flow(source, label, check_placeholders=False)
        _parsed[version_id] = flow
    return flow


@dataclass
class ShippedFlows:
    """What seeding found: flows created from shipped files, and shipped files that differ."""

    seeded: list[FlowVersion] = field(default_factory=list)
    #: (shipped file, live version) where the file's content is not what is live.
    differing: list[tuple[Path, FlowVersion]] = field(default_factory=list)
    #: Shipped files that no longer validate (the live version keeps serving).
    invalid: list[FlowError] = field(default_factory=list)


def seed_shipped_flows(session: Session, folder: Path = SHIPPED_FLOWS) -> ShippedFlows:
    """Publish shipped flows that do not exist yet; never touch existing ones, only compare."""
    report = ShippedFlows()
    for path in sorted(folder.glob("*.yaml")):
        source = read_flow_file(path, path.name)
        try:
            flow = parse_flow(source, path.name)
        except FlowError as exc:
            report.invalid.append(exc)
            continue
        _lock_flow(session, flow.name)  # nodes starting together seed a flow once
        live = latest_version(session, flow.name)
        if live is None:
            report.seeded.append(publish_flow(session, source, path.name, "shipped"))
        elif live.checksum != flow.checksum:
            report.differing.append((path, live))
    return report


def load_shipped_flows(session: Session) -> list[FlowVersion]:
    """Seed the shipped flows that do not exist yet (see ``seed_shipped_flows``)."""
    return seed_shipped_flows(session).seeded
