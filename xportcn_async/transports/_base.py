"""The HTTP values every transport shares; they live in the sans-I/O core
(:mod:`xportcn_async._core.http`) and are named here for the transports."""

from .._core.http import (
    DEFAULT_MAX_RESPONSE_SIZE,
    SECRET_HEADERS,
    Request,
    Response,
    Timeout,
    Transport,
    check_max_response_size,
    content_length,
    origin,
    redact,
    redact_url,
    response_too_large,
)

__all__ = [
    "DEFAULT_MAX_RESPONSE_SIZE",
    "SECRET_HEADERS",
    "Request",
    "Response",
    "Timeout",
    "Transport",
    "check_max_response_size",
    "content_length",
    "origin",
    "redact",
    "redact_url",
    "response_too_large",
]
