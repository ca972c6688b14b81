"""Delivering the sandbox's order messages to a callback URL, as Xportcn pushes them (API.md
§5)::

    async with serve(port=0) as running:
        async with MessagePusher(running.sandbox, "http://127.0.0.1:8080/xportcn/messages"):
            ...  # create, pay: each queues a message; the pusher POSTs it

Messages are delivered one at a time, in the order they were queued. A delivery succeeds
when the receiver answers HTTP 200 within ``timeout`` seconds (Xportcn allows 1000 ms).
Otherwise it is tried again after ``retry_delay`` seconds, up to ``retries`` more times
(Xportcn waits half an hour between tries; the sandbox does not), then dropped and logged.
``deliveries_per_message=2`` sends every message twice, as Xportcn does when it considers
a push unanswered, to exercise a receiver's deduplication.
"""

from __future__ import annotations

import asyncio
import json
import logging
from types import TracebackType
from typing import Any

import aiohttp
import attrs

from .core import Sandbox
from .ka import KaState, ka_state
from .state import SandboxState

__all__ = ["Delivery", "MessagePusher"]

logger = logging.getLogger("xportcn_async.sandbox.push")


@attrs.frozen(kw_only=True)
class Delivery:
    """One attempt to deliver one message: the HTTP status, or the error."""

    message: dict[str, Any]
    attempt: int
    status: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200


class MessagePusher:
    """POSTs the sandbox's queued messages to ``callback_url`` until closed.

    ``deliveries`` records every attempt (the newest ``history`` of them).
    """

    def __init__(
        self,
        sandbox: Sandbox | SandboxState | KaState,
        callback_url: str,
        *,
        timeout: float = 1.0,
        retries: int = 5,
        retry_delay: float = 0.05,
        deliveries_per_message: int = 1,
        close_timeout: float = 5.0,
        history: int = 1000,
    ) -> None:
        if not callback_url.startswith(("http://", "https://")):
            raise ValueError(f"callback_url must be an http(s) URL, got {callback_url!r}")
        if deliveries_per_message < 1:
            raise ValueError("deliveries_per_message must be at least 1")
        self._ka = sandbox if isinstance(sandbox, KaState) else ka_state(sandbox)
        self.callback_url = callback_url
        self.timeout = timeout
        self.retries = retries
        self.retry_delay = retry_delay
        self.deliveries_per_message = deliveries_per_message
        self.close_timeout = close_timeout
        self._history = history
        self.deliveries: list[Delivery] = []
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed: asyncio.Condition | None = None
        self._wakeup: asyncio.Event | None = None
        self._busy = False
        self._unsubscribe: Any = None

    @property
    def delivered(self) -> list[dict[str, Any]]:
        """The messages the receiver acknowledged, in order (repeats included)."""
        return [d.message for d in self.deliveries if d.ok]

    async def start(self) -> None:
        """Start delivering (``async with`` does this)."""
        if self._task is not None:
            return
        self._session = aiohttp.ClientSession()
        self._changed = asyncio.Condition()
        self._wakeup = asyncio.Event()
        self._wakeup.set()  # deliver what is already queued
        self._unsubscribe = self._ka.subscribe(self._wakeup.set)
        self._task = asyncio.create_task(self._run(), name="xportcn-sandbox-pusher")

    async def flush(self) -> None:
        """Wait until every queued message has been delivered (or given up on)."""
        if self._changed is None:
            raise RuntimeError("MessagePusher is not started")
        async with self._changed:
            await self._changed.wait_for(lambda: not self._ka.outbox and not self._busy)

    async def aclose(self) -> None:
        """Deliver what is queued (for up to ``close_timeout`` seconds), then stop."""
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self.flush(), self.close_timeout)
        except asyncio.TimeoutError:
            logger.warning("sandbox pusher: %d message(s) left undelivered", len(self._ka.outbox))
        task, self._task = self._task, None
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> MessagePusher:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _run(self) -> None:
        assert self._wakeup is not None and self._changed is not None
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._ka.outbox:
                message = self._ka.outbox.popleft()
                self._busy = True
                try:
                    for _ in range(self.deliveries_per_message):
                        await self._deliver(message)
                finally:
                    self._busy = False
                    async with self._changed:
                        self._changed.notify_all()
            async with self._changed:
                self._changed.notify_all()

    async def _deliver(self, message: dict[str, Any]) -> None:
        assert self._session is not None
        body = json.dumps(message, ensure_ascii=False).encode()
        headers = {"content-type": "application/json; charset=utf-8"}
        for attempt in range(1, self.retries + 2):
            status: int | None = None
            error: str | None = None
            try:
                async with self._session.post(
                    self.callback_url,
                    data=body,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self.timeout),
                ) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            self._record(Delivery(message=message, attempt=attempt, status=status, error=error))
            if status == 200:
                return
            if attempt <= self.retries:
                await asyncio.sleep(self.retry_delay)
        logger.warning(
            "sandbox pusher: gave up on %s after %d attempt(s)",
            message.get("messageType"),
            self.retries + 1,
        )

    def _record(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        if len(self.deliveries) > self._history:
            del self.deliveries[: len(self.deliveries) - self._history]
