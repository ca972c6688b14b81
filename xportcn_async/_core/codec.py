"""The codec: what a call sends and what it reads back, as values. Pure: no I/O.

A client holds one :class:`Codec` (its base URL, credentials and signer). For each call:

1. :meth:`Codec.route`: the endpoint as this client calls it (its URL, envelope style,
   whether the signature goes in the query), worked out once per endpoint;
2. :meth:`Codec.encode`: the request model validated and encoded, once per call (a retry
   resends the same bytes);
3. :meth:`Codec.build`: the signed :class:`~.http.Request` of one attempt (a fresh timestamp,
   nonce and signature for each);
4. :meth:`Codec.process`: the attempt's response as an :class:`~.envelope.Envelope`, or the
   :class:`~xportcn_async.errors.APIError` it means;
5. :func:`read_result`: the envelope's ``data`` as the endpoint's typed result. This is the
   one place the core asks the converter for a result model.

The client's retry loop (``client.py``) runs 3 and 4 around the transport and asks
:mod:`.retry` what to do after a failure; everything else about a call happens here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final, TypeVar
from urllib.parse import urlencode

from .. import wire, wirejson
from ..credentials import Credentials
from ..endpoints import Endpoint
from ..errors import MalformedResponseError
from ..models import Acknowledgement
from .envelope import Envelope, EnvelopeStyle, decode
from .http import Request, Response, Timeout
from .signing import DefaultSigner, Signer, Signing, new_nonce, signature

Resp = TypeVar("Resp")

_BASE_HEADERS: Final = (("content-type", "application/json"), ("accept", "application/json"))


class Route:
    """One operation as one client calls it: everything an attempt reads, worked out once
    (with the client's ``paths`` correction applied)."""

    __slots__ = (
        "endpoint",
        "envelope",
        "idempotent",
        "name",
        "path",
        "query_signed",
        "request_subject",
        "url",
    )

    def __init__(self, endpoint: Endpoint[Any, Any], base_url: str) -> None:
        self.endpoint = endpoint
        self.name = endpoint.name
        self.request_subject = f"{endpoint.name} request"  # what a ValidationError names
        self.path = endpoint.path
        self.url = base_url + endpoint.path
        self.envelope: EnvelopeStyle = endpoint.envelope
        self.idempotent = endpoint.idempotent
        self.query_signed = endpoint.auth is Signing.HEADERS_AND_QUERY


class Codec:
    """Builds each attempt's request and reads its response, for one client.

    - ``paths``: the client's corrections to the endpoint table, by operation name.
    - With the default signer, requests are signed directly into their headers (the same
      headers and query as :meth:`DefaultSigner.sign`, without the intermediate values);
      any other :class:`Signer` is asked for each attempt.
    """

    def __init__(
        self,
        *,
        base_url: str,
        credentials: Credentials,
        signer: Signer,
        paths: Mapping[str, Endpoint[Any, Any]],
    ) -> None:
        self.base_url = base_url
        self.credentials = credentials
        self.signer = signer
        self._paths = dict(paths)
        self._routes: dict[int, tuple[Endpoint[Any, Any], Route]] = {}
        # The default signer in milliseconds (the common case) signs without building a
        # SignedParams for every attempt.
        self._fast_sign = type(signer) is DefaultSigner and signer.timestamp_unit == "ms"
        self._clock = signer.clock if isinstance(signer, DefaultSigner) else None
        self._fixed_headers = (*_BASE_HEADERS, ("access-key", credentials.access_key))
        self._user_id = credentials.user_id

    def route(self, endpoint: Endpoint[Any, Any]) -> Route:
        """``endpoint`` as this client calls it (cached per endpoint object)."""
        cached = self._routes.get(id(endpoint))
        if cached is not None and cached[0] is endpoint:
            return cached[1]
        route = Route(self._paths.get(endpoint.name, endpoint), self.base_url)
        if endpoint.request is not None or endpoint.response is not None:  # a table entry
            self._routes[id(endpoint)] = (endpoint, route)  # (client.call's are built per call)
        return route

    @staticmethod
    def encode(route: Route, request: Any, *, prevalidated: bool = False) -> bytes:
        """The body of a call: ``request`` (a model, or ``None``) validated unless
        ``prevalidated``, and encoded. Raises :class:`~xportcn_async.errors.ValidationError`
        before anything is sent."""
        if request is None:
            return b"{}"
        if not prevalidated:
            wire.validate(request, subject=route.request_subject)
        return encode_body(wire.to_wire(request))

    def build(self, route: Route, body: bytes, timeout: Timeout) -> Request:
        """The signed request of one attempt: a fresh timestamp, nonce and signature."""
        if self._fast_sign:
            assert self._clock is not None
            credentials = self.credentials
            ts = str(int(self._clock() * 1000))
            nonce = new_nonce()
            sig = signature(credentials.access_key, ts, nonce, credentials.access_secret)
            headers = dict(self._fixed_headers)
            headers["timestamp"] = ts
            headers["nonce-str"] = nonce
            headers["signature"] = sig
            if self._user_id:
                headers["user-id"] = self._user_id
            url = f"{route.url}?timestamp={ts}&sign={sig}" if route.query_signed else route.url
            return Request("POST", url, headers, body, timeout)
        signed = self.signer.sign(self.credentials, query_signed=route.query_signed)
        headers = dict(_BASE_HEADERS)
        headers.update(signed.headers)
        url = f"{route.url}?{query_string(signed.query)}" if signed.query else route.url
        return Request("POST", url, headers, body, timeout)

    @staticmethod
    def process(route: Route, response: Response) -> Envelope:
        """The envelope of a successful reply, or the :class:`APIError` the reply means."""
        return decode(response, style=route.envelope, operation=route.name)


def encode_body(value: Any) -> bytes:
    """A wire value (``to_wire``'s output, or ``client.call``'s body) as request bytes:
    compact UTF-8 JSON, with orjson when installed (byte-identical: :mod:`..wirejson`)."""
    return wirejson.dumps(value)


def query_string(params: Mapping[str, str]) -> str:
    """``params`` as a query string (a custom signer's; escaped only when needed)."""
    if all(v.isalnum() and v.isascii() for v in params.values()):
        return "&".join(f"{k}={v}" for k, v in params.items())  # the common case: no escaping
    return urlencode(params)


def read_result(endpoint: Endpoint[Any, Resp], env: Envelope) -> Resp:
    """The envelope's ``data`` as ``endpoint``'s typed result. Raises
    :class:`MalformedResponseError` when it does not fit. The model itself comes from
    :func:`xportcn_async.wire.read_result` (tolerant models never fail there)."""
    cls = endpoint.response
    if cls is None:
        return env.data  # type: ignore[no-any-return]  # client.call: the data as it came
    if cls is Acknowledgement:
        ack = Acknowledgement(data=env.data, message=env.message, request_id=env.request_id)
        return ack  # type: ignore[return-value]  # Resp is Acknowledgement here
    data = env.data
    if endpoint.data_key is not None and (data is None or isinstance(data, list)):
        data = {endpoint.data_key: data if data is not None else []}  # a bare list
    if (
        data.__class__ is not dict  # the reply of almost every call, without the ABC check
        and not isinstance(data, Mapping)
        and not wire.is_tolerant(cls)  # tolerant: inferred shapes
    ):
        raise MalformedResponseError(
            f"the call succeeded but its data is {type(data).__name__}, not an object",
            http_status=200,
            request_id=env.request_id,
            operation=endpoint.name,
            body_excerpt=json.dumps(data, ensure_ascii=False)[:500],
        )
    try:
        return wire.read_result(cls, data, request_id=env.request_id)
    except Exception as exc:  # cattrs raises several kinds; all mean the same thing here
        raise MalformedResponseError(
            f"the call succeeded but its data does not match {cls.__name__}: {exc}",
            http_status=200,
            request_id=env.request_id,
            operation=endpoint.name,
            body_excerpt=json.dumps(data, ensure_ascii=False, default=str)[:500],
        ) from exc
