"""Per-call attempt hooks: what a caller (the batch layer, the bulk journal, your code) hands
to one call so that it runs around each of that call's HTTP attempts.

They are an explicit argument (``client.logistics.book(req, hooks=...)``), never ambient
state: the client reads no context variable, and the batch engine knows nothing of the
client. This module imports nothing else from the library, so that both can use it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

import attrs

__all__ = ["AttemptHooks", "AttemptResponse", "RateLimiterLike"]


class RateLimiterLike(Protocol):
    """A rate limiter: ``acquire()`` returns when one more HTTP request may start
    (:class:`~xportcn_async.ratelimit.RateLimiter`,
    :class:`~xportcn_async.ratelimit.SharedRateLimiter`, or your own)."""

    async def acquire(self) -> None: ...


@attrs.frozen(kw_only=True)
class AttemptResponse:
    """What ``after_response`` is told about the attempt that answered a call."""

    attempt: int
    """Its number (1, 2, ...): how many HTTP attempts the call took."""
    status: int
    headers: Mapping[str, str]
    """Looked up with lower-case names."""
    request_id: str | None


@attrs.frozen(kw_only=True)
class AttemptHooks:
    """What runs around each HTTP attempt of one call (the first and every retry).

    - ``limiter``: awaited before every attempt, before it is signed and before its timeout
      starts (waiting for a slot never counts against a request's timeout).
    - ``before_send``: called with the attempt number (1, 2, ...) right before the attempt is
      handed to the transport, after the limiter wait. If it raises, that attempt is not sent
      and the exception reaches the caller unchanged (the bulk journal writes its ``started``
      line here, and a booking whose line cannot be written is never sent).
    - ``before_write``: like ``before_send`` (and called right after it), but only for the
      attempts of a write: an operation that is not idempotent (a booking, an order, a
      payment, saving an address). Only those can leave an outcome in doubt; the batch
      engine counts them to tell ``unknown`` from ``failed``.
    - ``after_response``: called once the attempt that answers the call has brought a success
      envelope, before its result is read (:meth:`XportcnClient.with_raw_response` keeps it).
    """

    limiter: RateLimiterLike | None = None
    before_send: Callable[[int], None] | None = None
    before_write: Callable[[int], None] | None = None
    after_response: Callable[[AttemptResponse], None] | None = None
