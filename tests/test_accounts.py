"""Console logins (bot/service/accounts.py): passwords, sessions that end, roles, guessing."""

import time
from datetime import datetime, timedelta

import pytest

from bot.service import accounts
from bot.store.models import Agent, Role

NOW = datetime(2026, 11, 20, 10, 30)


@pytest.fixture()
def agent(shop_db):
    a = Agent(shop_id="qingshan", login="xiaomei", name="小美", skills=["presale"], max_sessions=2,
              password_hash=accounts.hash_password("correct horse"))  # fmt: skip
    shop_db.add(a)
    shop_db.flush()
    return a


def test_passwords_are_bcrypt_at_cost_twelve(agent):
    assert agent.password_hash.startswith("$2b$12$")


def test_login_with_the_right_password_only(shop_db, agent):
    assert accounts.authenticate(shop_db, "xiaomei", "correct horse") is agent
    assert accounts.authenticate(shop_db, "xiaomei", "wrong") is None
    assert accounts.authenticate(shop_db, "nobody", "correct horse") is None


def test_an_unknown_login_takes_as_long_as_a_wrong_password(shop_db, agent):
    def seconds(login):
        started = time.perf_counter()
        accounts.authenticate(shop_db, login, "wrong password")
        return time.perf_counter() - started

    known, unknown = min(seconds("xiaomei") for _ in range(3)), min(seconds("nobody") for _ in range(3))
    assert unknown > 0.5 * known  # both pay for a bcrypt check: timing tells nothing


def test_passwords_beyond_what_bcrypt_reads_are_refused_not_cut(shop_db, agent):
    long = "密" * 30  # 90 bytes
    with pytest.raises(accounts.PasswordError, match="72"):
        accounts.hash_password(long)
    assert accounts.authenticate(shop_db, "xiaomei", long) is None  # no error, no login
    with pytest.raises(accounts.PasswordError):
        accounts.hash_password("short")


def test_a_session_ends_at_logout_at_expiry_and_with_a_password_change(shop_db, agent):
    token = accounts.open_session(shop_db, agent, NOW)
    assert accounts.session_agent(shop_db, token, NOW) is agent
    assert accounts.session_agent(shop_db, token, NOW + timedelta(hours=accounts.SESSION_HOURS)) is None
    accounts.close_session(shop_db, token)
    assert accounts.session_agent(shop_db, token, NOW) is None

    other = accounts.open_session(shop_db, agent, NOW)
    accounts.change_password(shop_db, agent, "a new good one")
    assert accounts.session_agent(shop_db, other, NOW) is None
    assert accounts.authenticate(shop_db, "xiaomei", "a new good one") is agent
    assert accounts.session_agent(shop_db, "forged-token", NOW) is None


def test_guessing_is_locked_per_login_and_per_address():
    throttle = accounts.LoginThrottle()
    for _ in range(accounts.MAX_FAILURES_PER_LOGIN):
        assert not throttle.locked("xiaomei", "10.0.0.1", now=100.0)
        throttle.failed("xiaomei", "10.0.0.1", now=100.0)
    assert throttle.locked("xiaomei", "10.0.0.9", now=101.0)  # the login, from anywhere
    assert not throttle.locked("ajie", "10.0.0.9", now=101.0)
    later = 100.0 + accounts.LOCK_WINDOW_SECONDS + 1
    assert not throttle.locked("xiaomei", "10.0.0.9", now=later)
    throttle.failed("ajie", "10.0.0.2", now=later)
    assert set(throttle.failures) == {("login", "ajie"), ("address", "10.0.0.2")}  # only the current window


def test_roles_include_the_ones_below():
    assert Role.SUPERVISOR.allows(Role.TRAINER) and Role.TRAINER.allows(Role.AGENT)
    assert not Role.AGENT.allows(Role.TRAINER) and not Role.TRAINER.allows(Role.SUPERVISOR)
