"""api keys: scopes (existing keys keep what they could do: orders and callbacks)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

#: Before scopes every key could use every API there was: the orders and the callbacks API.
EXISTING_KEYS_SCOPES = "orders callbacks"


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("scopes", sa.String(length=200), nullable=True))
    op.execute(sa.text("UPDATE api_keys SET scopes = :scopes").bindparams(scopes=EXISTING_KEYS_SCOPES))
    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column("scopes", existing_type=sa.String(length=200), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("scopes")
