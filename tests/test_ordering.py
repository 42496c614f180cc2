"""Per-buyer ordering of console messages (connectors/ordering.py)."""

import asyncio
import random

import pytest

from connectors.ordering import BuyerSequencer


async def _run(arrivals, sequencer, buyer="b", last_answered=0):
    """Messages arrive in the given order (5 ms apart); returns the order they were handled."""
    done = []

    async def handle(position, seq):
        await asyncio.sleep(position * 0.005)
        async with sequencer.turn(buyer, seq, last_answered):
            await asyncio.sleep(0.001)
            done.append(seq)

    await asyncio.gather(*(handle(i, s) for i, s in enumerate(arrivals)))
    return done


async def test_messages_are_handled_in_sequence_whatever_the_arrival_order():
    arrivals = list(range(1, 31))
    random.Random(7).shuffle(arrivals)
    assert await _run(arrivals, BuyerSequencer()) == list(range(1, 31))


@pytest.mark.parametrize("arrivals", [[1, 2, 4, 5], [5, 4, 2, 1], [4, 5, 1, 2], [2, 5, 1, 4]])
async def test_a_missing_number_does_not_stall_the_buyer(arrivals):
    assert await _run(arrivals, BuyerSequencer(missing_wait=0.2)) == [1, 2, 4, 5]


async def test_numbering_continues_after_a_restart():
    assert await _run([12, 11], BuyerSequencer(missing_wait=5), last_answered=10) == [11, 12]


async def test_buyers_do_not_wait_for_each_other():
    sequencer = BuyerSequencer(missing_wait=5)
    order = []

    async def handle(buyer, seq, delay):
        async with sequencer.turn(buyer, seq):
            await asyncio.sleep(delay)
            order.append(buyer)

    await asyncio.gather(handle("slow", 1, 0.2), handle("fast", 1, 0.0))
    assert order == ["fast", "slow"]
