"""Shared fixtures: one trained model and one set of real servers per test session.

The servers run on free ports against a fresh SQLite database seeded with the demo shop,
with the shop clock pinned to a quiet weekday morning (not the Double 11 rush, within
service hours) so answers are deterministic.
"""

from __future__ import annotations

import os
import secrets
import socket
import tempfile
from pathlib import Path

import pytest

from tests.clock import TEST_NOW

_tmp = Path(tempfile.mkdtemp(prefix="xiaoer-test-"))
os.environ["XIAOER_DB_URL"] = f"sqlite:///{_tmp / 'xiaoer.db'}"
os.environ["XIAOER_NOW"] = TEST_NOW
# Trainers' labels go to a scratch file, not the project's data/nlu/trainer.yml.
os.environ["XIAOER_TRAINER_FILE"] = str(_tmp / "trainer.yml")
# The servers and the tests sign with the same keys: one per purpose, random per test run.
for _purpose in ("webhook", "callback", "internal", "cookie", "identity", "action", "rasa"):
    os.environ[f"XIAOER_{_purpose.upper()}_SECRET"] = secrets.token_urlsafe(24)
# The tea shop talks to a console of its own, with its own keys (the default shop shares the server's).
for _purpose in ("webhook", "callback"):
    os.environ[f"XIAOER_SHOP_SHIYE_{_purpose.upper()}_SECRET"] = secrets.token_urlsafe(24)
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def shop_db():
    """A private in-memory database holding only the demo shop's row, for unit tests of the
    logic in bot/ (each test adds the buyers, products and orders it is about)."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from bot.shop.config import shop
    from bot.store.models import Base, Shop

    engine = create_engine("sqlite://", future=True)
    Base.metadata.create_all(engine)
    with Session(engine, future=True) as session:
        session.add(Shop(id=shop().shop_id, name=shop().name))
        session.flush()
        yield session


@pytest.fixture(scope="session")
def db_url() -> str:
    from datetime import datetime

    from bot.seed import reset_and_seed

    reset_and_seed(now=datetime.fromisoformat(TEST_NOW))
    return os.environ["XIAOER_DB_URL"]


@pytest.fixture(scope="session")
def model() -> Path:
    """The production model (config.yml), trained once and cached under models/."""
    from bot.nlu.training import ensure_model

    return ensure_model()


@pytest.fixture(scope="session")
def shop_models() -> dict:
    """The shops' own models (the tea shop's: shops/shiye/data), trained once and cached."""
    from bot.nlu.training import ensure_shop_models
    from bot.shop.config import shop_ids

    return ensure_shop_models(shop_ids())


@pytest.fixture(scope="session")
def servers(model: Path, shop_models: dict, db_url: str):
    from bot.servers import Ports, Servers

    srv = Servers(
        model=model,
        shop_models=shop_models,
        ports=Ports(rasa=_free_port(), actions=_free_port(), console=_free_port()),
        db_url=db_url,
        log_dir=_tmp / "logs",
        extra_env={"XIAOER_NOW": TEST_NOW},
    )
    srv.start(timeout=240)
    yield srv
    srv.stop()
