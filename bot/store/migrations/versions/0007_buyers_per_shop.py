"""A buyer is a shop's buyer: buyers keyed by (shop_id, id), orders reference their own shop's
buyer row. Until now the row belonged to whichever shop saw the platform buyer first, and a
second shop read that shop's row (its first-seen date, its nick).

The missing rows are made before the new foreign key: a buyer row in each shop where the
buyer has an order or a conversation, with the nick of the row they had (their id, as
conversations.py names a buyer who gave none, for a chat with no row anywhere) and the shop's
first sight of them (their earliest conversation or order there).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from bot import clock

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# SQLite keeps no names for the baseline's primary key and foreign key; PostgreSQL named them so.
OLD_FK = "orders_buyer_id_fkey"
PK = "buyers_pkey"
NEW_FK = "fk_orders_shop_id_buyer_id_buyers"

MISSING_BUYERS = sa.text(
    """
    INSERT INTO buyers (shop_id, id, nick, created_at)
    SELECT seen.shop_id, seen.buyer_id,
           COALESCE((SELECT MIN(known.nick) FROM buyers AS known WHERE known.id = seen.buyer_id), seen.buyer_id),
           COALESCE(MIN(seen.at), :now)
    FROM (
        SELECT shop_id, buyer_id, created_at AS at FROM orders
        UNION ALL
        SELECT shop_id, buyer_id, started_at AS at FROM conversations
    ) AS seen
    WHERE NOT EXISTS (SELECT 1 FROM buyers AS own WHERE own.shop_id = seen.shop_id AND own.id = seen.buyer_id)
    GROUP BY seen.shop_id, seen.buyer_id
    """
).bindparams(sa.bindparam("now", type_=sa.DateTime()))

# Downgrade: one row per buyer again, that of the shop which saw them first (as before this
# revision); the other shops' orders point at it.
LATER_SHOPS_ROWS = sa.text(
    """
    DELETE FROM buyers WHERE EXISTS (
        SELECT 1 FROM buyers AS earlier
        WHERE earlier.id = buyers.id
          AND (earlier.created_at < buyers.created_at
               OR (earlier.created_at = buyers.created_at AND earlier.shop_id < buyers.shop_id))
    )
    """
)


def _orders_fk_to_buyers() -> str:
    """The name of orders' foreign key to buyers: PostgreSQL's own, or (SQLite, unnamed) the
    one the naming convention below gives it."""
    found = [fk for fk in sa.inspect(op.get_bind()).get_foreign_keys("orders") if fk["referred_table"] == "buyers"]
    return found[0]["name"] or OLD_FK


# Names for what SQLite reflects unnamed, so batch mode can drop it.
NAMING = {"fk": "%(table_name)s_%(column_0_name)s_fkey", "pk": "%(table_name)s_pkey"}


def _primary_key(columns: list) -> None:
    with op.batch_alter_table("buyers", naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint(sa.inspect(op.get_bind()).get_pk_constraint("buyers")["name"] or PK, type_="primary")
        batch_op.create_primary_key(PK, columns)


def upgrade() -> None:
    # The old key goes first: PostgreSQL keeps buyers.id unique while a foreign key needs it.
    with op.batch_alter_table("orders", naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint(_orders_fk_to_buyers(), type_="foreignkey")
    _primary_key(["shop_id", "id"])
    op.get_bind().execute(MISSING_BUYERS, {"now": clock.now()})
    with op.batch_alter_table("orders") as batch_op:
        batch_op.create_foreign_key(NEW_FK, "buyers", ["shop_id", "buyer_id"], ["shop_id", "id"])


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch_op:
        batch_op.drop_constraint(NEW_FK, type_="foreignkey")
    op.get_bind().execute(LATER_SHOPS_ROWS)
    _primary_key(["id"])
    with op.batch_alter_table("orders") as batch_op:
        batch_op.create_foreign_key(OLD_FK, "buyers", ["buyer_id"], ["id"])
