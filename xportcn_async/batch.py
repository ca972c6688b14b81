"""Run one coroutine function over many inputs: bounded concurrency, an optional rate limit,
one outcome per input, lazy input, bounded memory.

    async with batch(client.logistics.estimate_freight, requests, concurrency=32) as run:
        async for outcome in run:
            ...
    print(run.report)

- Inputs (any iterable or async iterable) are read only when a worker is free and fewer than
  ``concurrency + window`` outcomes wait for the consumer, so a generator of a million items
  is never materialised.
- With ``with_hooks=True`` the function is called as ``fn(item, hooks=hooks)`` and passes
  those :class:`~xportcn_async.AttemptHooks` to every client call it makes (resource methods
  take them as is: ``batch(client.logistics.estimate_freight, ..., with_hooks=True)``). The
  rate limit then counts HTTP requests: every attempt (previews, bookings, retries) waits
  for a slot first, and each outcome counts its attempts. Without it, the engine knows
  nothing of what ``fn`` sends: the rate limit spaces the items' starts. Waiting for a slot,
  like waiting for a worker, never counts against a request's timeout.
- One failing item never stops the others: every input read gets exactly one
  :class:`Outcome`. A fault of the machinery itself (the input iterator raises, the journal
  cannot be written) stops the run and is raised to the consumer.
- ``ordered=True`` yields outcomes in input order; a slow item holds back the ones after it,
  up to ``concurrency + window - 1`` of them. Otherwise outcomes come as they complete.
- :meth:`BatchRun.stop` stops taking new inputs and lets in-flight work finish;
  :meth:`BatchRun.aclose` (or leaving the ``async with`` block, or cancelling the consumer)
  cancels in-flight work too. Either way no task is left behind.
"""

from __future__ import annotations

import asyncio
import enum
import math
import time
import types
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any, Generic, Literal, Protocol, TypeVar, overload

import attrs

from ._slots import Slots
from .errors import APIError, OutcomeUnknownError, ValidationError, XportcnError
from .hooks import AttemptHooks, RateLimiterLike
from .retry import ErrorKind, classify

T = TypeVar("T")
R = TypeVar("R")
T_contra = TypeVar("T_contra", contravariant=True)
R_co = TypeVar("R_co", covariant=True)


class HookedFunction(Protocol[T_contra, R_co]):
    """A batch function that takes the run's :class:`~xportcn_async.AttemptHooks`
    (``with_hooks=True``) and passes them to every client call it makes."""

    def __call__(self, item: T_contra, /, *, hooks: AttemptHooks) -> Awaitable[R_co]: ...


class Status(str, enum.Enum):
    """What happened to one input."""

    OK = "ok"
    """The call succeeded (generic batches)."""
    BOOKED = "booked"
    """The booking succeeded (``book_many``)."""
    REJECTED = "rejected"
    """Invalid input, or the API said no: the error is attached. Nothing to retry as is."""
    FAILED = "failed"
    """A transport or server failure after all retries. Safe to run again."""
    UNKNOWN = "unknown"
    """The request may have reached the server; it was not retried. Check before resending."""
    SKIPPED = "skipped"
    """Not sent: already done (for example booked in the journal of an earlier run)."""


@attrs.frozen(kw_only=True)
class Outcome(Generic[T, R]):
    """The outcome of one input."""

    index: int
    """The input's position, from 0."""
    key: str
    item: T
    status: Status
    result: R | None = None
    error: BaseException | None = None
    attempts: int = 0
    """HTTP attempts sent for this input (0 when nothing was sent), counted through the
    run's hooks (``with_hooks=True``; always 0 without them)."""
    latency: float = 0.0
    """Seconds from the start of this input's work to its outcome (queueing excluded)."""

    @property
    def ok(self) -> bool:
        return self.status in (Status.OK, Status.BOOKED)


