"""Every choice this SDK makes where the public Xportcn docs are silent, in one place.

If your account disagrees with one of these, override it (most are client options) and tell
us. See also the endpoint table in :mod:`xportcn_async.endpoints`, whose ``inferred`` column
marks paths and response shapes that are not visible in the public docs.
"""

from __future__ import annotations

from typing import Final

#: The signature rule: ``upper(hex(md5(access_key + timestamp + nonce + secret)))``. The docs
#: name the parameters and show a 32-character upper-case hex value, then cut off. Replace it
#: with ``XportcnClient(signer=...)``. Implemented in :func:`xportcn_async.signing.signature`.
SIGNATURE_RULE: Final = "upper(hex(md5(access_key + timestamp + nonce_str + access_secret)))"

#: The ``timestamp`` header unit. ``DefaultSigner(timestamp_unit="s")`` switches to seconds.
TIMESTAMP_UNIT: Final = "ms"

#: Style-K envelope codes that mean success. The address docs show ``0``, the others ``200``.
K_SUCCESS_CODES: Final = frozenset({0, 200, "0", "200"})

#: Style-L success: ``success`` is true and ``errorCode`` is 200 (or absent).
L_SUCCESS_CODE: Final = 200

#: The error-code table could not be read. Envelope codes are read as HTTP-like codes (the
#: local sandbox uses them that way); the HTTP status is used when the code is unknown.
ENVELOPE_CODES_ARE_HTTP_LIKE: Final = True

#: Whether the server deduplicates two bookings of one ``renderId``. Unknown, so the SDK
#: assumes it does not: a booking that may have reached the server is never retried unless
#: you opt in with ``retry_ambiguous=True``.
SERVER_DEDUPLICATES_BOOKINGS: Final = False

#: Paged KA results are 1-based.
FIRST_PAGE: Final = 1
