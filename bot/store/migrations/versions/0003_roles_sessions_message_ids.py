"""Agents get roles and a first-login password change; console sessions live in the
database (revocable, expiring); a console message id is unique per buyer's chat, not across
all buyers.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("agent_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_sessions_agent_id"), ["agent_id"], unique=False)

    # Agents who could do everything before keep that (supervisor); the shop narrows roles.
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(length=16), nullable=False, server_default="supervisor"))
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))

    # messages.message_id was unique across every buyer (an unnamed constraint in SQLite, which
    # batch mode names by this convention to drop it).
    if op.get_bind().dialect.name == "sqlite":
        naming = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
        with op.batch_alter_table("messages", naming_convention=naming, recreate="always") as batch_op:
            batch_op.drop_constraint("uq_messages_message_id", type_="unique")
            batch_op.create_unique_constraint("uq_messages_conversation_message", ["conversation_id", "message_id"])
    else:
        op.drop_constraint("messages_message_id_key", "messages", type_="unique")
        op.create_unique_constraint("uq_messages_conversation_message", "messages", ["conversation_id", "message_id"])


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint("uq_messages_conversation_message", type_="unique")
        batch_op.create_unique_constraint("uq_messages_message_id", ["message_id"])
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
        batch_op.drop_column("role")
    op.drop_index("ix_agent_sessions_agent_id", table_name="agent_sessions")
    op.drop_table("agent_sessions")
