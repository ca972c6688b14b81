"""Retry decisions. Pure: no I/O, no sleeping; the client does both.

An error is one of three kinds:

- **safe**: the request was certainly not processed (connection never opened, 429, 503,
  408). Retried for every operation.
- **ambiguous**: the request may have been processed (timeout or dropped connection after
  sending, 500/502/504, a 2xx whose body cannot be read). Retried only for idempotent
  operations, or when the caller opts in with ``retry_ambiguous``. Otherwise the caller gets
  :class:`~xportcn_async.errors.OutcomeUnknownError`.
- **final**: the server said no (400, 401, 404, 409, ...). Never retried.

A response over the transport's ``max_response_size`` is ambiguous (the request was
processed) but never retried, whatever the operation: the same answer would come back.
"""

from __future__ import annotations

import enum
import random

import attrs

from ..errors import (
    APIError,
    MalformedResponseError,
    OutcomeUnknownError,
    RateLimitError,
    ResponseTooLargeError,
    TransportError,
)

SAFE_STATUSES = frozenset({408, 429, 503})
AMBIGUOUS_STATUSES = frozenset({500, 502, 504})


class ErrorKind(enum.Enum):
    SAFE = "safe"
    AMBIGUOUS = "ambiguous"
    FINAL = "final"


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How often and how patiently to retry.

    Delays grow as ``min(initial_delay * 2**n, max_delay)`` with up to ``jitter`` (a fraction)
    taken off at random. A server's ``Retry-After`` is honoured up to ``max_retry_after``
    seconds.
    """

    max_retries: int = attrs.field(default=3, validator=attrs.validators.ge(0))
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    jitter: float = attrs.field(
        default=0.25,
        validator=attrs.validators.and_(attrs.validators.ge(0.0), attrs.validators.le(1.0)),
    )

    def backoff(self, retry_number: int, rng: random.Random | None = None) -> float:
        """The delay before retry number ``retry_number`` (1-based), with jitter."""
        base = min(self.initial_delay * 2.0 ** (retry_number - 1), self.max_delay)
        r = rng.random() if rng is not None else random.random()
        return base * (1.0 - self.jitter * r)


def classify(error: Exception) -> ErrorKind:
    """Whether ``error`` is safe to retry, ambiguous, or final."""
    if isinstance(error, TransportError):
        return ErrorKind.AMBIGUOUS if error.may_have_reached_server else ErrorKind.SAFE
    if isinstance(error, RateLimitError):
        return ErrorKind.SAFE
    if isinstance(error, MalformedResponseError):  # only ever a 2xx: the request was processed
        return ErrorKind.AMBIGUOUS
    if isinstance(error, APIError):
        code = error.code if isinstance(error.code, int) else None
        for status in (code, error.http_status):
            if status in SAFE_STATUSES:
                return ErrorKind.SAFE
            if status in AMBIGUOUS_STATUSES:
                return ErrorKind.AMBIGUOUS
        return ErrorKind.FINAL
    return ErrorKind.FINAL


@attrs.frozen
class Decision:
    """``retry`` after ``delay`` seconds, or raise ``error``."""

    retry: bool
    delay: float = 0.0
    error: Exception | None = None


def decide(
    error: Exception,
    *,
    operation: str,
    attempt: int,
    policy: RetryPolicy,
    idempotent: bool,
    retry_ambiguous: bool,
    ambiguous_before: bool = False,
    rng: random.Random | None = None,
) -> Decision:
    """What to do after attempt number ``attempt`` (1-based) failed with ``error``.

    ``ambiguous_before`` says an earlier attempt of the same call may have reached the server;
    a non-idempotent call that then fails is reported as outcome-unknown, never as a plain
    failure.
    """
    kind = classify(error)
    ambiguous = ambiguous_before or kind is ErrorKind.AMBIGUOUS
    # An answer too large to read would come back as large: never worth another attempt.
    retryable = not isinstance(error, ResponseTooLargeError) and (
        kind is ErrorKind.SAFE or (kind is ErrorKind.AMBIGUOUS and (idempotent or retry_ambiguous))
    )
    if retryable and attempt <= policy.max_retries:
        hint: float | None = getattr(error, "retry_after", None)
        if hint is not None:
            delay = min(hint, policy.max_retry_after)
        else:
            delay = policy.backoff(attempt, rng)
        return Decision(True, delay)
    if ambiguous and not idempotent:
        return Decision(False, error=OutcomeUnknownError(operation, error, attempts=attempt))
    return Decision(False, error=error)
