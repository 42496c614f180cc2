"""The shop database upgrades in place (Alembic, bot/store/migrate.py)."""

import re
import sqlite3
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from bot.store import migrate
from bot.store.db import engine, session_scope
from bot.store.models import Agent, AgentStatus, Base, Conversation, Handler, Message, Order, OrderStatus

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
