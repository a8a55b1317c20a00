"""desk: a task per leg of a transferred call; voicemails; console users are the dialer's agents

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

import ivr.models._types

revision = "0010"
down_revision = "0011"
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
    with op.batch_alter_table("agents") as batch:
        # A desk user's device may be a SIP address, longer than a phone number.
        batch.alter_column("phone", existing_type=sa.String(length=20), type_=sa.String(length=255))
        batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch.create_unique_constraint("uq_agents_user_id", ["user_id"])
        batch.create_foreign_key("fk_agents_user_id_users", "users", ["user_id"], ["id"])
    _link_users_to_agents()
    if op.get_bind().dialect.name == "postgresql":
        for statement in NOTIFY_TRIGGERS:
            op.execute(statement)


#: Console streams are woken by NOTIFY from whichever process wrote the row (ivr/desk/events.py):
#: the payload is the user whose screen changed, ``*`` for everyone (a voicemail).
NOTIFY_TRIGGERS = (
    """
    CREATE OR REPLACE FUNCTION desk_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_TABLE_NAME = 'users' THEN
        PERFORM pg_notify('desk_events', NEW.id::text);
      ELSIF TG_TABLE_NAME = 'tasks' THEN
        IF NEW.offered_to IS NOT NULL THEN
          PERFORM pg_notify('desk_events', NEW.offered_to::text);
        END IF;
        IF TG_OP = 'UPDATE' AND OLD.offered_to IS DISTINCT FROM NEW.offered_to AND OLD.offered_to IS NOT NULL THEN
          PERFORM pg_notify('desk_events', OLD.offered_to::text);
        END IF;
      ELSE
        PERFORM pg_notify('desk_events', '*');
      END IF;
      RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER users_desk_notify AFTER UPDATE ON users FOR EACH ROW
    WHEN (OLD.activity IS DISTINCT FROM NEW.activity OR OLD.activity_since IS DISTINCT FROM NEW.activity_since)
    EXECUTE FUNCTION desk_notify()
    """,
    "CREATE TRIGGER tasks_desk_notify AFTER INSERT OR UPDATE ON tasks FOR EACH ROW EXECUTE FUNCTION desk_notify()",
    "CREATE TRIGGER voicemails_desk_notify AFTER INSERT OR UPDATE OF status ON voicemails"
    " FOR EACH ROW EXECUTE FUNCTION desk_notify()",
)


def _link_users_to_agents() -> None:
    """Every console user gets the dialer profile named by their e-mail (linked, or created)."""
    bind = op.get_bind()
    users = bind.execute(sa.text("SELECT id, email, phone, disabled FROM users")).all()
    for user_id, email, phone, disabled in users:
        device = phone or f"client:agent-{user_id}"
        linked = bind.execute(
            sa.text("UPDATE agents SET user_id = :u, phone = :p WHERE name = :n AND user_id IS NULL"),
            {"u": user_id, "p": device, "n": email},
        )
        if linked.rowcount == 0:
            bind.execute(
                sa.text(
                    "INSERT INTO agents (name, phone, active, user_id, created_at)"
                    " VALUES (:n, :p, :a, :u, CURRENT_TIMESTAMP)"
                ),
                {"n": email[:100], "p": device, "a": not disabled, "u": user_id},
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS voicemails_desk_notify ON voicemails")
        op.execute("DROP TRIGGER IF EXISTS tasks_desk_notify ON tasks")
        op.execute("DROP TRIGGER IF EXISTS users_desk_notify ON users")
        op.execute("DROP FUNCTION IF EXISTS desk_notify()")
    with op.batch_alter_table("agents") as batch:
        batch.drop_constraint("fk_agents_user_id_users", type_="foreignkey")
        batch.drop_constraint("uq_agents_user_id", type_="unique")
        batch.drop_column("user_id")
        batch.alter_column("phone", existing_type=sa.String(length=255), type_=sa.String(length=20))
    op.drop_index("ix_voicemails_status", table_name="voicemails")
    op.drop_table("voicemails")
    # One task per call again: the earlier legs of transferred calls go (their events stay).
    op.execute("DELETE FROM tasks WHERE id NOT IN (SELECT MAX(id) FROM tasks GROUP BY call_sid)")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_index("ix_tasks_call_sid")
        # The names upgrade() drops: PostgreSQL's own, and the convention's on SQLite.
        sqlite = op.get_bind().dialect.name == "sqlite"
        batch.create_unique_constraint("uq_tasks_call_sid" if sqlite else "tasks_call_sid_key", ["call_sid"])
