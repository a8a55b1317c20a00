"""interactions: a per-interaction event counter, room for SIP addresses

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.add_column(sa.Column("event_seq", sa.Integer(), server_default="0", nullable=False))
        batch.alter_column("from_number", type_=sa.String(length=255), existing_type=sa.String(length=32))
        batch.alter_column("to_number", type_=sa.String(length=255), existing_type=sa.String(length=32))
    op.execute(
        "UPDATE interactions SET event_seq = COALESCE("
        "(SELECT MAX(seq) FROM interaction_events WHERE interaction_events.interaction_id = interactions.id), 0)"
    )


def downgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.alter_column("to_number", type_=sa.String(length=32), existing_type=sa.String(length=255))
        batch.alter_column("from_number", type_=sa.String(length=32), existing_type=sa.String(length=255))
        batch.drop_column("event_seq")
