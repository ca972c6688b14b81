"""Fault injection and latency for the sandbox.

Each request to a served operation draws **at most one** fault, with one number from the
sandbox's seeded RNG: the probabilities are fractions of requests and must add up to 1 or
less. A fault happens at one of two moments:

- before processing (no state change): ``unavailable`` (HTTP 503) and ``rate_limit``
  (HTTP 429 with ``Retry-After: retry_after`` seconds, or no header when it is ``None``);
- after processing (the request had its effect, for example the booking exists):
  ``server_error_after`` (HTTP 500), ``drop_after`` (the connection closes without a
  response), ``malformed`` (HTTP 200 with a truncated, non-JSON body) and ``slow`` (the
  reply waits ``slow_seconds``, long enough for the client to time out).

``operations`` restricts faults to some operation names (``None``: every operation).

:class:`Latency` is added to every request (before processing), faulty or not.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Iterable
from typing import Any, Literal

import attrs

from ..endpoints import ENDPOINTS

__all__ = ["FaultKind", "Faults", "Latency"]


class FaultKind(enum.Enum):
    UNAVAILABLE = "unavailable"
    RATE_LIMIT = "rate_limit"
    SERVER_ERROR_AFTER = "server_error_after"
    DROP_AFTER = "drop_after"
    MALFORMED = "malformed"
    SLOW = "slow"

    @property
    def before_processing(self) -> bool:
        return self in (FaultKind.UNAVAILABLE, FaultKind.RATE_LIMIT)


_probability = attrs.validators.and_(
    attrs.validators.instance_of((int, float)), attrs.validators.ge(0.0), attrs.validators.le(1.0)
)


def _operations(value: Iterable[str] | None) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    return frozenset(value)


def _non_negative_or_none(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and value < 0:
        raise ValueError(f"Faults.{attribute.name} must not be negative, got {value}")


def _check_operations(_: object, __: attrs.Attribute[Any], value: frozenset[str] | None) -> None:
    unknown = sorted(set(value or ()) - set(ENDPOINTS))
    if unknown:
        raise ValueError(f"Faults.operations: unknown operation(s) {', '.join(unknown)}")


@attrs.frozen(kw_only=True)
class Faults:
    """Fault probabilities (each 0..1, together at most 1) and their parameters.

    ``Faults(drop_after=0.1, operations={"logistics.book"})`` drops the connection after
    one booking in ten, after the booking was made.
    """

    unavailable: float = attrs.field(default=0.0, validator=_probability)
    """HTTP 503 before processing."""
    server_error_after: float = attrs.field(default=0.0, validator=_probability)
    """HTTP 500 after processing."""
    drop_after: float = attrs.field(default=0.0, validator=_probability)
    """Connection dropped after processing."""
    rate_limit: float = attrs.field(default=0.0, validator=_probability)
    """HTTP 429 before processing."""
    malformed: float = attrs.field(default=0.0, validator=_probability)
    """HTTP 200 with a truncated non-JSON body, after processing."""
    slow: float = attrs.field(default=0.0, validator=_probability)
    """The reply is held back ``slow_seconds`` after processing."""
    slow_seconds: float = attrs.field(default=30.0, validator=attrs.validators.ge(0.0))
    retry_after: float | None = attrs.field(default=1.0, validator=_non_negative_or_none)
    """The ``Retry-After`` header of ``rate_limit`` answers, in seconds (``None``: no header)."""
    operations: frozenset[str] | None = attrs.field(
        default=None, converter=_operations, validator=_check_operations
    )
    """Only these operations get faults (``None``: all of them)."""

    def __attrs_post_init__(self) -> None:
        if self.total > 1.0 + 1e-9:
            raise ValueError(f"Faults: the probabilities add up to {self.total:g}, more than 1")

    @property
    def total(self) -> float:
        """The probability that a request gets some fault."""
        return sum(p for _, p in self._table())

    def describe(self) -> str:
        """A short human-readable summary: the non-zero probabilities and their settings."""
        parts = [f"{kind.value}={p:g}" for kind, p in self._table() if p]
        if self.slow:
            parts.append(f"slow_seconds={self.slow_seconds:g}")
        if self.rate_limit:
            parts.append(
                f"retry_after={'none' if self.retry_after is None else f'{self.retry_after:g}'}"
            )
        if self.operations is not None:
            parts.append(f"operations={','.join(sorted(self.operations))}")
        return " ".join(parts) or "none"

    def _table(self) -> tuple[tuple[FaultKind, float], ...]:
        return (
            (FaultKind.UNAVAILABLE, self.unavailable),
            (FaultKind.RATE_LIMIT, self.rate_limit),
            (FaultKind.SERVER_ERROR_AFTER, self.server_error_after),
            (FaultKind.DROP_AFTER, self.drop_after),
            (FaultKind.MALFORMED, self.malformed),
            (FaultKind.SLOW, self.slow),
        )

    def draw(self, rng: random.Random, operation: str) -> FaultKind | None:
        """The fault for one request of ``operation`` (one RNG draw), or ``None``."""
        if self.operations is not None and operation not in self.operations:
            return None
        u = rng.random()
        for kind, p in self._table():
            if u < p:
                return kind
            u -= p
        return None


Distribution = Literal["uniform", "exponential"]


@attrs.frozen
class Latency:
    """Delay added to every request before it is processed.

    - ``distribution="uniform"`` (default): ``seconds`` plus a uniform spread of
      ``±jitter`` (never below 0), so the mean is ``seconds``.
    - ``distribution="exponential"``: ``seconds`` plus an exponentially distributed extra
      delay with mean ``jitter``: ``seconds`` is the floor, with a long tail above it.

    ``Latency(0.02)`` is a fixed 20 ms; ``Latency(0.02, jitter=0.01)`` is 10-30 ms.
    """

    seconds: float = attrs.field(default=0.0, validator=attrs.validators.ge(0.0))
    jitter: float = attrs.field(default=0.0, kw_only=True, validator=attrs.validators.ge(0.0))
    distribution: Distribution = attrs.field(
        default="uniform",
        kw_only=True,
        validator=attrs.validators.in_(("uniform", "exponential")),
    )

    @property
    def is_zero(self) -> bool:
        return self.seconds == 0.0 and self.jitter == 0.0

    def describe(self) -> str:
        if not self.jitter:
            return f"{self.seconds:g} s"
        return f"{self.seconds:g} s, jitter {self.jitter:g} s ({self.distribution})"

    def draw(self, rng: random.Random) -> float:
        """One delay, in seconds."""
        if not self.jitter:
            return self.seconds
        if self.distribution == "exponential":
            return self.seconds + rng.expovariate(1.0 / self.jitter)
        return max(0.0, self.seconds + rng.uniform(-self.jitter, self.jitter))
