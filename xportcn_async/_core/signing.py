"""Request signing (API.md §2). Pure functions, no I/O.

The public docs name the signed parameters (``access-key``, ``timestamp``, ``nonce-str``) and
show a 32-character upper-case hex signature, but cut off before the rule. The default rule
here, :func:`signature`, is **inferred** (the other inferred choices are in ``inferred.py``);
pass your own :class:`Signer` if your account uses another one.
"""

from __future__ import annotations

import enum
import hashlib
import os
import string
import time
from collections.abc import Callable
from typing import Literal, Protocol

import attrs

from .. import inferred
from ..credentials import Credentials

TimestampUnit = Literal["ms", "s"]


class Signing(str, enum.Enum):
    """Where an operation's signature goes (the string values are the old ``auth`` literals)."""

    HEADERS = "H"
    """In the headers only (the KA, address and wms operations)."""
    HEADERS_AND_QUERY = "Q"
    """In the headers, and again as ``?timestamp=&sign=`` (the warehouse-logistics ones)."""


_ALPHABET = (string.ascii_letters + string.digits).encode()  # 62 characters
# Map each random byte below 248 (= 4 * 62) onto the alphabet and drop the rest, so that every
# character is equally likely.
_NONCE_TABLE = bytes(_ALPHABET[i % 62] for i in range(256))
_NONCE_DROP = bytes(range(248, 256))


def signature(access_key: str, timestamp: str, nonce_str: str, access_secret: str) -> str:
    """The default (inferred) signature: ``upper(hex(md5(key + timestamp + nonce + secret)))``."""
    raw = f"{access_key}{timestamp}{nonce_str}{access_secret}".encode()
    return hashlib.md5(raw, usedforsecurity=False).hexdigest().upper()


def new_nonce(length: int = 32) -> str:
    """``length`` random characters from ``[A-Za-z0-9]``, new for every request."""
    out = b""
    while len(out) < length:
        out += os.urandom(length + 16).translate(_NONCE_TABLE, _NONCE_DROP)
    return out[:length].decode()


@attrs.define(frozen=True)
class SignedParams:
    """What one attempt sends: headers for every endpoint, query for query-signed ones."""

    headers: dict[str, str]
    query: dict[str, str]


class Signer(Protocol):
    """Turns credentials into the system parameters of one attempt."""

    def sign(self, credentials: Credentials, *, query_signed: bool) -> SignedParams: ...


@attrs.define(frozen=True)
class DefaultSigner:
    """Headers ``access-key``, ``timestamp``, ``nonce-str``, ``user-id``, ``signature``.

    ``timestamp_unit="s"`` sends seconds instead of milliseconds (the default,
    :data:`inferred.TIMESTAMP_UNIT`, is milliseconds). ``clock`` returns seconds
    since the epoch and exists for tests.
    """

    timestamp_unit: TimestampUnit = inferred.TIMESTAMP_UNIT
    clock: Callable[[], float] = attrs.field(default=time.time, repr=False)

    def sign(self, credentials: Credentials, *, query_signed: bool) -> SignedParams:
        now = self.clock()
        ts = str(int(now * 1000) if self.timestamp_unit == "ms" else int(now))
        nonce = new_nonce()
        sig = signature(credentials.access_key, ts, nonce, credentials.access_secret)
        headers = {
            "access-key": credentials.access_key,
            "timestamp": ts,
            "nonce-str": nonce,
            "signature": sig,
        }
        if credentials.user_id:
            headers["user-id"] = credentials.user_id
        query = {"timestamp": ts, "sign": sig} if query_signed else {}
        return SignedParams(headers, query)
