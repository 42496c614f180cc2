"""Per-buyer turns: the wait for a predecessor and the buyer locks (connectors/buyer_turns.py).

The console channel's own tests send shuffled numbered messages through Rasa and the
database (tests/test_console_channel.py); these pin down the waiting rules alone, against a
stand-in for what the database says.
"""

import asyncio
import random
import time

import pytest

from connectors.buyer_turns import LocalLocks, wait_for_predecessor


class Chat:
    """What the database knows of one buyer's numbered messages."""

    def __init__(self, answered_before: int = 0) -> None:
        self.stored, self.answered, self.before = set(), set(), answered_before

    async def state(self, seq):
        last = max(self.answered | {self.before})
        return last, any(s < seq and s not in self.answered for s in self.stored)


async def _run(arrivals, chat=None, missing_wait=3.0):
    """Messages arrive in the given order (5 ms apart), each stored on arrival and answered
    when its turn comes; returns the order they were answered in."""
    chat, locks, done = chat or Chat(), LocalLocks(), []

    async def handle(position, seq):
        await asyncio.sleep(position * 0.005)
        chat.stored.add(seq)
        await wait_for_predecessor(lambda: chat.state(seq), seq, missing_wait=missing_wait, poll=0.002)
        async with locks.hold("b"):
            await asyncio.sleep(0.001)
            done.append(seq)
            chat.answered.add(seq)

    await asyncio.gather(*(handle(i, s) for i, s in enumerate(arrivals)))
    return done


async def test_messages_are_answered_in_sequence_whatever_the_arrival_order():
    arrivals = list(range(1, 31))
    random.Random(7).shuffle(arrivals)
    assert await _run(arrivals) == list(range(1, 31))


@pytest.mark.parametrize("arrivals", [[1, 2, 4, 5], [5, 4, 2, 1], [4, 5, 1, 2], [2, 5, 1, 4]])
async def test_a_missing_number_does_not_stall_the_buyer(arrivals):
    started = time.monotonic()
    assert await _run(arrivals, missing_wait=0.2) == [1, 2, 4, 5]
    assert time.monotonic() - started < 2


async def test_numbering_continues_after_a_restart():
    assert await _run([12, 11], Chat(answered_before=10), missing_wait=5) == [11, 12]


async def test_a_predecessor_stored_but_never_answered_holds_up_only_for_the_pending_wait():
    chat = Chat()
    chat.stored.add(1)  # its replica died; nobody retried it
    started = time.monotonic()
    await wait_for_predecessor(lambda: chat.state(2), 2, missing_wait=0.05, pending_wait=0.3, poll=0.01)
    assert 0.25 < time.monotonic() - started < 2


async def test_buyers_do_not_wait_for_each_other():
    locks, order = LocalLocks(), []

    async def handle(buyer, delay):
        async with locks.hold(buyer):
            await asyncio.sleep(delay)
            order.append(buyer)

    await asyncio.gather(handle("slow", 0.2), handle("fast", 0.0))
    assert order == ["fast", "slow"]


async def test_local_locks_are_forgotten_when_free():
    locks = LocalLocks()
    async with locks.hold("b"):
        pass
    assert locks._locks == {} and locks._users == {}
