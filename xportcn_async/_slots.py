"""A counting semaphore with a synchronous fast path, for the per-request hot paths (the
transport's connection slots, the batch engine's read-ahead bound).

``asyncio.Semaphore`` costs three coroutine calls per ``async with`` even when a slot is
free. :class:`Slots` has the same guarantees (FIFO wake-up, no barging past a waiter,
cancellation-safe) with a plain method call when a slot is free::

    if not slots.take_nowait():
        await slots.take()
    try:
        ...
    finally:
        slots.give()
"""

from __future__ import annotations

import asyncio
from collections import deque


class Slots:
    """``size`` slots, taken and given back.

    - :meth:`take_nowait` takes a free slot without suspending, and never one that a waiter
      is owed: a slot given back while tasks wait goes to the longest waiting one, directly.
    - :meth:`take` waits its turn (first come, first served).
    - A waiter cancelled after a slot was handed to it passes that slot on, so a
      cancellation never loses a slot.
    """

    __slots__ = ("_free", "_waiters")

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self._free = size
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def free(self) -> int:
        """Slots nobody holds or is owed."""
        return self._free

    def take_nowait(self) -> bool:
        """Take a slot if one is free and nobody waits for one; say whether it did."""
        if self._free and not self._waiters:
            self._free -= 1
            return True
        return False

    async def take(self) -> None:
        """Take a slot, waiting for one in turn."""
        if self.take_nowait():
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.give()  # handed a slot, then cancelled before using it: pass it on
            elif waiter in self._waiters:  # (give() drops cancelled waiters it meets)
                self._waiters.remove(waiter)
            raise

    def give(self) -> None:
        """Give a slot back: to the longest waiting task if any, else to the free count."""
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1
