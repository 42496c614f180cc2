"""The shop database upgrades in place (Alembic, bot/store/migrate.py)."""

import re
import shutil
import socket
import sqlite3
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

from bot import scale
from bot.store import migrate
from bot.store.db import engine, session_scope
from bot.store.models import Agent, AgentStatus, Base, Buyer, Conversation, Handler, Message, Order, OrderStatus

OLD_DATABASE = Path(__file__).parent / "fixtures" / "schema_f39c05f.sql"


def _old_database(tmp_path) -> str:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_DATABASE.read_text(encoding="utf-8"))
    return f"sqlite:///{path}"


def _row_counts(url: str) -> dict:
    with engine(url).connect() as connection:
        return {t: connection.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one() for t in Base.metadata.tables}


def test_a_database_from_before_migrations_upgrades_with_every_row(tmp_path):
    url = _old_database(tmp_path)
    sql = OLD_DATABASE.read_text(encoding="utf-8")
    old_tables = re.findall(r"^CREATE TABLE (\w+)", sql, re.M)
    inserted = {t: len(re.findall(rf"^INSERT INTO {t} VALUES", sql, re.M)) for t in old_tables}
    assert migrate.current_revision(url) is None and all(inserted.values())

    migrate.upgrade(url)

    assert migrate.current_revision(url) == migrate.head_revision()
    counts = _row_counts(url)
    assert {t: counts[t] for t in old_tables} == inserted
    assert all(counts[t] == 0 for t in counts if t not in old_tables)  # tables added since start empty
    with session_scope(url) as session:  # the rows read back through today's models
        assert {o.status for o in session.execute(select(Order)).scalars()} == set(OrderStatus)
        assert {a.status for a in session.execute(select(Agent)).scalars()} == {AgentStatus.AWAY}
        conv = session.execute(select(Conversation)).scalar_one()
        assert conv.handled_by is Handler.QUEUE and conv.handoff_reason == "buyer_asked"
        assert [m.text for m in session.execute(select(Message).order_by(Message.id)).scalars()] == [
            "包邮吗",
            "亲，全店满99元包邮哦",
        ]


def test_upgrading_twice_changes_nothing(tmp_path):
    url = _old_database(tmp_path)
    migrate.upgrade(url)
    counts = _row_counts(url)
    migrate.upgrade(url)
    assert _row_counts(url) == counts and migrate.current_revision(url) == migrate.head_revision()


