"""customer history for all channels: e-mail matching, merges, other channels' fields, outbox

Revision ID: 0012
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import ivr.models._types

revision = "0012"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Customers are matched by e-mail from now on: stored trimmed and lower-case, one per address.
    op.execute("UPDATE customers SET email = lower(trim(email)) WHERE email IS NOT NULL")
    op.execute("UPDATE customers SET email = NULL WHERE email = ''")
    duplicates = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT count(*) FROM (SELECT email FROM customers WHERE email IS NOT NULL GROUP BY email HAVING count(*) > 1) d"
            )
        )
        .scalar_one()
    )
    if duplicates:
        raise RuntimeError(
            f"{duplicates} e-mail addresses belong to more than one customer; "
            "clear the e-mail of all but one (or merge them) before upgrading"
        )
    with op.batch_alter_table("customers") as batch:
        batch.create_unique_constraint("uq_customers_email", ["email"])
    op.create_table(
        "customer_merges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merged_id", sa.Integer(), nullable=False),
        sa.Column("into_id", sa.Integer(), nullable=False),
        sa.Column("merged_by", sa.String(length=120), nullable=False),
        sa.Column("merged_at", ivr.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["into_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_customer_merges_merged_id", "customer_merges", ["merged_id"])
    op.create_index("ix_customer_merges_into_id", "customer_merges", ["into_id"])
    with op.batch_alter_table("interactions") as batch:
        batch.add_column(sa.Column("subject", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("summary", sa.Text(), nullable=True))
        batch.add_column(sa.Column("external_ref", sa.String(length=200), nullable=True))
        batch.create_index("ix_interactions_customer_started", ["customer_id", "started_at", "id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("created_at", ivr.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", ivr.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("delivered_at", ivr.models._types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failed_at", ivr.models._types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["interaction_id"], ["interactions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_webhook_deliveries_interaction_id", "webhook_deliveries", ["interaction_id"])
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["delivered_at", "failed_at", "due_at"]
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("created_at", ivr.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_keys.id"]),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("api_key_id", "key"),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])
    op.create_index("ix_idempotency_keys_customer_id", "idempotency_keys", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_customer_id", table_name="idempotency_keys")
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_interaction_id", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("interactions") as batch:
        batch.drop_index("ix_interactions_customer_started")
        batch.drop_column("external_ref")
        batch.drop_column("summary")
        batch.drop_column("subject")
    op.drop_index("ix_customer_merges_into_id", table_name="customer_merges")
    op.drop_index("ix_customer_merges_merged_id", table_name="customer_merges")
    op.drop_table("customer_merges")
    with op.batch_alter_table("customers") as batch:
        batch.drop_constraint("uq_customers_email", type_="unique")
