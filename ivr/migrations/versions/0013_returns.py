"""returns: returns registered by phone or the shop, their outbox (label SMS/e-mail, shop webhook);
opt-ins to outbound messages and the delay notices sent

Revision ID: 0013
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import ivr.models._types

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "returns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_number", sa.String(length=20), nullable=False),
        sa.Column("order_number", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("items", JSON, nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("label_via", sa.String(length=10), nullable=True),
        sa.Column("label_token", sa.String(length=40), nullable=True),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("created_at", ivr.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", ivr.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("label_sent_at", ivr.models._types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=True),
        sa.Column("refunded_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.ForeignKeyConstraint(["interaction_id"], ["interactions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("label_token"),
        sa.UniqueConstraint("return_number"),
    )
    with op.batch_alter_table("returns") as batch:
        batch.create_index("ix_returns_customer_id", ["customer_id"], unique=False)
        batch.create_index("ix_returns_order_number", ["order_number"], unique=False)
    op.create_table(
        "return_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", ivr.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", ivr.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", ivr.models._types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["return_id"], ["returns.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("return_deliveries") as batch:
        batch.create_index("ix_return_deliveries_return_id", ["return_id"], unique=False)
        batch.create_index("ix_return_deliveries_due", ["state", "next_attempt_at"], unique=False)

    op.create_table(
        "contact_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("purpose", sa.String(length=30), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("given_at", ivr.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", ivr.models._types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("phone", "purpose"),
    )
    op.create_table(
        "delay_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_number", sa.String(length=20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", ivr.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", ivr.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", ivr.models._types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_number", "day"),
    )
    with op.batch_alter_table("delay_notices") as batch:
        batch.create_index("ix_delay_notices_due", ["state", "next_attempt_at"], unique=False)


def downgrade() -> None:
    op.drop_table("delay_notices")
    op.drop_table("contact_consents")
    op.drop_table("return_deliveries")
    op.drop_table("returns")
