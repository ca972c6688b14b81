"""Request signing (API.md §2): the public names of :mod:`xportcn_async._core.signing`.

The default signature rule, :func:`signature`, is **inferred** (see there and ``inferred.py``);
pass your own :class:`Signer` to ``XportcnClient(signer=...)`` if your account uses another.
"""

from ._core.signing import (
    DefaultSigner,
    SignedParams,
    Signer,
    Signing,
    TimestampUnit,
    new_nonce,
    signature,
)

__all__ = [
    "DefaultSigner",
    "SignedParams",
    "Signer",
    "Signing",
    "TimestampUnit",
    "new_nonce",
    "signature",
]
