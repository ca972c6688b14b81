"""Rate limiters for the batch layer: :class:`RateLimiter` counts the requests of one process
(the default), :class:`SharedRateLimiter` counts those of every process that books for one
account, through Redis.

A limiter is anything with ``async def acquire() -> None`` that returns when one more
request may start (:class:`~xportcn_async.client.RateLimiterLike`). Pass a number as
``rate_limit`` for the local one, or a limiter object for the shared one::

    async with SharedRateLimiter("redis://127.0.0.1:6379/0", 20, key=access_key) as limiter:
        async with client.logistics.book_many(orders, rate_limit=limiter) as run:
            ...

The shared limiter does not implement its own distributed algorithm: it uses the *moving
window* of the ``limits`` library (a Lua script over one Redis list per key, run
atomically by Redis) and adds the waiting that ``limits`` leaves to its caller. The moving
window is exact: among all processes, at most ``rate`` requests start in any one-second
window. ``limits``' other strategies are cheaper but looser (the fixed window allows twice
the rate across a window boundary; the sliding-window counter assumes the previous window's
requests were evenly spread, and let 39 requests through one second at a rate of 20, measured
with requests bunched at the end of a window).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .batch import RateLimiter
from .errors import ConfigurationError
from .hooks import RateLimiterLike

if TYPE_CHECKING:
    from limits import RateLimitItem
    from limits.aio.strategies import MovingWindowRateLimiter
    from redis.asyncio import ConnectionPool

__all__ = ["RateLimiter", "RateLimiterLike", "SharedRateLimiter"]

# The URL schemes redis-py accepts, and how ``limits`` spells each for its async storage.
_STORAGE_SCHEMES = {
    "redis": "async+redis",
    "rediss": "async+rediss",
    "unix": "async+redis+unix",
}
# While waiting, never ask Redis again sooner than this (a window that says "free now" but
# refused the request, e.g. under clock skew between hosts, must not become a busy loop)...
_MIN_WAIT = 0.001
# ...and add a random delay of up to one request interval, capped at this (see acquire()).
_MAX_SPREAD = 0.05


def _window(rate: float) -> tuple[int, int]:
    """``rate`` per second as the whole requests per whole seconds of a ``limits`` item,
    rounded so that no one-second window allows more than ``max(rate, 1)``."""
    if rate >= 1:
        return math.floor(rate), 1
    return 1, math.ceil(1 / rate - 1e-9)


class SharedRateLimiter:
    """At most ``rate`` requests per second, counted together across every process (on any
    host) that uses the same Redis server and the same ``key``.

    - ``redis_url``: ``redis://[[user]:password@]host:port/db``, ``rediss://...`` (TLS)
      or ``unix:///path/to/socket?db=0``.
    - ``rate``: requests per second, the same in every process (the window's key includes
      it, so processes with different rates do not share a count). A fractional rate is
      rounded down to whole requests per second (2.5 becomes 2); below 1 it becomes one
      request every ``ceil(1 / rate)`` seconds.
    - ``key``: what the count is shared by, usually the account's access key (never the
      secret: the key is stored in Redis in clear text).
    - ``key_prefix``: the prefix of the Redis key.

    Up to ``rate`` requests may start back to back within a second; there is no ``burst``
    setting. :meth:`acquire` waits for a free slot: in each process one caller at a time asks
    Redis (the others queue in order behind it) and, when the window is full, sleeps until
    its oldest request leaves it, plus a few random milliseconds. If Redis cannot be reached,
    :meth:`acquire` raises the ``redis`` error, and the request that waited for it is not
    sent.

    Close it with :meth:`aclose` or ``async with``: it owns a Redis connection pool.
    """

    def __init__(
        self, redis_url: str, rate: float, *, key: str, key_prefix: str = "xportcn-rate"
    ) -> None:
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError("rate must be a positive number (requests per second)")
        if not key:
            raise ValueError("key must not be empty (use the account's access key)")
        storage_scheme = _STORAGE_SCHEMES.get(urlsplit(redis_url).scheme)
        if storage_scheme is None:
            # The URL is not echoed: it may hold a password.
            raise ConfigurationError(
                "the shared rate limit's Redis URL must start with redis://, rediss:// or unix://"
            )
        try:
            import redis.asyncio
            from limits import RateLimitItemPerSecond
            from limits.aio.storage import RedisStorage
            from limits.aio.strategies import MovingWindowRateLimiter
        except ImportError:
            raise ConfigurationError(
                "the shared rate limit needs the 'redis' extra: pip install 'xportcn-async[redis]'"
            ) from None
        self.rate = rate
        self.key = key
        amount, seconds = _window(rate)
        self._item: RateLimitItem = RateLimitItemPerSecond(amount, seconds)
        # Ours, so that aclose() can close it: ``limits`` storages have no close method.
        self._pool: ConnectionPool = redis.asyncio.ConnectionPool.from_url(redis_url)
        storage = RedisStorage(
            storage_scheme + redis_url[redis_url.index(":") :],
            implementation="redispy",
            key_prefix=key_prefix,
            connection_pool=self._pool,  # type: ignore[arg-type]
        )
        self._window: MovingWindowRateLimiter = MovingWindowRateLimiter(storage)
        self._turn = asyncio.Lock()
        self._spread = max(min(seconds / amount, _MAX_SPREAD), _MIN_WAIT)

    def __repr__(self) -> str:
        # The Redis URL is left out: it may hold a password.
        return f"SharedRateLimiter(rate={self.rate!r}, key={self.key!r})"

    async def acquire(self) -> None:
        """Return when one more request may start, having counted it in Redis."""
        async with self._turn:
            while not await self.try_acquire():
                stats = await self._window.get_window_stats(self._item, self.key)
                # remaining > 0: a slot came free between the two calls. The random extra
                # spreads the starts of waiting processes over one request interval, instead
                # of all of them starting together the moment the oldest request leaves the
                # window (bunched starts arrive out of order and overshoot the rate).
                wait = stats.reset_time - time.time() if stats.remaining == 0 else 0.0
                await asyncio.sleep(max(wait, 0.0) + random.uniform(_MIN_WAIT, self._spread))

    async def try_acquire(self) -> bool:
        """Count one more request in Redis and return True if the window has room for it;
        return False at once, counting nothing, if it is full."""
        return await self._window.hit(self._item, self.key)

    async def aclose(self) -> None:
        """Close the Redis connections."""
        await self._pool.aclose()

    async def __aenter__(self) -> SharedRateLimiter:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
