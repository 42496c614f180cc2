"""Each buyer's messages answered one at a time, in the console's order — by one Rasa
process or by several replicas behind a load balancer.

Nothing about a buyer's turn lives only in one process's memory, so any replica can take any
message and a replica killed mid-message loses nothing:

- **Locks** (`BuyerLocks`): one buyer's message is stored, and answered, by one hand at a
  time. In one process these are asyncio locks; with replicas (XIAOER_REDIS_URL) Redis keys
  set only if absent, with a lifetime the holder keeps renewing, so the buyers of a replica
  that dies are free again within LOCK_TTL_SECONDS.
- **Order** (`wait_for_predecessor`): when the console numbers a buyer's messages (`seq`), a
  message waits until its predecessor is answered. What is stored and answered is read from
  the shop database, which every replica shares. A number that never arrives (lost upstream)
  holds the buyer up for MISSING_WAIT_SECONDS at most; one stored but never answered (its
  replica died and nobody retried it) for PENDING_WAIT_SECONDS.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from contextlib import asynccontextmanager
from typing import AsyncIterator, Awaitable, Callable, Dict, Optional, Tuple

MISSING_WAIT_SECONDS = 3.0
PENDING_WAIT_SECONDS = 30.0
POLL_SECONDS = 0.02
LOCK_TTL_SECONDS = 5.0
LOCK_WAIT_SECONDS = 60.0  # then the request fails with 503 and the console retries it


class LockTimeout(Exception):
    pass


class LocalLocks:
    """One Rasa process: a lock per buyer, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: Dict[str, asyncio.Lock] = {}
        self._users: Dict[str, int] = defaultdict(int)

    @asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(name, asyncio.Lock())
        self._users[name] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[name] -= 1
            if not self._users[name]:
                del self._users[name], self._locks[name]

    async def close(self) -> None:
        pass


# Release and renew only a lock that is still ours: after a pause longer than the lifetime
# another replica may hold it now.
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"


class RedisLocks:
    """Replicas: a Redis key per buyer, SET NX with a lifetime renewed while held."""

    def __init__(self, url: str, ttl: float = LOCK_TTL_SECONDS, wait: float = LOCK_WAIT_SECONDS) -> None:
        import redis.asyncio

        self.redis = redis.asyncio.from_url(url)
        self.ttl_ms = int(ttl * 1000)
        self.wait = wait
        self._release = self.redis.register_script(_RELEASE)
        self._renew = self.redis.register_script(_RENEW)

    @asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        key, token = f"xiaoer:buyer:{name}", uuid.uuid4().hex
        deadline, pause = time.monotonic() + self.wait, 0.002
        while not await self.redis.set(key, token, nx=True, px=self.ttl_ms):
            if time.monotonic() > deadline:
                raise LockTimeout(f"buyer lock {name} still held after {self.wait:.0f}s")
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)
        renewing = asyncio.create_task(self._keep(key, token))
        try:
            yield
        finally:
            renewing.cancel()
            await self._release(keys=[key], args=[token])

    async def _keep(self, key: str, token: str) -> None:
        while True:
            await asyncio.sleep(self.ttl_ms / 3000)
            await self._renew(keys=[key], args=[token, self.ttl_ms])

    async def close(self) -> None:
        await self.redis.close()


BuyerLocks = LocalLocks | RedisLocks


def buyer_locks(redis_url: Optional[str]) -> BuyerLocks:
    return RedisLocks(redis_url) if redis_url else LocalLocks()


# (highest seq answered, any message numbered below `seq` stored but not yet answered)
OrderState = Tuple[int, bool]


async def wait_for_predecessor(
    read_state: Callable[[], Awaitable[OrderState]],
    seq: int,
    missing_wait: float = MISSING_WAIT_SECONDS,
    pending_wait: float = PENDING_WAIT_SECONDS,
    poll: float = POLL_SECONDS,
) -> None:
    """Return when message `seq` may be answered: its predecessor is answered, or it is
    missing for longer than `missing_wait`, or stuck unanswered for longer than `pending_wait`."""
    started = gap_since = time.monotonic()
    while True:
        last_answered, earlier_pending = await read_state()
        if last_answered >= seq - 1:
            return
        now = time.monotonic()
        if earlier_pending:
            gap_since = now  # the predecessors are here: wait for them to be answered
            if now - started > pending_wait:
                return
        elif now - gap_since > missing_wait:
            return  # a number never arrived: go on without it
        await asyncio.sleep(poll)
