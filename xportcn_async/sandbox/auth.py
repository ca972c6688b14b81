"""Checking the system parameters of a request (API.md §2), with the SDK's own signing rule
(:func:`xportcn_async.signing.signature`).

401: a missing or non-ASCII parameter, a timestamp that is not a plain integer, an unknown
access key or user id, a wrong signature, query parameters that disagree with the headers
(query-signed endpoints), a replayed nonce.
403: a timestamp more than ``window`` seconds away from the sandbox clock.
"""

from __future__ import annotations

import hmac
import time
from collections import deque
from collections.abc import Callable, Mapping

from ..credentials import Credentials
from ..signing import TimestampUnit, signature
from .body import digits
from .registry import SandboxError

__all__ = ["Authenticator", "NonceCache"]


class NonceCache:
    """The last ``size`` nonces seen: memory stays bounded however long the sandbox runs."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._order: deque[str] = deque()
        self._seen: set[str] = set()

    def add(self, nonce: str) -> bool:
        """Record ``nonce``; False when it was already among the last ``size`` nonces."""
        if nonce in self._seen:
            return False
        if len(self._order) >= self._size:
            self._seen.discard(self._order.popleft())
        self._order.append(nonce)
        self._seen.add(nonce)
        return True


class Authenticator:
    def __init__(
        self,
        credentials: Credentials,
        *,
        timestamp_unit: TimestampUnit = "ms",
        window: float = 600.0,
        clock: Callable[[], float] = time.time,
        nonce_cache_size: int = 65536,
    ) -> None:
        self.credentials = credentials
        self._scale = 1000 if timestamp_unit == "ms" else 1
        self._unit = timestamp_unit
        self._window = window
        self._clock = clock
        self._nonces = NonceCache(nonce_cache_size) if nonce_cache_size > 0 else None

    def check(
        self, headers: Mapping[str, str], query: Mapping[str, str], *, query_signed: bool
    ) -> None:
        """Raise :class:`SandboxError` (401 or 403) unless the request is properly signed."""
        creds = self.credentials
        access_key = headers.get("access-key")
        timestamp = headers.get("timestamp")
        nonce = headers.get("nonce-str")
        sig = headers.get("signature")
        missing = [
            name
            for name, value in (
                ("access-key", access_key),
                ("timestamp", timestamp),
                ("nonce-str", nonce),
                ("signature", sig),
            )
            if not value
        ]
        if missing:
            raise SandboxError(401, f"missing header(s): {', '.join(missing)}")
        assert access_key and timestamp and nonce and sig
        # aiohttp decodes header bytes that are not UTF-8 to lone surrogates, which the
        # signature could not even encode: the signed parameters are ASCII, as sent.
        if not (access_key + timestamp + nonce + sig).isascii():
            raise SandboxError(401, "the signed headers must be ASCII")
        if access_key != creds.access_key:
            raise SandboxError(401, "unknown access-key")
        user_id = headers.get("user-id")
        if user_id and creds.user_id and user_id != creds.user_id:
            raise SandboxError(401, "user-id does not belong to this access-key")
        expected = signature(access_key, timestamp, nonce, creds.access_secret)
        if not hmac.compare_digest(sig.encode(), expected.encode()):
            raise SandboxError(
                401,
                "signature does not match (see the SDK docs, page 'What is inferred')",
            )
        if query_signed and (query.get("timestamp") != timestamp or query.get("sign") != sig):
            raise SandboxError(401, "query parameters timestamp and sign must repeat the headers")
        sent_at = digits(timestamp)
        if sent_at is None:
            raise SandboxError(401, f"timestamp must be an integer in {self._unit}")
        skew = abs(sent_at / self._scale - self._clock())
        if skew > self._window:
            raise SandboxError(
                403,
                f"timestamp is {skew:.0f} s away from the server clock (window "
                f"{self._window:.0f} s; unit {self._unit})",
            )
        if self._nonces is not None and not self._nonces.add(nonce):
            raise SandboxError(401, "nonce-str already used")
