"""Every choice this SDK makes where the public Xportcn docs are silent, in one place.

If your account disagrees with one of these, override it (most are client options) and tell
us. Two more live elsewhere, each in one place: the signature rule is
:func:`xportcn_async.signing.signature` (replace it with ``XportcnClient(signer=...)``), and
the endpoint table in :mod:`xportcn_async.endpoints`, whose ``inferred`` column marks paths
and response shapes that are not visible in the public docs.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal

from .errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    RateLimitError,
)

TIMESTAMP_UNIT: Final[Literal["ms", "s"]] = "ms"
"""The ``timestamp`` header unit (the default of ``DefaultSigner.timestamp_unit``).
``DefaultSigner(timestamp_unit="s")`` switches to seconds."""

K_SUCCESS_CODES: Final = frozenset({0, 200, "0", "200"})
"""Style-K envelope codes that mean success. The address docs show ``0``, the others ``200``."""

L_SUCCESS_CODE: Final = 200
"""Style-L success: ``success`` is true and ``errorCode`` is 200 (or absent)."""

ERROR_CODES: Final[Mapping[int, type[APIError]]] = MappingProxyType(
    {
        400: BadRequestError,
        401: AuthenticationError,
        403: AuthenticationError,
        404: NotFoundError,
        409: ConflictError,
        429: RateLimitError,
    }
)
"""The error-code table. The public one could not be read, so envelope codes are read as
HTTP-like codes (the local sandbox uses them that way): these, plus any 5xx code
(:data:`SERVER_ERROR_CODES`) as a server error. For any other code the HTTP status decides."""

SERVER_ERROR_CODES: Final = range(500, 600)
"""Codes (and HTTP statuses) read as a server failure: :class:`~xportcn_async.errors.ServerError`."""

SERVER_DEDUPLICATES_BOOKINGS: Final = False
"""Whether the server deduplicates two bookings of one ``renderId``: the default of
``XportcnClient(retry_ambiguous=...)``. Unknown, so the SDK assumes it does not: a booking
that may have reached the server is never retried unless you opt in."""
