"""Alembic environment: migrates the database named by the Alembic config."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import ivr.models  # noqa: F401  (registers the tables)
import ivr.plugins  # noqa: F401  (and the capabilities' tables)
from ivr.db import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or ""
connection = config.attributes.get("connection")


def run(conn) -> None:  # type: ignore[no-untyped-def]
    """Run the migrations on one connection."""
    context.configure(
        connection=conn,
        target_metadata=Base.metadata,
        render_as_batch=conn.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:
    engine = create_engine(url)
    with engine.connect() as conn:
        run(conn)
    engine.dispose()
