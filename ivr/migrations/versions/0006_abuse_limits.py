"""abuse: failed order verifications per caller and order number over a rolling 24 h; the caller
of each callback request

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

import ivr.models._types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The old per-phone, per-UTC-day counters only ever mattered for a day: start afresh.
    op.drop_table("order_verification_failures")
    op.create_table(
        "order_verification_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("caller", sa.String(length=20), nullable=False),
        sa.Column("order_number", sa.String(length=20), nullable=False),
        sa.Column("at", ivr.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("order_verification_failures", schema=None) as batch_op:
        batch_op.create_index("ix_order_verification_failures_caller_at", ["caller", "at"], unique=False)
        batch_op.create_index("ix_order_verification_failures_order_at", ["order_number", "at"], unique=False)
    with op.batch_alter_table("callback_submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("caller", sa.String(length=20), nullable=True))
        batch_op.create_index("ix_callback_submissions_caller_at", ["caller", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("callback_submissions", schema=None) as batch_op:
        batch_op.drop_index("ix_callback_submissions_caller_at")
        batch_op.drop_column("caller")
    op.drop_table("order_verification_failures")
    op.create_table(
        "order_verification_failures",
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("phone", "day"),
    )
