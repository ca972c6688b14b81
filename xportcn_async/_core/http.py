"""The transport protocol: one coroutine from a request value to a response value."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import attrs

from ..errors import ResponseTooLargeError


@attrs.define(frozen=True)
class Timeout:
    """Per-request timeouts in seconds. ``total`` covers one attempt, from the moment it holds a
    connection slot to the last byte of the response; waiting for a slot is not counted."""

    total: float | None = 30.0
    connect: float | None = 10.0


#: The default ``max_response_size`` of the transports: 4 MiB. This API's largest replies
#: (a page of 50 products, a product detail with its SKUs and description) are tens to a few
#: hundred KiB, so 4 MiB leaves a wide margin while bounding what one request can make the
#: process hold: a connection pool of 100 in-flight requests stays under about 400 MiB even
#: when a broken proxy or a hostile server streams an endless body.
DEFAULT_MAX_RESPONSE_SIZE = 4 * 1024 * 1024


def check_max_response_size(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"max_response_size must be a positive number of bytes, got {value!r}")
    return value


def response_too_large(
    url: str, limit: int, *, content_length: int | None = None
) -> ResponseTooLargeError:
    """The error for a body over ``limit`` bytes from ``url`` (named by its origin only: the
    query may hold the signature)."""
    if content_length is not None:
        what = f"announces {content_length} bytes (Content-Length); it was not read"
    else:
        what = f"grew past {limit} bytes and was cut off"
    return ResponseTooLargeError(
        f"the response from {origin(url)} {what}; max_response_size is {limit} bytes",
        limit=limit,
        content_length=content_length,
    )


def content_length(headers: Mapping[str, str]) -> int | None:
    """The ``Content-Length`` header as a number, or ``None`` when absent or not a number."""
    value = headers.get("content-length")
    if not (isinstance(value, str) and value.isascii() and value.isdigit()):
        return None
    return int(value) if len(value) <= 18 else 10**18  # (int() refuses 4,300+ digits)


def origin(url: str) -> str:
    """Scheme, host and port only: no path or query (the query may hold a signature)."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0].split('?', 1)[0]}"


SECRET_HEADERS = frozenset({"signature"})
_SIGN_QUERY = re.compile(r"([?&]sign=)[^&]*")


def redact_url(url: str) -> str:
    """``url`` with the ``sign`` query parameter masked."""
    return _SIGN_QUERY.sub(r"\1***", url)


def redact(text: str, request: Request) -> str:
    """``text`` (an error message, say) with the ``sign`` query parameter and every secret
    header value of ``request`` masked, wherever they appear."""
    text = redact_url(text)
    for name, value in request.headers.items():
        if name.lower() in SECRET_HEADERS and value and value in text:
            text = text.replace(value, "***")
    return text


@attrs.define(frozen=True)
class Request:
    """One HTTP attempt. ``url`` already includes the query string. Its repr masks the
    signature (header and query)."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    timeout: Timeout = attrs.field(factory=Timeout)

    def __repr__(self) -> str:
        headers = {
            k: ("***" if k.lower() in SECRET_HEADERS else v) for k, v in self.headers.items()
        }
        return (
            f"Request(method={self.method!r}, url={redact_url(self.url)!r}, headers={headers!r}, "
            f"body=<{len(self.body)} bytes>, timeout={self.timeout!r})"
        )


@attrs.define(frozen=True)
class Response:
    """A complete HTTP response. ``headers`` is looked up with lower-case names (a plain dict
    with lower-case keys, or a case-insensitive mapping such as aiohttp's)."""

    status: int
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: bytes = b""

    @classmethod
    def json(
        cls, data: object, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> Response:
        """A JSON response, for fakes and the sandbox."""
        import json

        hdrs = {"content-type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, hdrs, json.dumps(data, ensure_ascii=False).encode())


@runtime_checkable
class Transport(Protocol):
    """Send one request and return the whole response, or raise a
    :class:`~xportcn_async.errors.TransportError`."""

    async def send(self, request: Request) -> Response: ...

    async def aclose(self) -> None: ...
