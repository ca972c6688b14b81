"""Slots: the counting semaphore of the hot paths (the transport's connection slots, the
batch engine's read-ahead). Same guarantees as ``asyncio.Semaphore``: first come, first
served, no barging past a waiter, and no slot lost or doubled by a cancellation."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xportcn_async._slots import Slots


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match=r"^size must be at least 1$"):
        Slots(0)


async def test_free_slots_are_taken_without_waiting_and_given_back() -> None:
    slots = Slots(2)
    assert slots.take_nowait() and slots.take_nowait()
    assert not slots.take_nowait() and slots.free == 0
    slots.give()
    assert slots.free == 1
    await slots.take()  # a free slot: returns at once
    assert slots.free == 0


async def test_waiters_are_served_in_arrival_order() -> None:
    slots = Slots(1)
    assert slots.take_nowait()
    served: list[int] = []

    async def waiter(n: int) -> None:
        await slots.take()
        served.append(n)

    tasks = [asyncio.create_task(waiter(n)) for n in range(5)]
    await asyncio.sleep(0)
    for _ in range(5):
        slots.give()
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert served == [0, 1, 2, 3, 4]


async def test_a_slot_given_back_goes_to_the_waiter_not_to_a_newcomer() -> None:
    slots = Slots(1)
    assert slots.take_nowait()
    first = asyncio.create_task(slots.take())
    await asyncio.sleep(0)
    slots.give()  # owed to ``first``, which has not run yet
    assert not slots.take_nowait()  # a newcomer cannot take it meanwhile
    await first
    assert slots.free == 0


async def test_a_waiter_cancelled_while_waiting_leaves_no_trace() -> None:
    slots = Slots(1)
    assert slots.take_nowait()
    cancelled = asyncio.create_task(slots.take())
    after = asyncio.create_task(slots.take())
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    slots.give()
    await after  # the slot went to the next waiter
    slots.give()
    assert slots.free == 1


async def test_a_waiter_cancelled_after_being_handed_a_slot_passes_it_on() -> None:
    slots = Slots(1)
    assert slots.take_nowait()
    handed = asyncio.create_task(slots.take())
    after = asyncio.create_task(slots.take())
    await asyncio.sleep(0)
    slots.give()  # ``handed`` is owed the slot ...
    handed.cancel()  # ... and cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await handed
    await after  # the slot was passed on, not lost
    slots.give()
    assert slots.free == 1


async def test_a_cancelled_waiter_dropped_by_give_is_not_removed_twice() -> None:
    slots = Slots(1)
    assert slots.take_nowait()
    cancelled = asyncio.create_task(slots.take())
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.sleep(0)  # its wait is cancelled; the task has not handled it yet
    slots.give()  # drops the cancelled waiter, frees the slot
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert slots.free == 1


@settings(max_examples=60)
@given(
    size=st.integers(1, 4),
    plan=st.lists(st.tuples(st.integers(0, 3), st.booleans()), min_size=1, max_size=12),
)
def test_never_more_holders_than_slots_and_every_slot_comes_back(
    size: int, plan: list[tuple[int, bool]]
) -> None:
    """Tasks hold a slot for a few loop turns; some are cancelled at a random point (while
    waiting, or while holding). At no time do more than ``size`` hold one, and at the end
    every slot is free again."""

    async def scenario() -> None:
        slots = Slots(size)
        holding = 0
        peak = 0

        async def user(turns: int) -> None:
            nonlocal holding, peak
            if not slots.take_nowait():
                await slots.take()
            holding += 1
            peak = max(peak, holding)
            try:
                for _ in range(turns):
                    await asyncio.sleep(0)
            finally:
                holding -= 1
                slots.give()

        tasks = [asyncio.create_task(user(turns)) for turns, _ in plan]
        for turn in range(4):
            await asyncio.sleep(0)
            for (turns, cancel), task in zip(plan, tasks, strict=True):
                if cancel and turns == turn:
                    task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert peak <= size
        assert holding == 0 and slots.free == size

    asyncio.run(scenario())