def test_migrations_build_exactly_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    migrate.upgrade(url)
    with engine(url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


# --- 0007: a buyer is a shop's buyer ----------------------------------------------------------------


@pytest.fixture(scope="module")
def postgresql_url():
    """A PostgreSQL of its own (Debian's package, as `xiaoer run --replicas` uses: bot/scale.py)."""
    folder = Path(tempfile.mkdtemp(prefix="xiaoer-migrate-"))
    folder.chmod(0o755)  # PostgreSQL's own user keeps its data in here
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    postgres = scale.Postgres(folder / "postgres", port).start()
    try:
        yield postgres.url
    finally:
        postgres.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shops.db'}"
    return request.getfixturevalue("postgresql_url")


FIRST = datetime(2025, 5, 12, 9, 30)


TABLES = Base.metadata.tables  # at 0006 the same columns as today's models


def _buyer_rows(url: str) -> dict:
    buyers = TABLES["buyers"]
    with engine(url).connect() as connection:
        rows = connection.execute(select(buyers.c.shop_id, buyers.c.id, buyers.c.nick, buyers.c.created_at)).all()
    return {(shop_id, id_): (nick, created_at) for shop_id, id_, nick, created_at in rows}


def _orders_without_their_shops_buyer(url: str) -> int:
    with engine(url).connect() as connection:
        return connection.execute(
            text(
                "SELECT count(*) FROM orders WHERE NOT EXISTS (SELECT 1 FROM buyers AS b"
                " WHERE b.shop_id = orders.shop_id AND b.id = orders.buyer_id)"
            )
        ).scalar_one()


def _foreign_keys_to_buyers(url: str) -> list:
    fks = inspect(engine(url)).get_foreign_keys("orders")
    return [(fk["constrained_columns"], fk["referred_columns"]) for fk in fks if fk["referred_table"] == "buyers"]


def test_a_buyer_of_one_shop_with_a_chat_and_an_order_in_another_gets_a_row_there(empty_url):
    """At 0006 the buyer row was the first shop's: 阿强, first seen by the T-shirt shop, has an
    order and a chat in the tea shop; 小新 only a chat there (as has a visitor v1 with no row).
    Upgraded, each is a buyer of the
    tea shop too — the nick they had, first seen at their earliest chat or order there — and
    every order points at its own shop's buyer."""
    url = empty_url
    migrate.drop(url)
    migrate.upgrade(url, to="0006")
    with engine(url).begin() as connection:
        connection.execute(
            TABLES["shops"].insert(), [{"id": "qingshan", "name": "青衫"}, {"id": "shiye", "name": "拾叶"}]
        )
        connection.execute(
            TABLES["buyers"].insert(),
            [
                {"id": "b1", "shop_id": "qingshan", "nick": "阿强", "created_at": FIRST},
                {"id": "b2", "shop_id": "qingshan", "nick": "小新", "created_at": FIRST},
                {"id": "b3", "shop_id": "shiye", "nick": "茶客", "created_at": FIRST},
            ],
        )

        def order(oid, shop_id, buyer_id, at):
            return dict(id=oid, shop_id=shop_id, buyer_id=buyer_id, status="PAID", created_at=at, goods_fen=100,
                        freight_fen=0, express="YTO", receiver_name="张三", receiver_phone="13900000000",
                        province="浙江", city="杭州", address="文三路1号", note="")  # fmt: skip

        def chat(shop_id, buyer_id, at):
            return dict(shop_id=shop_id, buyer_id=buyer_id, started_at=at, last_message_at=at, handled_by="bot",
                        state="open", tags=[])  # fmt: skip

        connection.execute(
            TABLES["orders"].insert(),
            [order("1", "qingshan", "b1", FIRST), order("2", "shiye", "b1", FIRST + timedelta(days=30)),
             order("3", "shiye", "b3", FIRST)],
        )  # fmt: skip
        connection.execute(
            TABLES["conversations"].insert(),
            [chat("qingshan", "b1", FIRST), chat("shiye", "b1", FIRST + timedelta(days=40)),
             chat("shiye", "b1", FIRST + timedelta(days=20)), chat("shiye", "b2", FIRST + timedelta(days=50)),
             chat("shiye", "v1", FIRST + timedelta(days=60))],
        )  # fmt: skip
    assert _orders_without_their_shops_buyer(url) == 1  # the tea order of the T-shirt shop's buyer

    migrate.upgrade(url)

    assert _buyer_rows(url) == {
        ("qingshan", "b1"): ("阿强", FIRST),
        ("qingshan", "b2"): ("小新", FIRST),
        ("shiye", "b3"): ("茶客", FIRST),
        ("shiye", "b1"): ("阿强", FIRST + timedelta(days=20)),  # the earlier of his tea chats and order
        ("shiye", "b2"): ("小新", FIRST + timedelta(days=50)),  # a chat only
        ("shiye", "v1"): ("v1", FIRST + timedelta(days=60)),  # a chat and no row anywhere: named by the id
    }
    assert _orders_without_their_shops_buyer(url) == 0
    assert _foreign_keys_to_buyers(url) == [(["shop_id", "buyer_id"], ["shop_id", "id"])]
    with session_scope(url) as session:  # and through the models
        assert session.get(Order, "2").buyer is session.get(Buyer, ("shiye", "b1"))
        assert [o.id for o in session.get(Buyer, ("qingshan", "b1")).orders] == ["1"]
    if url.startswith("sqlite"):
        with engine(url).connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []

    # Back to 0006: one row per buyer again, the shop that saw them first; and up again.
    migrate.downgrade("0006", url)
    assert _buyer_rows(url) == {
        ("qingshan", "b1"): ("阿强", FIRST),
        ("qingshan", "b2"): ("小新", FIRST),
        ("shiye", "b3"): ("茶客", FIRST),
        ("shiye", "v1"): ("v1", FIRST + timedelta(days=60)),
    }
    assert _foreign_keys_to_buyers(url) == [(["buyer_id"], ["id"])]
    migrate.upgrade(url)
    assert len(_buyer_rows(url)) == 6 and _orders_without_their_shops_buyer(url) == 0
