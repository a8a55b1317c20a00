"""alarms: complaint and spike alarms, stored once per subject and window

Revision ID: 0016
Revises: 0009
"""

from alembic import op
import sqlalchemy as sa
import ivr.models._types
from sqlalchemy.dialects import postgresql

revision = "0016"
down_revision = "0013"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=60), nullable=False),
        sa.Column("window_start", ivr.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("window_end", ivr.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("observed", sa.Float(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.Column("created_at", ivr.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", ivr.models._types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered", JSON, nullable=False),
        sa.Column("send_error", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject", "window_start", name="uq_alarms_subject_window"),
    )
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.create_index("ix_alarms_window_end", ["window_end"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.drop_index("ix_alarms_window_end")
    op.drop_table("alarms")
