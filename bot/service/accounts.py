"""Console logins: passwords, sessions that can end, roles, and a lid on guessing.

- Passwords are bcrypt at cost 12. bcrypt reads only 72 bytes, so a longer password is
  refused rather than silently cut. An unknown login costs the same time as a wrong
  password, so timing does not tell which logins exist.
- A session is a random token in the cookie; the database keeps only its hash, with an
  expiry. Logout, a password change or the expiry ends it.
- Five failed logins for one login name, or twenty from one address, within fifteen
  minutes lock further tries for the rest of that window.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Deque, Dict, Optional, Tuple

import bcrypt
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.store.models import Agent, AgentSession

BCRYPT_ROUNDS = 12
MAX_PASSWORD_BYTES = 72  # what bcrypt reads
MIN_PASSWORD_CHARS = 8
SESSION_HOURS = 12  # a shift
LOCK_WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_LOGIN = 5
MAX_FAILURES_PER_ADDRESS = 20
# Checked against when the login does not exist, so that answer takes as long as a wrong password.
_NO_SUCH_AGENT = bcrypt.hashpw(b"no such agent", bcrypt.gensalt(rounds=BCRYPT_ROUNDS))


class PasswordError(ValueError):
    """A password that cannot be used; the message says why, in Chinese for the page."""


def hash_password(password: str) -> str:
    check_password_shape(password)
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode()


def check_password_shape(password: str) -> None:
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise PasswordError(f"密码太长：最多 {MAX_PASSWORD_BYTES} 个字节")
    if len(password) < MIN_PASSWORD_CHARS:
        raise PasswordError(f"密码至少 {MIN_PASSWORD_CHARS} 位")


def authenticate(session: Session, login: str, password: str) -> Optional[Agent]:
    """The agent whose login and password these are, else None — in the same time either way."""
    agent = session.execute(select(Agent).where(Agent.login == login)).scalar_one_or_none()
    secret = password.encode()[:MAX_PASSWORD_BYTES]
    stored = agent.password_hash.encode() if agent is not None else _NO_SUCH_AGENT
    matched = bcrypt.checkpw(secret, stored)
    return agent if agent is not None and matched and len(password.encode()) <= MAX_PASSWORD_BYTES else None


def password_matches(password: str, password_hash: str) -> bool:
    return bcrypt.checkpw(password.encode()[:MAX_PASSWORD_BYTES], password_hash.encode())


def change_password(session: Session, agent: Agent, new_password: str) -> None:
    """A new password; every session of the agent ends (they log in again)."""
    agent.password_hash = hash_password(new_password)
    agent.must_change_password = False
    session.execute(delete(AgentSession).where(AgentSession.agent_id == agent.id))


# --- sessions -------------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, agent: Agent, now: datetime) -> str:
    """A new session; returns the token for the cookie (the database keeps only its hash)."""
    token = secrets.token_urlsafe(32)
    session.add(AgentSession(token_hash=_digest(token), agent_id=agent.id, created_at=now,
                             expires_at=now + timedelta(hours=SESSION_HOURS)))  # fmt: skip
    session.flush()
    return token


def session_agent(session: Session, token: str, now: datetime) -> Optional[Agent]:
    """The agent of a live session, else None (unknown, revoked or expired)."""
    if not token or len(token) > 100:
        return None
    row = session.get(AgentSession, _digest(token))
    if row is None or row.expires_at <= now:
        return None
    return session.get(Agent, row.agent_id)


def close_session(session: Session, token: str) -> None:
    session.execute(delete(AgentSession).where(AgentSession.token_hash == _digest(token)))


# --- guessing ------------------------------------------------------------------------------


@dataclass
class LoginThrottle:
    """Failed logins remembered per login name and per address, for LOCK_WINDOW_SECONDS."""

    failures: Dict[Tuple[str, str], Deque[float]] = None

    def __post_init__(self) -> None:
        self.failures = defaultdict(deque)

    def _recent(self, key: Tuple[str, str], now: float) -> Deque[float]:
        times = self.failures[key]
        while times and now - times[0] > LOCK_WINDOW_SECONDS:
            times.popleft()
        if not times:
            del self.failures[key]  # the table never grows beyond the current window
            return deque()
        return times

    def locked(self, login: str, address: str, now: Optional[float] = None) -> bool:
        now = time.monotonic() if now is None else now
        return (
            len(self._recent(("login", login), now)) >= MAX_FAILURES_PER_LOGIN
            or len(self._recent(("address", address), now)) >= MAX_FAILURES_PER_ADDRESS
        )

    def failed(self, login: str, address: str, now: Optional[float] = None) -> None:
        now = time.monotonic() if now is None else now
        for key in [k for k, times in self.failures.items() if now - times[-1] > LOCK_WINDOW_SECONDS]:
            del self.failures[key]  # whoever stopped failing long ago leaves the table
        self.failures[("login", login)].append(now)
        self.failures[("address", address)].append(now)
