"""The peak switches itself by load (peak_switches, shops.peak_by_load_since); the shop's own
messages to buyers (outreach: payment reminders, delay notices), each sent once.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "peak_switches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("on", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("peak_switches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_peak_switches_shop_id"), ["shop_id"], unique=False)

    op.create_table(
        "outreach",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=24), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("payment_reminder", "delay_notice", name="outreachkind", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("slot", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_id", "kind", "slot", name="uq_outreach_order_kind_slot"),
    )
    with op.batch_alter_table("outreach", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outreach_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outreach_shop_id"), ["shop_id"], unique=False)

    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.add_column(sa.Column("peak_by_load_since", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.drop_column("peak_by_load_since")

    with op.batch_alter_table("outreach", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outreach_shop_id"))
        batch_op.drop_index(batch_op.f("ix_outreach_order_id"))

    op.drop_table("outreach")
    with op.batch_alter_table("peak_switches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_peak_switches_shop_id"))

    op.drop_table("peak_switches")
