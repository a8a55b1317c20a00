"""callbacks: agents, callback requests, submissions

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import ivr.models._types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

OPEN = sa.text("status IN ('queued', 'claimed', 'dialing')")


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("busy_request_id", sa.Integer(), nullable=True),
        sa.Column("busy_since", ivr.models._types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_call_at", ivr.models._types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", ivr.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "callback_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("intent", sa.String(length=40), nullable=True),
        sa.Column("transcript", sa.Text(), nullable=True),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("window", sa.String(length=12), nullable=False),
        sa.Column("hours", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("queue", sa.String(length=50), nullable=True),
        sa.Column("call_sid", sa.String(length=64), nullable=True),
        sa.Column("position_at", ivr.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("requested_at", ivr.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", ivr.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", ivr.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", ivr.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("dials", sa.Integer(), nullable=False),
        sa.Column("updates", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("lease_until", ivr.models._types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("dial_sid", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=30), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "uq_callback_requests_open_phone",
        "callback_requests",
        ["phone"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )
    op.create_index("ix_callback_requests_due", "callback_requests", ["status", "next_attempt_at"])
    op.create_index("ix_callback_requests_dial_sid", "callback_requests", ["dial_sid"])
    op.create_table(
        "callback_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("at", ivr.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_callback_submissions_phone_at", "callback_submissions", ["phone", "at"])
    op.create_index("ix_callback_submissions_at", "callback_submissions", ["at"])


def downgrade() -> None:
    op.drop_table("callback_submissions")
    op.drop_table("callback_requests")
    op.drop_table("agents")
