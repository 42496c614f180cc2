"""Each buyer's messages answered one at a time, in the order the console numbered them.

Concurrent requests from one buyer can arrive in any order. When the console numbers a
buyer's messages (`seq`), a message waits for its predecessor to be answered; if the
predecessor never arrives (lost upstream) the wait ends after a few seconds, so a gap
cannot stall the buyer. Messages without `seq` go in arrival order.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from contextlib import asynccontextmanager
from typing import AsyncIterator, Dict, Optional, Set

MISSING_WAIT_SECONDS = 3.0


class BuyerSequencer:
    def __init__(self, missing_wait: float = MISSING_WAIT_SECONDS) -> None:
        self.missing_wait = missing_wait
        self._cond = asyncio.Condition()
        self._done: Dict[str, int] = {}
        self._pending: Dict[str, Set[int]] = defaultdict(set)
        self._locks: Dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    @asynccontextmanager
    async def turn(self, buyer_id: str, seq: Optional[int], last_answered: int = 0) -> AsyncIterator[None]:
        """Hold the buyer's turn; last_answered is the highest seq answered before (from the database)."""
        if seq is not None:
            async with self._cond:
                self._done.setdefault(buyer_id, last_answered)
                self._pending[buyer_id].add(seq)
                self._cond.notify_all()  # a later message waiting on a gap learns its predecessor is here
                await self._wait_for_predecessor(buyer_id, seq)
        try:
            async with self._locks[buyer_id]:
                yield
        finally:
            if seq is not None:
                async with self._cond:
                    self._pending[buyer_id].discard(seq)
                    self._done[buyer_id] = max(self._done[buyer_id], seq)
                    self._cond.notify_all()
            self._forget_if_idle(buyer_id)

    def _forget_if_idle(self, buyer_id: str) -> None:
        """A buyer with nothing waiting leaves the tables (the next message reads the database
        again), so they hold the buyers chatting now, not every buyer ever seen."""
        lock = self._locks.get(buyer_id)
        if self._pending.get(buyer_id) or (lock is not None and lock.locked()):
            return
        self._pending.pop(buyer_id, None)
        self._locks.pop(buyer_id, None)
        self._done.pop(buyer_id, None)

    async def _wait_for_predecessor(self, buyer_id: str, seq: int) -> None:
        gap_since = time.monotonic()
        while self._done[buyer_id] < seq - 1:
            earlier_pending = any(s < seq for s in self._pending[buyer_id])
            if earlier_pending:
                gap_since = time.monotonic()  # the predecessors are here: wait for them, however long
                await self._cond.wait()
                continue
            remaining = self.missing_wait - (time.monotonic() - gap_since)
            if remaining <= 0:
                return  # a number never arrived: go on without it
            try:
                await asyncio.wait_for(self._cond.wait(), remaining)
            except asyncio.TimeoutError:
                return
