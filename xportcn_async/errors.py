"""One error hierarchy, rooted in :class:`XportcnError`.

- Nothing was sent: :class:`ConfigurationError`, :class:`ValidationError`, :class:`ClientClosedError`.
- The exchange failed on the way: :class:`TransportError` and its kinds, each saying whether the
  request may have reached the server (:class:`ResponseTooLargeError`: the answer was too big).
- The server answered with an error: :class:`APIError` and its kinds (by envelope code or HTTP
  status), each with code, message, request id, HTTP status and a bounded body excerpt.
- :class:`OutcomeUnknownError`: a write may or may not have happened; we did not retry it.

No message, repr or attribute of these errors ever holds the access secret or a signature.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

BODY_EXCERPT_LIMIT = 500


class XportcnError(Exception):
    """Base class of every error this SDK raises on purpose."""


class ConfigurationError(XportcnError, ValueError):
    """The client or its credentials are set up wrongly. Nothing was sent."""


class ClientClosedError(XportcnError, RuntimeError):
    """The client was used after ``aclose()`` (or after its ``async with`` block)."""


@attrs.define(frozen=True)
class FieldError:
    """One problem with one field: ``path`` is like ``line_items[1].quantity``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ValidationError(XportcnError, ValueError):
    """A request is invalid. Nothing was sent. ``errors`` lists every problem found."""

    def __init__(self, subject: str, errors: Sequence[FieldError]) -> None:
        self.subject = subject
        self.errors = tuple(errors)
        details = "; ".join(str(e) for e in self.errors)
        super().__init__(f"invalid {subject}: {details}")


class TransportError(XportcnError):
    """The HTTP exchange failed before a complete response arrived.

    ``may_have_reached_server`` is False only when we know the request was never sent
    (for example the connection could not be opened).

    ``underlying`` summarises the exception that caused it (its type and its message with
    the signature masked), for debugging. That exception itself is not chained (neither
    ``__cause__`` nor ``__context__``): HTTP libraries put the full URL in their messages,
    and a query-signed URL holds the signature.
    """

    may_have_reached_server: bool = True
    underlying: str | None = None

    def __init__(
        self,
        message: str,
        *,
        may_have_reached_server: bool | None = None,
        underlying: str | None = None,
    ) -> None:
        if underlying:
            message = f"{message} ({underlying})"
        super().__init__(message)
        if may_have_reached_server is not None:
            self.may_have_reached_server = may_have_reached_server
        if underlying is not None:
            self.underlying = underlying


class ConnectError(TransportError):
    """The connection could not be opened: the request was not sent."""

    may_have_reached_server = False


class RequestTimeoutError(TransportError, TimeoutError):
    """No complete response within the timeout."""


class ConnectionDroppedError(TransportError):
    """The connection closed before the response was complete."""


class ResponseTooLargeError(TransportError):
    """The response body is larger than the transport's ``max_response_size``. It was not
    read at all (its ``Content-Length`` said so) or cut off as soon as it grew past the limit.

    The request reached the server, so for a write (a booking, an order, a payment) this
    arrives as the ``cause`` of an :class:`OutcomeUnknownError`. It is never retried: the same
    request would bring back the same oversized answer. ``limit`` is the limit in bytes;
    ``content_length`` is the announced size, when the response announced one.
    """

    def __init__(self, message: str, *, limit: int, content_length: int | None = None) -> None:
        super().__init__(message, may_have_reached_server=True)
        self.limit = limit
        self.content_length = content_length


class APIError(XportcnError):
    """The server (or a proxy in front of it) answered with an error.

    ``retry_after`` is the ``Retry-After`` hint in seconds when the response carried one.
    """

    def __init__(
        self,
        message: str,
        *,
        http_status: int,
        code: int | str | None = None,
        request_id: str | None = None,
        body_excerpt: str = "",
        operation: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.retry_after = retry_after
        self.http_status = http_status
        self.code = code
        self.request_id = request_id
        self.body_excerpt = body_excerpt[:BODY_EXCERPT_LIMIT]
        self.operation = operation
        parts = [f"HTTP {http_status}"]
        if code is not None:
            parts.append(f"code {code}")
        if request_id:
            parts.append(f"request id {request_id}")
        where = f"{operation}: " if operation else ""
        super().__init__(f"{where}{message} ({', '.join(parts)})")


class BadRequestError(APIError):
    """The server rejected the request body (code or status 400)."""


class AuthenticationError(APIError):
    """Bad signature, unknown access key (401), or a timestamp outside the window (403)."""


class NotFoundError(APIError):
    """An id in the request is unknown, for example a ``renderId`` (404)."""


class ConflictError(APIError):
    """The request conflicts with existing state (409)."""


class RateLimitError(APIError):
    """Too many requests (429). ``retry_after`` is the server's hint in seconds, if any."""


class ServerError(APIError):
    """The server failed (5xx, or a 5xx code in the envelope)."""


class MalformedResponseError(APIError):
    """The body is not a JSON envelope: HTML, truncated, or some other JSON."""


class OutcomeUnknownError(XportcnError):
    """A non-idempotent request (such as a booking) may have reached the server, and we did
    not retry it, so that it is never done twice. ``cause`` is the underlying error.

    Check the outcome before trying again (for a booking: look the order up), or opt into
    ``retry_ambiguous`` if your account deduplicates bookings by ``renderId``.
    """

    def __init__(self, operation: str, cause: Exception, *, attempts: int) -> None:
        self.operation = operation
        self.cause = cause
        self.attempts = attempts
        super().__init__(
            f"{operation}: outcome unknown, the request may have reached the server and was "
            f"not retried to avoid doing it twice (after {attempts} attempt(s)): {cause}"
        )

    @property
    def request_id(self) -> str | None:
        return getattr(self.cause, "request_id", None)
