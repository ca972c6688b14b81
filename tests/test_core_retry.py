"""Retry decisions: pure functions, no event loop, no sleeping."""

from __future__ import annotations

import random

import pytest

from xportcn_async import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ConnectError,
    ConnectionDroppedError,
    MalformedResponseError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    RequestTimeoutError,
    RetryPolicy,
    ServerError,
    TransportError,
)
from xportcn_async.retry import Decision, ErrorKind, classify, decide

POLICY = RetryPolicy(max_retries=3, initial_delay=0.001, max_delay=0.004, jitter=0.0)


def server(status: int, *, code: int | None = None) -> ServerError:
    return ServerError("down", http_status=status, code=code)


SAFE: list[Exception] = [
    ConnectError("refused"),
    RequestTimeoutError("connect timeout", may_have_reached_server=False),
    RateLimitError("slow", http_status=429),
    RateLimitError("slow", http_status=200, code=429),
    server(503),
    server(200, code=503),
    APIError("timeout", http_status=408),
]
AMBIGUOUS: list[Exception] = [
    ConnectionDroppedError("dropped"),
    RequestTimeoutError("read timeout"),
    TransportError("something odd"),
    server(500),
    server(502),
    server(504),
    server(200, code=500),
    # Only ever a 2xx (test_core_envelope checks that a non-2xx is never "malformed").
    MalformedResponseError("truncated", http_status=200),
]
FINAL: list[Exception] = [
    BadRequestError("bad", http_status=200, code=400),
    BadRequestError("bad", http_status=400),
    AuthenticationError("sig", http_status=200, code=401),
    AuthenticationError("window", http_status=403),
    NotFoundError("renderId", http_status=200, code=404),
    ConflictError("dup", http_status=200, code=409),
    APIError("odd", http_status=200, code=10042),
    ValueError("not ours"),
]


@pytest.mark.parametrize("error", SAFE, ids=repr)
def test_safe_errors(error: Exception) -> None:
    assert classify(error) is ErrorKind.SAFE


@pytest.mark.parametrize("error", AMBIGUOUS, ids=repr)
def test_ambiguous_errors(error: Exception) -> None:
    assert classify(error) is ErrorKind.AMBIGUOUS


@pytest.mark.parametrize("error", FINAL, ids=repr)
def test_final_errors(error: Exception) -> None:
    assert classify(error) is ErrorKind.FINAL


def run(
    error: Exception,
    *,
    idempotent: bool,
    retry_ambiguous: bool = False,
    attempt: int = 1,
    policy: RetryPolicy = POLICY,
    ambiguous_before: bool = False,
) -> Decision:
    return decide(
        error,
        operation="logistics.book",
        attempt=attempt,
        policy=policy,
        idempotent=idempotent,
        retry_ambiguous=retry_ambiguous,
        ambiguous_before=ambiguous_before,
    )


# -- what is retried ---------------------------------------------------------------------


@pytest.mark.parametrize("error", SAFE, ids=repr)
@pytest.mark.parametrize("idempotent", [True, False])
def test_safe_errors_are_retried_for_every_operation(error: Exception, idempotent: bool) -> None:
    assert run(error, idempotent=idempotent).retry


@pytest.mark.parametrize("error", FINAL, ids=repr)
@pytest.mark.parametrize("idempotent", [True, False])
def test_final_errors_are_never_retried_and_raised_as_they_are(
    error: Exception, idempotent: bool
) -> None:
    decision = run(error, idempotent=idempotent, retry_ambiguous=True)
    assert not decision.retry
    assert decision.error is error


@pytest.mark.parametrize("error", FINAL, ids=repr)
def test_by_default_no_earlier_attempt_is_in_doubt(error: Exception) -> None:
    # A caller of decide() that says nothing of earlier attempts gets a write's final error
    # as it is, not as outcome-unknown.
    decision = decide(
        error,
        operation="logistics.book",
        attempt=1,
        policy=POLICY,
        idempotent=False,
        retry_ambiguous=False,
    )
    assert decision == Decision(False, error=error)


@pytest.mark.parametrize("error", AMBIGUOUS, ids=repr)
def test_ambiguous_errors_are_retried_for_idempotent_operations(error: Exception) -> None:
    assert run(error, idempotent=True).retry


@pytest.mark.parametrize("error", AMBIGUOUS, ids=repr)
def test_ambiguous_write_is_not_retried_and_reported_as_outcome_unknown(error: Exception) -> None:
    decision = run(error, idempotent=False, attempt=2)
    assert not decision.retry
    assert isinstance(decision.error, OutcomeUnknownError)
    assert decision.error.cause is error
    assert decision.error.operation == "logistics.book"
    assert decision.error.attempts == 2
    assert "logistics.book" in str(decision.error)


