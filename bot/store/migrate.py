"""Bringing a shop database to the current schema (Alembic, migrations in bot/store/migrations).

A new database is built by the migrations from nothing; a database made before migrations
existed (commit f39c05f and earlier: the shop's tables, no alembic_version) is recognised as
the baseline and upgraded in place, rows kept. `xiaoer run` and `xiaoer db upgrade` call
upgrade(); a schema change is a new file in migrations/versions (`xiaoer db revision -m …`).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from bot.store.db import engine
from bot.store.models import Base

MIGRATIONS = Path(__file__).parent / "migrations"
BASELINE = "0001"  # the schema of commit f39c05f


def _config(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def current_revision(url: Optional[str] = None) -> Optional[str]:
    with engine(url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


@contextmanager
def _migrating(url: Optional[str]) -> Iterator[Config]:
    """Alembic's config on a connection in one transaction, for the migrations to run."""
    with engine(url).connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # SQLite alters a table by copying it: references to it must wait (outside a transaction)
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                yield _config(connection)
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def upgrade(url: Optional[str] = None, to: str = "head") -> None:
    """The database at the newest revision (or at `to`: tests build an older one), its rows kept."""
    with _migrating(url) as cfg:
        connection = cfg.attributes["connection"]
        unversioned = MigrationContext.configure(connection).get_current_revision() is None
        if unversioned and inspect(connection).has_table("shops"):
            command.stamp(cfg, BASELINE)  # made by create_all before migrations: it is the baseline
        command.upgrade(cfg, to)


def downgrade(to: str, url: Optional[str] = None) -> None:
    """The database back at revision `to`, as far as its rows fit that schema (see each migration)."""
    with _migrating(url) as cfg:
        command.downgrade(cfg, to)


def drop(url: Optional[str] = None) -> None:
    """Drop the shop's tables and the migration record (Rasa's tracker tables stay)."""
    eng = engine(url)
    Base.metadata.drop_all(eng)
    with eng.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


def revision(message: str, url: Optional[str] = None) -> None:
    """A new migration from the difference between the models and the database."""
    with engine(url).begin() as connection:
        command.revision(_config(connection), message=message, autogenerate=True)


def shop_objects(obj, name, type_, reflected, compare_to) -> bool:
    """Only the shop's tables and their indexes: Rasa's tracker tables share the database
    (connectors/tracker_store.py) and are Rasa's to shape."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table is None or table in Base.metadata.tables