def status_for_error(error: BaseException, *, sent: bool = True) -> Status:
    """How a failed call is reported: ``unknown``, ``rejected`` or ``failed``. ``sent`` says
    whether a write (a non-idempotent request) went out for it; an unexpected error (not an
    SDK error) after that may hide a completed write, so it is ``unknown``. Reads and
    previews cannot leave anything in doubt: after those alone it is ``failed``."""
    if isinstance(error, OutcomeUnknownError):
        return Status.UNKNOWN
    if not isinstance(error, XportcnError):
        return Status.UNKNOWN if sent else Status.FAILED
    if isinstance(error, ValidationError):
        return Status.REJECTED
    if isinstance(error, APIError) and classify(error) is ErrorKind.FINAL:
        return Status.REJECTED
    return Status.FAILED


class LatencyHistogram:
    """Latency percentiles in bounded memory: log-spaced buckets 1 % wide, from 10 µs."""

    _BASE = 1e-5
    _RATIO = math.log(1.01)

    def __init__(self) -> None:
        self._buckets: dict[int, int] = {}
        self.count = 0
        self.max = 0.0

    def add(self, seconds: float) -> None:
        self.count += 1
        self.max = max(self.max, seconds)
        b = int(math.log(max(seconds, self._BASE) / self._BASE) / self._RATIO)
        self._buckets[b] = self._buckets.get(b, 0) + 1

    def percentile(self, p: float) -> float:
        """The ``p``-th percentile (0-100), to within 1 %; 0.0 when empty."""
        if not self.count:
            return 0.0
        rank = max(1, math.ceil(self.count * p / 100))
        seen = 0
        for b in sorted(self._buckets):
            seen += self._buckets[b]
            if seen >= rank:
                return min(self._BASE * math.exp((b + 1) * self._RATIO), self.max)
        return self.max


class BatchReport:
    """Counts by status, throughput and latency percentiles, updated live."""

    def __init__(self) -> None:
        self.counts: dict[Status, int] = {}
        self.latency = LatencyHistogram()
        self.started = time.monotonic()
        self.finished: float | None = None

    def add(self, outcome: Outcome[Any, Any], *, timed: bool | None = None) -> None:
        """Count ``outcome``; its latency counts when ``timed`` (by default: when it sent
        something)."""
        self.counts[outcome.status] = self.counts.get(outcome.status, 0) + 1
        if outcome.attempts if timed is None else timed:
            self.latency.add(outcome.latency)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    @property
    def throughput(self) -> float:
        """Outcomes per second."""
        return self.total / self.elapsed if self.elapsed > 0 else 0.0

    def count(self, status: Status) -> int:
        return self.counts.get(status, 0)

    def as_dict(self) -> dict[str, Any]:
        lat = self.latency
        return {
            "total": self.total,
            "counts": {
                s.value: n for s, n in sorted(self.counts.items(), key=lambda x: x[0].value)
            },
            "elapsed_s": round(self.elapsed, 3),
            "throughput_per_s": round(self.throughput, 1),
            "latency_ms": {
                name: round(value * 1000, 2)
                for name, value in (
                    ("p50", lat.percentile(50)),
                    ("p90", lat.percentile(90)),
                    ("p99", lat.percentile(99)),
                    ("max", lat.max),
                )
            },
        }

    def __str__(self) -> str:
        d = self.as_dict()
        counts = ", ".join(f"{k} {v}" for k, v in d["counts"].items()) or "nothing"
        lat = d["latency_ms"]
        return (
            f"{d['total']} items in {d['elapsed_s']:.2f} s ({d['throughput_per_s']:.1f}/s): "
            f"{counts}; latency p50 {lat['p50']} ms, p90 {lat['p90']} ms, "
            f"p99 {lat['p99']} ms, max {lat['max']} ms"
        )


