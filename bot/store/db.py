"""Engine and sessions for the shop database (any SQLAlchemy URL; SQLite by default)."""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from bot import settings


@lru_cache(maxsize=None)
def engine(url: str | None = None) -> Engine:
    url = url or settings.database_url()
    if url.startswith("sqlite"):
        # Three processes (console, Rasa's tracker store, actions) share the file: WAL lets
        # readers go on while one writes, and the timeout waits out short write locks.
        # Pooled connections: SQLAlchemy's default for SQLite files opens one per session,
        # a tenth of the action server's time under load (benchmarks/peak_load.py).
        eng = create_engine(
            url,
            future=True,
            hide_parameters=True,  # a failing statement's error never carries a buyer's words
            poolclass=QueuePool,
            pool_size=5,
            max_overflow=10,
            connect_args={"timeout": 30, "check_same_thread": False},
        )

        @event.listens_for(eng, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return eng
    return create_engine(url, future=True, pool_pre_ping=True, hide_parameters=True)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session per unit of work: committed on success, rolled back on error."""
    session = sessionmaker(bind=engine(url), future=True, expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
