"""An in-process transport for tests: no sockets, scripted answers, every call recorded."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Iterable

from ._base import (
    DEFAULT_MAX_RESPONSE_SIZE,
    Request,
    Response,
    check_max_response_size,
    content_length,
    response_too_large,
)

Handler = Callable[[Request], Awaitable[Response]]
ScriptStep = Response | BaseException


class InMemoryTransport:
    """Routes requests to ``handler`` (for example ``Sandbox().handle``) without sockets.

    ``script`` is a sequence of responses and exceptions served first, one per request, in
    order (an exception is raised from :meth:`send`); once it runs out, requests go to
    ``handler``. :meth:`push` adds more steps. Every request is recorded in :attr:`calls`
    (keep ``record=False`` for very long runs, to bound memory).

    ``max_response_size`` applies the same limit as :class:`AiohttpTransport` (default
    4 MiB), so that code tested here meets the same errors: a response whose
    ``content-length`` header or body is over it raises
    :class:`~xportcn_async.errors.ResponseTooLargeError` instead of being returned.
    """

    def __init__(
        self,
        handler: Handler | None = None,
        *,
        script: Iterable[ScriptStep] = (),
        record: bool = True,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
    ) -> None:
        self.max_response_size = check_max_response_size(max_response_size)
        self._handler = handler
        self._script: deque[ScriptStep] = deque(script)
        self._record = record
        self.calls: list[Request] = []
        self.closed = False

    def push(self, *steps: ScriptStep) -> None:
        """Queue more scripted responses or exceptions."""
        self._script.extend(steps)

    async def send(self, request: Request) -> Response:
        if self.closed:
            raise RuntimeError("InMemoryTransport is closed")
        if self._record:
            self.calls.append(request)
        if self._script:
            step = self._script.popleft()
            if isinstance(step, BaseException):
                raise step
            response = step
        elif self._handler is None:
            raise AssertionError(
                f"InMemoryTransport: unexpected {request.method} {request.url.split('?')[0]} "
                "(the script is exhausted and no handler is set)"
            )
        else:
            response = await self._handler(request)
        limit = self.max_response_size
        announced = content_length(response.headers)
        if announced is not None and announced > limit:
            raise response_too_large(request.url, limit, content_length=announced)
        if len(response.body) > limit:
            raise response_too_large(request.url, limit)
        return response

    async def aclose(self) -> None:
        self.closed = True
