"""The two response envelopes (API.md §3): the public names of
:mod:`xportcn_async._core.envelope`."""

from ._core.envelope import (
    MAX_JSON_DEPTH,
    MAX_RETRY_AFTER_HEADER,
    Envelope,
    EnvelopeStyle,
    decode,
    error_class,
    retry_after,
)

__all__ = [
    "MAX_JSON_DEPTH",
    "MAX_RETRY_AFTER_HEADER",
    "Envelope",
    "EnvelopeStyle",
    "decode",
    "error_class",
    "retry_after",
]