class RateLimiter:
    """At most ``rate`` acquisitions per second, evenly spaced.

    ``burst`` is how many starts may happen back to back after an idle spell; the default, 1,
    allows no burst above the rate (a start every ``1/rate`` seconds at most). No lock is
    needed: each caller reserves its slot before sleeping.
    """

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate_limit must be positive (requests per second)")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.interval = 1.0 / rate
        self.burst = burst
        self._next = 0.0
        self._clock = clock
        self._sleep = sleep

    async def acquire(self) -> None:
        now = self._clock()
        slot = max(self._next, now - (self.burst - 1) * self.interval)
        self._next = slot + self.interval
        if slot > now:
            await self._sleep(slot - now)


class BatchAbort(Exception):
    """Raised by a batch function to stop the whole run because the machinery failed (for
    example the journal cannot be written). Raise it only when nothing was sent for the
    item: the item gets a ``failed`` outcome carrying ``error``, no new input is read,
    in-flight items finish and are yielded, and then ``error`` is raised to the consumer."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def _limiter(rate_limit: float | RateLimiterLike | None, burst: int) -> RateLimiterLike | None:
    """A number is a local :class:`RateLimiter`; any other limiter paces itself."""
    if rate_limit is None:
        return None
    if isinstance(rate_limit, (int, float)):
        return RateLimiter(rate_limit, burst)
    if burst != 1:
        raise ValueError("burst applies to a numeric rate_limit only, not to a limiter object")
    return rate_limit


Verdict = tuple[Status, Any, BaseException | None]
Precheck = Callable[[T, str], "Verdict | Awaitable[Verdict | None] | None"]

_DONE: Any = object()


class BatchRun(Generic[T, R]):
    """An async iterator of :class:`Outcome`, and an async context manager that guarantees
    cleanup. Build it with :func:`batch`.

    A run built with ``usage`` (``book_many`` gives one) must be iterated inside
    ``async with``: iterating it bare raises ``TypeError`` showing ``usage`` in that form, and
    starts nothing. A bare ``async for`` that is left early (``break``, an exception) gives
    the run no signal at all, so its workers would go on booking in the background until
    something closed it; ``async with`` closes it on the way out, whatever the way.
    """

    def __init__(
        self,
        fn: Callable[[T], Awaitable[R]] | HookedFunction[T, R],
        items: Iterable[T] | AsyncIterable[T],
        *,
        with_hooks: bool = False,
        concurrency: int,
        rate_limit: float | RateLimiterLike | None,
        burst: int,
        ordered: bool,
        window: int | None,
        key: Callable[[T], str] | None,
        success: Status = Status.OK,
        precheck: Precheck[T] | None = None,
        on_outcome: Callable[[Outcome[T, R]], Awaitable[None] | None] | None = None,
        on_close: Callable[[], Awaitable[None] | None] | None = None,
        usage: str | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._fn: Callable[..., Awaitable[R]] = fn
        self._with_hooks = with_hooks
        self._items = items
        self._concurrency = concurrency
        self._limiter = _limiter(rate_limit, burst)
        self._ordered = ordered
        self._window = concurrency if window is None else window
        if self._window < 0:
            raise ValueError("window must not be negative")
        self._key = key or (lambda item: str(getattr(item, "key", "")))
        self._success = success
        self._precheck = precheck
        self._on_outcome = on_outcome
        self._on_close = on_close
        self.report = BatchReport()
        self._queue: asyncio.Queue[Outcome[T, R]] = asyncio.Queue()
        # Taken before an input is read, given back when its outcome is yielded: the input is
        # never more than concurrency + window items ahead of the consumer.
        self._ahead = Slots(concurrency + self._window)
        self._pending: dict[int, Outcome[T, R]] = {}
        self._next_index = 0  # next input index to hand out
        self._next_yield = 0  # ordered mode: next index to deliver
        self._iter: Any = None
        self._async_source = isinstance(items, AsyncIterable)
        self._pull_lock = asyncio.Lock()
        self._pull_task: asyncio.Future[T] | None = None
        self._stopping = False
        self._exhausted = False
        self._error: BaseException | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._supervisor: asyncio.Task[None] | None = None
        self._closed = False
        self._entered = False
        self._usage = usage
        self._closing: asyncio.Future[None] | None = None

    # -- control ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Take no new inputs; in-flight items finish and are still yielded."""
        self._stopping = True
        if self._pull_task is not None:
            self._pull_task.cancel()  # an async source waiting for its next item

    async def aclose(self) -> None:
        """Stop now: cancel in-flight items (their outcomes are not yielded) and wait for
        every task to end, even if this call is itself cancelled meanwhile. A consumer
        waiting in another task gets ``StopAsyncIteration``."""
        if self._closed:
            return
        self._stopping = True
        self._closed = True
        tasks = [*self._workers, *([self._supervisor] if self._supervisor else [])]
        for task in tasks:
            task.cancel()
        interrupted = False
        try:
            while tasks:
                try:
                    await asyncio.gather(*tasks, return_exceptions=True)
                    break
                except asyncio.CancelledError:
                    interrupted = True  # finish cleaning up first; re-raised below
        finally:
            self._queue.put_nowait(_DONE)  # wake a consumer blocked in __anext__
            self.report.finished = self.report.finished or time.monotonic()
            try:  # a generator given as input: run its cleanup (close its file, ...)
                aclose = getattr(self._iter, "aclose", None)
                if aclose is not None:
                    await aclose()
                elif isinstance(self._iter, types.GeneratorType):
                    self._iter.close()
            finally:
                if self._on_close is not None:
                    closing = self._on_close()
                    if closing is not None:
                        await closing
        if interrupted:
            raise asyncio.CancelledError

    async def __aenter__(self) -> BatchRun[T, R]:
        self._entered = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- iteration -------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[Outcome[T, R]]:
        self._require_context()
        return self

    async def __anext__(self) -> Outcome[T, R]:
        if self._supervisor is None and not self._closed:
            self._require_context()
            self._start()
        queue = self._queue
        if not (self._closed and queue.empty()):
            try:
                outcome = queue.get_nowait() if not queue.empty() else await queue.get()
            except asyncio.CancelledError:
                await self.aclose()
                raise
            if outcome is not _DONE:
                self._ahead.give()
                return outcome
        error, self._error = self._error, None
        await self.aclose()
        if error is not None:
            raise error
        raise StopAsyncIteration

    def _require_context(self) -> None:
        """Refuse iteration outside ``async with`` (see the class docs), releasing what the
        run holds (a journal's lock) so that the right form can follow at once."""
        if self._entered or self._usage is None:
            return
        if not self._closed:  # nothing was started: closing is just the callback
            self._closed = True
            if self._on_close is not None:
                closing = self._on_close()
                if closing is not None:  # nothing to wait for here: let it run on its own
                    self._closing = asyncio.ensure_future(closing)
        raise TypeError(
            "iterate this run inside `async with`, so that leaving the loop early (break, an "
            "exception) stops its workers instead of leaving them running:\n"
            f"    async with {self._usage} as run:\n"
            "        async for outcome in run:\n"
            "            ..."
        )

    def _start(self) -> None:
        self._iter = aiter(self._items) if self._async_source else iter(self._items)  # type: ignore[arg-type]
        self._workers = [asyncio.create_task(self._worker()) for _ in range(self._concurrency)]
        self._supervisor = asyncio.create_task(self._supervise())

    async def _supervise(self) -> None:
        await asyncio.gather(*self._workers, return_exceptions=True)
        # After a worker died, ordered mode may hold outcomes behind the missing one.
        for index in sorted(self._pending):
            self._queue.put_nowait(self._pending.pop(index))
        self._queue.put_nowait(_DONE)

    def _fail(self, error: BaseException) -> None:
        """A fault of the machinery itself (the input iterator, the journal, a worker): read
        no more input, let in-flight items finish and be yielded, then raise ``error``."""
        if self._error is None:
            self._error = error
        self.stop()

    async def _pull(self) -> tuple[int, T] | None:
        """The next input of an async source and its index, or None when done or
        stopping."""
        async with self._pull_lock:
            if self._stopping or self._exhausted:
                return None
            self._pull_task = asyncio.ensure_future(anext(self._iter))
            try:
                item = await self._pull_task
            except StopAsyncIteration:
                self._exhausted = True
                return None
            except asyncio.CancelledError:
                if self._closed or not self._pull_task.cancelled():
                    raise  # this worker is being cancelled
                self._exhausted = True  # stop() interrupted the wait for input
                return None
            finally:
                self._pull_task = None
        return self._numbered(item)

    def _next_sync(self) -> tuple[int, T] | None:
        """The next input of a plain iterable and its index, or None when done or
        stopping (read without a coroutine: this runs once per item)."""
        if self._stopping or self._exhausted:
            return None
        try:
            item = next(self._iter)
        except StopIteration:
            self._exhausted = True
            return None
        return self._numbered(item)

    def _numbered(self, item: T) -> tuple[int, T]:
        index = self._next_index
        self._next_index += 1
        return index, item

    async def _worker(self) -> None:
        ahead = self._ahead
        # One set of hooks per worker, counting for the item it runs (reset for each):
        # a worker runs one item at a time, to its end.
        counts = _AttemptCount()
        hooks = AttemptHooks(
            limiter=self._limiter, before_send=counts.sent, before_write=counts.wrote
        )
        while True:
            if not ahead.take_nowait():
                await ahead.take()
            try:
                pulled = self._next_sync() if not self._async_source else await self._pull()
            except Exception as exc:  # the input iterator failed
                ahead.give()
                self._fail(exc)
                return
            if pulled is None:
                ahead.give()
                return
            try:
                outcome, timed = await self._run_one(*pulled, counts, hooks)
            except BaseException as exc:  # a precheck fault, or a cancellation or exit
                ahead.give()
                if not self._closed:
                    self._fail(
                        exc
                        if not isinstance(exc, asyncio.CancelledError)
                        else RuntimeError(f"item {pulled[0]} was cancelled from inside")
                    )
                raise
            try:
                self.report.add(outcome, timed=timed)
                if self._on_outcome is not None:
                    seen = self._on_outcome(outcome)
                    if seen is not None:
                        await seen
            except Exception as exc:  # e.g. the journal cannot be written
                self._fail(exc)
            finally:
                self._deliver(outcome)

    async def _run_one(
        self, index: int, item: T, counts: _AttemptCount, hooks: AttemptHooks
    ) -> tuple[Outcome[T, R], bool]:
        """The item's outcome, and whether its latency counts (it ran ``fn`` and, with
        hooks, sent something). ``hooks`` count into ``counts``, reset here."""
        try:
            key = self._key(item)
        except Exception as exc:  # a key function that fails on bad input
            rejected: Outcome[T, R] = Outcome(
                index=index, key="", item=item, status=Status.REJECTED, error=exc
            )
            return rejected, False
        if self._precheck is not None:
            verdict = self._precheck(item, key)
            if verdict is not None and not isinstance(verdict, tuple):
                verdict = await verdict  # an async precheck
            if verdict is not None:
                status, result, error = verdict
                decided: Outcome[T, R] = Outcome(
                    index=index, key=key, item=item, status=status, result=result, error=error
                )
                return decided, False
        counts.attempts = counts.writes = 0
        started = time.monotonic()
        try:
            if self._with_hooks:
                result = await self._fn(item, hooks=hooks)
            else:
                if self._limiter is not None:
                    await self._limiter.acquire()
                    started = time.monotonic()  # the wait is queueing, not the item's work
                result = await self._fn(item)
        except BatchAbort as abort:
            self._fail(abort.error)
            status, error, result = Status.FAILED, abort.error, None
        except Exception as exc:
            # Without hooks the engine cannot tell whether fn sent a write: an unexpected
            # error may hide one.
            wrote = counts.writes > 0 if self._with_hooks else True
            status, error, result = status_for_error(exc, sent=wrote), exc, None
        else:
            status, error = self._success, None
        outcome: Outcome[T, R] = Outcome(
            index=index,
            key=key,
            item=item,
            status=status,
            result=result,
            error=error,
            attempts=counts.attempts,
            latency=time.monotonic() - started,
        )
        return outcome, counts.attempts > 0 or not self._with_hooks

    def _deliver(self, outcome: Outcome[T, R]) -> None:
        if not self._ordered:
            self._queue.put_nowait(outcome)
            return
        self._pending[outcome.index] = outcome
        while self._next_yield in self._pending:
            self._queue.put_nowait(self._pending.pop(self._next_yield))
            self._next_yield += 1


