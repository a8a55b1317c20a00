"""Bring an instance to a servable state: schema migrated, shipped flows published."""

from __future__ import annotations

from flask import Flask

from ivr.db import session_factory
from ivr.flows.store import load_shipped_flows
from ivr.migrate import upgrade


def prepare_instance(app: Flask) -> list[str]:
    """Migrate the database and publish shipped flows that changed; return what was published."""
    upgrade(app.config["DATABASE_URL"])
    with session_factory(app)() as session:
        versions = load_shipped_flows(session)
        session.commit()
        return [f"{v.name} v{v.version}" for v in versions]
