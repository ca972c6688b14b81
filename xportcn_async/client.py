"""The async client session."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
import warnings
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Generic, Literal, ParamSpec, TypeVar, overload
from urllib.parse import urlsplit

import attrs

from . import inferred
from ._core.codec import Codec, Route, encode_body, read_result
from ._core.envelope import Envelope, EnvelopeStyle
from ._core.http import Request, Response, Timeout, redact
from ._core.retry import ErrorKind, RetryPolicy, classify, decide
from ._core.signing import DefaultSigner, Signer, Signing
from .credentials import Credentials
from .endpoints import ENDPOINTS, Endpoint
from .errors import (
    APIError,
    ClientClosedError,
    ConfigurationError,
    MalformedResponseError,
    OutcomeUnknownError,
    TransportError,
)
from .hooks import AttemptHooks, AttemptResponse
from .hooks import RateLimiterLike as RateLimiterLike  # its old home; still importable
from .resources import (
    AddressesResource,
    ImResource,
    LogisticsResource,
    OrdersResource,
    ProductsResource,
    Resource,
    WmsResource,
)
from .transports import Transport, transport_named

DEFAULT_BASE_URL = "https://www.xportcn.com/api"
ENV_BASE_URL = "XPORTCN_BASE_URL"
"""The base URL when ``base_url`` is not given (for example the sandbox's)."""
ENV_ALLOW_HTTP = "XPORTCN_ALLOW_HTTP"
"""``1`` allows a plain-HTTP base URL on a host that is not loopback (``allow_http=True``)."""

logger = logging.getLogger("xportcn_async")
T = TypeVar("T")
P = ParamSpec("P")
Req = TypeVar("Req")
Resp = TypeVar("Resp")


class PlainHTTPWarning(UserWarning):
    """A client was allowed to send signed requests over plain HTTP to a host that is not
    loopback: anyone on the path can read the bodies and replay the signatures."""


@attrs.frozen(kw_only=True)
class RawResponse(Generic[T]):
    """A call's result with the HTTP response it was read from
    (:meth:`XportcnClient.with_raw_response`)."""

    status: int
    headers: Mapping[str, str]
    """Looked up with lower-case names."""
    request_id: str | None
    parsed: T
    """What the call returns."""
    attempts: int
    """HTTP attempts the call took (retries included); the response is the last one's."""


@attrs.frozen(kw_only=True)
class RequestEvent:
    """Passed to ``on_request`` before each attempt. Holds no secrets."""

    operation: str
    path: str
    attempt: int


@attrs.frozen(kw_only=True)
class ResponseEvent:
    """Passed to ``on_response`` after each attempt, successful or not. Holds no secrets."""

    operation: str
    path: str
    attempt: int
    elapsed: float
    status: int | None
    request_id: str | None
    error: Exception | None = None


RequestHook = Callable[[RequestEvent], None]
ResponseHook = Callable[[ResponseEvent], None]


def _as_timeout(value: Timeout | float | None) -> Timeout | None:
    if value is None or isinstance(value, Timeout):
        return value
    return Timeout(total=float(value))


@attrs.frozen(kw_only=True)
class _Options:
    timeout: Timeout
    retry: RetryPolicy
    retry_ambiguous: bool


class _Shared:
    """What a client and its ``with_options`` copies share: the transport and whether the
    client is closed."""

    def __init__(self, transport: Transport, owns_transport: bool) -> None:
        self.transport = transport
        self.owns_transport = owns_transport
        self.closed = False


class XportcnClient:
    """An async session with the Xportcn KA open API.

    Use it as ``async with XportcnClient(credentials) as client:``, or call :meth:`aclose`
    when a long-lived service shuts down. It can be built outside a running event loop. All
    requests share one connection pool.

    - ``credentials``: defaults to :meth:`Credentials.from_env`.
    - ``base_url``: defaults to ``$XPORTCN_BASE_URL``, else production. HTTPS, or plain HTTP
      on a loopback address (the local sandbox); plain HTTP elsewhere (a sandbox container
      in a compose network) only with ``allow_http=True`` or ``XPORTCN_ALLOW_HTTP=1``, and a
      :class:`PlainHTTPWarning`.
    - ``transport``: a transport instance (yours to close), or the name of one for the client
      to build and close: ``"aiohttp"`` (:class:`AiohttpTransport`) or ``"reqwest"``
      (:class:`ReqwestTransport`, from the ``fast`` extra). Defaults to
      ``$XPORTCN_TRANSPORT``, else ``"aiohttp"``.
    - ``timeout``: a :class:`Timeout` or total seconds, per attempt.
    - ``retry``: a :class:`RetryPolicy`; ``max_retries``: a shortcut that replaces its
      ``max_retries`` (``0`` turns retries off).
    - ``retry_ambiguous``: also retry non-idempotent calls (bookings) whose outcome is unknown.
      Only for accounts that deduplicate bookings by ``renderId``. The default is
      :data:`inferred.SERVER_DEDUPLICATES_BOOKINGS` (false).
    - ``signer``: replaces the default (inferred) signature rule.
    - ``paths``: corrections to the endpoint table, ``{"logistics.book": "/new/path"}``.
    - ``on_request`` / ``on_response``: callables run for each attempt, for metrics. An
      exception they raise is logged (logger ``xportcn_async``) and otherwise ignored.
    """

    def __init__(
        self,
        credentials: Credentials | None = None,
        *,
        base_url: str | None = None,
        transport: Transport | str | None = None,
        timeout: Timeout | float | None = None,
        retry: RetryPolicy | None = None,
        max_retries: int | None = None,
        retry_ambiguous: bool = inferred.SERVER_DEDUPLICATES_BOOKINGS,
        signer: Signer | None = None,
        paths: Mapping[str, str] | None = None,
        on_request: RequestHook | None = None,
        on_response: ResponseHook | None = None,
        connection_limit: int = 100,
        allow_http: bool | None = None,
    ) -> None:
        self.credentials = credentials if credentials is not None else Credentials.from_env()
        if base_url is None:
            base_url = os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL
        if allow_http is None:
            allow_http = os.environ.get(ENV_ALLOW_HTTP, "").strip().lower() in ("1", "true", "yes")
        self.base_url = _check_base_url(base_url, allow_http=allow_http)
        retry = retry or RetryPolicy()
        if max_retries is not None:
            retry = attrs.evolve(retry, max_retries=max_retries)
        self._rerouted = _with_paths(paths or {})
        self._codec = Codec(
            base_url=self.base_url,
            credentials=self.credentials,
            signer=signer or DefaultSigner(),
            paths=self._rerouted,
        )
        self._on_request = on_request
        self._on_response = on_response
        if transport is None or isinstance(transport, str):
            built = transport_named(transport, limit=connection_limit)
            self._shared = _Shared(built, owns_transport=True)
        else:
            self._shared = _Shared(transport, owns_transport=False)
        self._options = _Options(
            timeout=_as_timeout(timeout) or Timeout(),
            retry=retry,
            retry_ambiguous=retry_ambiguous,
        )

    @property
    def transport(self) -> Transport:
        """The transport this client (and its ``with_options`` copies) sends through."""
        return self._shared.transport

    # -- the resources, created on first use (a copy from with_options makes its own) ------

    @functools.cached_property
    def logistics(self) -> LogisticsResource:
        return LogisticsResource(self)

    @functools.cached_property
    def addresses(self) -> AddressesResource:
        return AddressesResource(self)

    @functools.cached_property
    def products(self) -> ProductsResource:
        return ProductsResource(self)

    @functools.cached_property
    def orders(self) -> OrdersResource:
        return OrdersResource(self)

    @functools.cached_property
    def im(self) -> ImResource:
        return ImResource(self)

    @functools.cached_property
    def wms(self) -> WmsResource:
        return WmsResource(self)

    def with_options(
        self,
        *,
        timeout: Timeout | float | None = None,
        retry: RetryPolicy | None = None,
        retry_ambiguous: bool | None = None,
    ) -> XportcnClient:
        """A copy with other defaults that shares this client's connection pool (close the
        original, not the copy)."""
        clone = object.__new__(XportcnClient)
        clone.__dict__.update(
            (k, v) for k, v in self.__dict__.items() if not isinstance(v, Resource)
        )
        current = self._options
        clone._options = _Options(
            timeout=_as_timeout(timeout) or current.timeout,
            retry=retry or current.retry,
            retry_ambiguous=current.retry_ambiguous if retry_ambiguous is None else retry_ambiguous,
        )
        return clone

    async def with_raw_response(
        self, method: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> RawResponse[T]:
        """Call ``method`` (any client call: ``client.logistics.book``, ``client.call``, ...)
        and return its result together with the HTTP status, headers and request id of the
        response it was read from::

            raw = await client.with_raw_response(client.logistics.book, order)
            raw.status, raw.headers["content-type"], raw.request_id, raw.parsed.order_id

        ``method`` must take ``hooks=`` (every client call does): the response is captured by
        an ``after_response`` hook passed to it, added to the ``hooks`` you give, if any. For
        a call made of several requests (``orders.preview_and_create``) it is the last
        response. Errors are raised as usual (an :class:`APIError` carries ``http_status``
        and ``request_id``)."""
        answers: list[AttemptResponse] = []
        given: AttemptHooks | None = kwargs.get("hooks")  # type: ignore[assignment]
        kwargs["hooks"] = _capturing(given, answers.append)
        parsed = await method(*args, **kwargs)
        if not answers:
            raise ConfigurationError("with_raw_response: the call sent no request")
        last = answers[-1]
        return RawResponse(
            status=last.status,
            headers=last.headers,
            request_id=last.request_id,
            parsed=parsed,
            attempts=last.attempt,
        )

    def __repr__(self) -> str:
        return (
            f"XportcnClient(base_url={self.base_url!r}, access_key={self.credentials.access_key!r})"
        )

    @property
    def retry_ambiguous(self) -> bool:
        """Whether this client retries writes whose outcome is unknown (``retry_ambiguous``
        of the constructor or of :meth:`with_options`); a call's own ``retry_ambiguous``
        overrides it."""
        return self._options.retry_ambiguous

    @property
    def closed(self) -> bool:
        return self._shared.closed

    async def __aenter__(self) -> XportcnClient:
        if self.closed:
            raise ClientClosedError("this XportcnClient is closed; create a new one")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool. Safe to call more than once."""
        if self._shared.closed:
            return
        self._shared.closed = True
        if self._shared.owns_transport:
            await self._shared.transport.aclose()

    def endpoint(self, name: str) -> Endpoint[Any, Any]:
        """Table operation ``name`` as this client calls it (with its ``paths`` correction)."""
        return self._rerouted.get(name) or ENDPOINTS[name]

    # -- the escape hatch ------------------------------------------------------------------

    async def call(
        self,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        auth: Signing | Literal["H", "Q"] = Signing.HEADERS,
        envelope: EnvelopeStyle | Literal["K", "L"] = EnvelopeStyle.KA,
        idempotent: bool = False,
        timeout: Timeout | float | None = None,
        retry_ambiguous: bool | None = None,
        hooks: AttemptHooks | None = None,
    ) -> Any:
        """Call any endpoint with a wire-format body and return the decoded ``data``.

        Signed, retried and decoded like every other call. ``auth`` says where the signature
        goes, ``envelope`` which reply envelope the operation uses (the old one-letter
        literals ``"H"``/``"Q"`` and ``"K"``/``"L"`` still work, with a
        ``DeprecationWarning``). ``idempotent=True`` allows retrying attempts whose outcome is
        unknown.
        """
        if not isinstance(auth, Signing) or not isinstance(envelope, EnvelopeStyle):
            warnings.warn(
                "client.call(auth=..., envelope=...): the one-letter literals are deprecated; "
                "use Signing.HEADERS / Signing.HEADERS_AND_QUERY and "
                "EnvelopeStyle.KA / EnvelopeStyle.LOGISTICS",
                DeprecationWarning,
                stacklevel=2,
            )
        endpoint: Endpoint[Any, Any] = Endpoint(
            name=f"call {path}",
            path=path,
            auth=Signing(auth),
            envelope=EnvelopeStyle(envelope),
            request=None,
            response=None,
            idempotent=idempotent,
        )
        env = await self.send(
            endpoint, body or {}, timeout=timeout, retry_ambiguous=retry_ambiguous, hooks=hooks
        )
        return env.data

    # -- the one request path ---------------------------------------------------------------

    @overload
    async def request(
        self,
        endpoint: Endpoint[Req, Resp],
        request: Req,
        *,
        timeout: Timeout | float | None = None,
        retry_ambiguous: bool | None = None,
        hooks: AttemptHooks | None = None,
        prevalidated: bool = False,
    ) -> Resp: ...

    @overload
    async def request(
        self,
        endpoint: str,
        request: Any,
        *,
        timeout: Timeout | float | None = None,
        retry_ambiguous: bool | None = None,
        hooks: AttemptHooks | None = None,
        prevalidated: bool = False,
    ) -> Any: ...
    async def request(
        self,
        endpoint: Endpoint[Req, Resp] | str,
        request: Any,
        *,
        timeout: Timeout | float | None = None,
        retry_ambiguous: bool | None = None,
        hooks: AttemptHooks | None = None,
        prevalidated: bool = False,
    ) -> Any:
        """Run a table operation (``endpoints.LOGISTICS_BOOK``) with its request model (or
        ``None`` for an operation without a body) and return its typed result. Resources are
        thin wrappers over this. ``prevalidated``: the caller has just run :func:`validate`
        on ``request`` (skips doing it twice). An operation named by a string
        (``"logistics.book"``) is deprecated: it loses the types."""
        if isinstance(endpoint, str):
            warnings.warn(
                f"client.request({endpoint!r}, ...): naming an operation by a string is "
                "deprecated; pass its constant from xportcn_async.endpoints",
                DeprecationWarning,
                stacklevel=2,
            )
            endpoint = ENDPOINTS[endpoint]
        route = self._codec.route(endpoint)
        body = self._codec.encode(route, request, prevalidated=prevalidated)
        env = await self._call(route, body, timeout, retry_ambiguous, hooks)
        try:
            return read_result(endpoint, env)
        except MalformedResponseError as exc:
            if endpoint.idempotent:
                raise
            unreadable = exc
        # The write went through, but we cannot read what it created (the order id).
        raise OutcomeUnknownError(endpoint.name, unreadable, attempts=env.attempts) from unreadable

    async def send(
        self,
        endpoint: Endpoint[Any, Any],
        body: Any,
        *,
        timeout: Timeout | float | None = None,
        retry_ambiguous: bool | None = None,
        hooks: AttemptHooks | None = None,
    ) -> Envelope:
        """Sign, send, retry and decode one call with a wire-format ``body``, running
        ``hooks`` around each attempt. The envelope's ``attempts`` says how many HTTP
        attempts it took."""
        route = self._codec.route(endpoint)
        return await self._call(route, encode_body(body), timeout, retry_ambiguous, hooks)

    async def _call(
        self,
        route: Route,
        body: bytes,
        timeout: Timeout | float | None,
        retry_ambiguous: bool | None,
        hooks: AttemptHooks | None,
    ) -> Envelope:
        """The retry loop: build an attempt (:class:`Codec`), send it (the transport),
        process the reply (:class:`Codec`); after a failure, ask :func:`decide` whether to
        retry. ``hooks`` run around each attempt."""
        if self._shared.closed:
            raise ClientClosedError("this XportcnClient is closed; create a new one")
        options = self._options
        attempt_timeout = _as_timeout(timeout) or options.timeout
        codec = self._codec
        transport = self._shared.transport
        limiter = before_send = before_write = after_response = None
        if hooks is not None:
            limiter, before_send, after_response = (
                hooks.limiter,
                hooks.before_send,
                hooks.after_response,
            )
            before_write = None if route.idempotent else hooks.before_write
        attempt = 0
        ambiguous_before = False
        while True:
            attempt += 1
            if limiter is not None:
                await limiter.acquire()  # before signing and before the timer starts
            request = codec.build(route, body, attempt_timeout)
            if self._on_request is not None:
                self._hook(
                    self._on_request,
                    RequestEvent(operation=route.name, path=route.path, attempt=attempt),
                )
            if before_send is not None:
                before_send(attempt)
            if before_write is not None:
                before_write(attempt)
            started = time.monotonic()
            response: Response | None = None
            error: TransportError | APIError
            try:
                response = await transport.send(request)
            except (TransportError, APIError) as exc:
                error = exc
            except Exception as exc:  # a transport bug or misuse; CancelledError passes
                error = _unexpected(exc, request)
            else:
                try:
                    env = codec.process(route, response)
                except APIError as exc:
                    error = exc
                else:
                    if self._on_response is not None or _debug():
                        self._report(route, attempt, started, response, None, env.request_id)
                    if after_response is not None:
                        after_response(
                            AttemptResponse(
                                attempt=attempt,
                                status=response.status,
                                headers=response.headers,
                                request_id=env.request_id,
                            )
                        )
                    return env if attempt == 1 else attrs.evolve(env, attempts=attempt)
            # Decided and raised outside the ``except`` blocks, so that no SDK error gets an
            # implicit ``__context__`` (a transport's exceptions may hold the signed URL).
            self._report(route, attempt, started, response, error)
            decision = decide(
                error,
                operation=route.name,
                attempt=attempt,
                policy=options.retry,
                idempotent=route.idempotent,
                retry_ambiguous=(
                    options.retry_ambiguous if retry_ambiguous is None else retry_ambiguous
                ),
                ambiguous_before=ambiguous_before,
            )
            ambiguous_before = ambiguous_before or classify(error) is ErrorKind.AMBIGUOUS
            if not decision.retry:
                assert decision.error is not None
                if decision.error is error:
                    raise error
                raise decision.error from error
            logger.info(
                "%s attempt %d failed (%s); retrying in %.2f s",
                route.name,
                attempt,
                type(error).__name__,
                decision.delay,
            )
            await asyncio.sleep(decision.delay)

    def _hook(self, hook: Callable[[Any], None], event: RequestEvent | ResponseEvent) -> None:
        """Run a user hook; what it raises is logged, never raised: a metrics failure must not
        turn a booking that happened into an error."""
        try:
            hook(event)
        except Exception as exc:
            logger.warning(
                "%s attempt %d: the %s hook raised %s: %s",
                event.operation,
                event.attempt,
                "on_request" if isinstance(event, RequestEvent) else "on_response",
                type(exc).__name__,
                exc,
            )

    def _report(
        self,
        route: Route,
        attempt: int,
        started: float,
        response: Response | None,
        error: Exception | None,
        request_id: str | None = None,
    ) -> None:
        elapsed = time.monotonic() - started
        status = response.status if response is not None else None
        if request_id is None:
            request_id = getattr(error, "request_id", None)
        if _debug():
            logger.debug(
                "%s attempt=%d status=%s latency=%.1fms request_id=%s%s",
                route.name,
                attempt,
                status,
                elapsed * 1000,
                request_id,
                f" error={type(error).__name__}" if error else "",
            )
        if self._on_response is not None:
            self._hook(
                self._on_response,
                ResponseEvent(
                    operation=route.name,
                    path=route.path,
                    attempt=attempt,
                    elapsed=elapsed,
                    status=status,
                    request_id=request_id,
                    error=error,
                ),
            )


def __getattr__(name: str) -> Any:
    if name in ("CallContext", "call_context"):
        raise AttributeError(
            f"xportcn_async.client.{name} was removed in 0.2: the client reads no context "
            "variable any more; pass hooks=AttemptHooks(limiter=..., before_send=...) to the "
            "call instead (see the CHANGELOG)"
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _debug() -> bool:
    return logger.isEnabledFor(logging.DEBUG)


def _capturing(hooks: AttemptHooks | None, keep: Callable[[AttemptResponse], None]) -> AttemptHooks:
    """``hooks`` with an ``after_response`` that also hands each answer to ``keep``."""
    if hooks is None:
        return AttemptHooks(after_response=keep)
    theirs = hooks.after_response
    if theirs is None:
        return attrs.evolve(hooks, after_response=keep)

    def both(answer: AttemptResponse) -> None:
        theirs(answer)
        keep(answer)

    return attrs.evolve(hooks, after_response=both)


def _unexpected(exc: Exception, request: Request) -> TransportError:
    """An exception a transport should not raise (aiohttp's ``RuntimeError('Session is
    closed')``, a bug): a :class:`TransportError` that may have reached the server, so that
    the retry rules treat it like any other unknown outcome. Not chained: the original may
    hold the signed URL; its type and redacted message are kept in the message instead."""
    return TransportError(
        "unexpected error from the transport",
        may_have_reached_server=True,
        underlying=f"{type(exc).__name__}: {redact(str(exc), request)}",
    )


def _check_base_url(url: str, *, allow_http: bool = False) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigurationError(f"base_url must be an http(s) URL, got {url!r}")
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        if not allow_http:
            raise ConfigurationError(
                f"base_url {url!r} uses plain HTTP; only loopback addresses (the local sandbox) "
                f"may, unless you pass allow_http=True or set {ENV_ALLOW_HTTP}=1 (for a sandbox "
                "in a private network)"
            )
        warnings.warn(
            f"base_url {url!r} uses plain HTTP: request bodies and signatures travel "
            "unencrypted (allowed by allow_http / " + ENV_ALLOW_HTTP + ")",
            PlainHTTPWarning,
            stacklevel=3,
        )
    return url.rstrip("/")


def _with_paths(paths: Mapping[str, str]) -> dict[str, Endpoint[Any, Any]]:
    """The table entries that ``paths`` corrects, corrected (empty: nothing to look up)."""
    unknown = sorted(set(paths) - set(ENDPOINTS))
    if unknown:
        raise ConfigurationError(
            f"paths: unknown operation(s) {', '.join(unknown)}; known: {', '.join(sorted(ENDPOINTS))}"
        )
    return {name: attrs.evolve(ENDPOINTS[name], path=path) for name, path in paths.items()}