class _AttemptCount:
    """The attempts one item sent, counted by the hooks the engine gives it."""

    __slots__ = ("attempts", "writes")

    def __init__(self) -> None:
        self.attempts = 0
        self.writes = 0

    def sent(self, attempt: int) -> None:
        self.attempts += 1

    def wrote(self, attempt: int) -> None:
        self.writes += 1


@overload
def batch(
    fn: Callable[[T], Awaitable[R]],
    items: Iterable[T] | AsyncIterable[T],
    *,
    with_hooks: Literal[False] = False,
    concurrency: int = 64,
    rate_limit: float | RateLimiterLike | None = None,
    burst: int = 1,
    ordered: bool = False,
    window: int | None = None,
    key: Callable[[T], str] | None = None,
) -> BatchRun[T, R]: ...


@overload
def batch(
    fn: HookedFunction[T, R],
    items: Iterable[T] | AsyncIterable[T],
    *,
    with_hooks: Literal[True],
    concurrency: int = 64,
    rate_limit: float | RateLimiterLike | None = None,
    burst: int = 1,
    ordered: bool = False,
    window: int | None = None,
    key: Callable[[T], str] | None = None,
) -> BatchRun[T, R]: ...


def batch(
    fn: Callable[[T], Awaitable[R]] | HookedFunction[T, R],
    items: Iterable[T] | AsyncIterable[T],
    *,
    with_hooks: bool = False,
    concurrency: int = 64,
    rate_limit: float | RateLimiterLike | None = None,
    burst: int = 1,
    ordered: bool = False,
    window: int | None = None,
    key: Callable[[T], str] | None = None,
) -> BatchRun[T, R]:
    """Run ``fn`` over ``items``; see the module docs.

    ``with_hooks=True``: call ``fn(item, hooks=hooks)``; ``fn`` passes ``hooks`` to every
    client call it makes (a resource method such as ``client.logistics.estimate_freight``
    can be ``fn`` itself). Then ``rate_limit`` counts HTTP requests (every attempt,
    retries included), each outcome counts its attempts, and an unexpected error (not an
    SDK error) is ``unknown`` only after a write was sent (``failed`` after reads alone).
    Without hooks, ``rate_limit`` spaces the items' starts, and an unexpected error is
    ``unknown``: the engine cannot tell whether ``fn`` wrote something.

    ``rate_limit`` is a number per second (``burst`` may go back to back after an idle spell;
    by default none above the rate), or a limiter object such as
    :class:`~xportcn_async.ratelimit.SharedRateLimiter` (anything with ``async def
    acquire()``), which paces itself. ``window`` (default: ``concurrency``) bounds how far
    inputs are read ahead of the consumer. ``key`` names each item in its outcome (default:
    the item's ``key`` attribute, if any).
    """
    return BatchRun(
        fn,
        items,
        with_hooks=with_hooks,
        concurrency=concurrency,
        rate_limit=rate_limit,
        burst=burst,
        ordered=ordered,
        window=window,
        key=key,
    )
