"""kpi_call_facts: one row of KPI facts per call, kept current from an event-id watermark

Revision ID: 0017
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

import ivr.models._types

revision = "0017"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kpi_call_facts",
        sa.Column("interaction_id", sa.Integer(), nullable=False),
        sa.Column("started_at", ivr.models._types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("queued", sa.Boolean(), nullable=False),
        sa.Column("queue", sa.String(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("wait_ms", sa.Integer(), nullable=True),
        sa.Column("abandon_ms", sa.Integer(), nullable=True),
        sa.Column("talk_seconds", sa.Integer(), nullable=False),
        sa.Column("talk_ended", sa.Boolean(), nullable=False),
        sa.Column("wrapup_ms", sa.Integer(), nullable=True),
        sa.Column("voicemails", sa.Integer(), nullable=False),
        sa.Column("gave_up", sa.Integer(), nullable=False),
        sa.Column("entry", sa.String(), nullable=False),
        sa.Column("csat_answers", sa.Integer(), nullable=False),
        sa.Column("csat_good", sa.Integer(), nullable=False),
        sa.Column("csat_sum", sa.Integer(), nullable=False),
        sa.Column("nps_answers", sa.Integer(), nullable=False),
        sa.Column("nps_promoters", sa.Integer(), nullable=False),
        sa.Column("nps_detractors", sa.Integer(), nullable=False),
        sa.Column("resolved_answers", sa.Integer(), nullable=False),
        sa.Column("resolved_yes", sa.Integer(), nullable=False),
        sa.Column("survey_agent_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["interaction_id"], ["interactions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("interaction_id"),
    )
    state = op.create_table(
        "kpi_facts_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", ivr.models._types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    # Version 0: the first KPI computation (or `ivr kpis rebuild`) builds the facts.
    op.bulk_insert(state, [{"id": 1, "version": 0, "event_id": 0}])


def downgrade() -> None:
    op.drop_table("kpi_facts_state")
    op.drop_table("kpi_call_facts")