@pytest.mark.parametrize("error", AMBIGUOUS, ids=repr)
def test_retry_ambiguous_opts_a_write_into_retries(error: Exception) -> None:
    assert run(error, idempotent=False, retry_ambiguous=True).retry


def test_a_write_that_may_have_happened_earlier_is_outcome_unknown_when_it_finally_fails() -> None:
    # Attempt 1 dropped (maybe booked); attempt 2 says "conflict": we still do not know
    # whether the first attempt created the order, so the caller must not get a plain error.
    final = ConflictError("dup", http_status=200, code=409)
    decision = run(final, idempotent=False, retry_ambiguous=True, ambiguous_before=True, attempt=2)
    assert not decision.retry
    assert isinstance(decision.error, OutcomeUnknownError)
    assert decision.error.cause is final
    # For an idempotent operation the plain error is fine.
    assert run(final, idempotent=True, ambiguous_before=True).error is final


def test_outcome_unknown_carries_the_request_id_of_its_cause() -> None:
    cause = ServerError("boom", http_status=500, request_id="rid-9")
    decision = run(cause, idempotent=False)
    assert isinstance(decision.error, OutcomeUnknownError)
    assert decision.error.request_id == "rid-9"


# -- exhaustion --------------------------------------------------------------------------


def test_retries_stop_after_max_retries() -> None:
    err = server(503)
    assert [run(err, idempotent=True, attempt=n).retry for n in range(1, 6)] == [
        True,
        True,
        True,
        False,
        False,
    ]
    last = run(err, idempotent=True, attempt=4)
    assert last.error is err


def test_exhausted_ambiguous_idempotent_call_raises_the_last_error() -> None:
    err = ConnectionDroppedError("dropped")
    decision = run(err, idempotent=True, attempt=4)
    assert not decision.retry
    assert decision.error is err


def test_exhausted_ambiguous_write_is_still_outcome_unknown() -> None:
    decision = run(server(502), idempotent=False, retry_ambiguous=True, attempt=4)
    assert not decision.retry
    assert isinstance(decision.error, OutcomeUnknownError)


def test_exhausted_safe_write_raises_the_plain_error() -> None:
    # Nothing was sent on any attempt, so the caller knows nothing happened.
    err = ConnectError("refused")
    decision = run(err, idempotent=False, attempt=4)
    assert decision.error is err


def test_max_retries_zero_disables_retries() -> None:
    assert not run(server(503), idempotent=True, policy=RetryPolicy(max_retries=0)).retry


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_retries=-1)
    with pytest.raises(ValueError):
        RetryPolicy(jitter=1.5)


# -- delays ------------------------------------------------------------------------------


def test_backoff_grows_exponentially_and_is_capped() -> None:
    policy = RetryPolicy(initial_delay=0.5, max_delay=8.0, jitter=0.0)
    assert [policy.backoff(n) for n in range(1, 8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_backoff_jitter_stays_within_its_fraction_and_is_reproducible() -> None:
    policy = RetryPolicy(initial_delay=1.0, max_delay=8.0, jitter=0.25)
    first = [policy.backoff(n, random.Random(7)) for n in range(1, 7)]
    again = [policy.backoff(n, random.Random(7)) for n in range(1, 7)]
    assert first == again
    rng = random.Random(1234)
    delays = [policy.backoff(n, rng) for n in range(1, 7) for _ in range(50)]
    bases = [min(2.0 ** (n - 1), 8.0) for n in range(1, 7) for _ in range(50)]
    assert all(0.75 * b <= d <= b for d, b in zip(delays, bases, strict=True))
    # Jitter actually spreads the delays (so many clients do not retry in lockstep).
    assert len({round(d, 9) for d in delays[:50]}) > 40


def test_decide_uses_backoff_when_there_is_no_retry_after() -> None:
    policy = RetryPolicy(initial_delay=1.0, max_delay=8.0, jitter=0.5)
    decision = decide(
        server(503),
        operation="op",
        attempt=3,
        policy=policy,
        idempotent=True,
        retry_ambiguous=False,
        rng=random.Random(3),
    )
    assert decision.retry
    assert decision.delay == policy.backoff(3, random.Random(3))
    assert 2.0 <= decision.delay <= 4.0


def test_retry_after_is_honoured() -> None:
    err = RateLimitError("slow", http_status=429, retry_after=3.0)
    decision = run(err, idempotent=False)
    assert decision.retry
    assert decision.delay == 3.0


def test_retry_after_is_capped_by_max_retry_after() -> None:
    err = RateLimitError("slow", http_status=429, retry_after=3600.0)
    decision = run(err, idempotent=True, policy=RetryPolicy(max_retry_after=60.0))
    assert decision.retry
    assert decision.delay == 60.0


def test_retry_after_on_a_503_is_honoured_too() -> None:
    err = ServerError("maintenance", http_status=503, retry_after=2.0)
    assert run(err, idempotent=True).delay == 2.0
