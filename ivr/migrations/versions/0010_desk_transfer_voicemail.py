"""desk: a task per leg of a transferred call; voicemails worked from the console

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

import ivr.models._types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

#: Names SQLite's unnamed UNIQUE(call_sid) so batch mode can drop it.
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("tasks", naming_convention=_NAMING) as batch:
            batch.drop_constraint("uq_tasks_call_sid", type_="unique")
            batch.create_index("ix_tasks_call_sid", ["call_sid"], unique=False)
    else:
        op.drop_constraint("tasks_call_sid_key", "tasks", type_="unique")
        op.create_index("ix_tasks_call_sid", "tasks", ["call_sid"], unique=False)
    op.create_table(
        "voicemails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_sid", sa.String(length=64), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("queue", sa.String(length=50), nullable=True),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("recording_url", sa.String(length=500), nullable=False),
        sa.Column("duration", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("assigned_to", sa.Integer(), nullable=True),
        sa.Column("created_at", ivr.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", ivr.models._types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["assigned_to"], ["users.id"]),
        sa.ForeignKeyConstraint(["done_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["interaction_id"], ["interactions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_voicemails_status", "voicemails", ["status", "queue", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_voicemails_status", table_name="voicemails")
    op.drop_table("voicemails")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_index("ix_tasks_call_sid")
        batch.create_unique_constraint("tasks_call_sid_key", ["call_sid"])
