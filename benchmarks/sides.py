"""The sides a benchmark compares, by name: ``--sides sdk-aiohttp,raw-aiohttp,...``.

A side name is ``<kind>-<client>[+<option>...]``:

- kind ``sdk``: ``client.logistics.book_many`` over every order;
  kind ``sdkbook``: a loop of ``client.logistics.book()`` calls under an ``asyncio.Semaphore``;
  kind ``raw``: a hand-written loop over a bare HTTP client, doing the same work as the SDK.
- client: the SDK's transport for ``sdk``/``sdkbook`` (a key of :data:`SDK_TRANSPORTS`), the
  HTTP client of the hand-written loop for ``raw`` (a key of :data:`RAW_CLIENTS`).
- options: ``+uvloop`` runs the side on uvloop's event loop; ``+orjson`` makes a raw loop
  encode and decode with orjson (both must be installed).

A new transport or option is one entry in one of those tables: every benchmark script then
takes it in ``--sides``.

Both kinds start from their natural in-memory input, built before the clock starts: the SDK
from :class:`BookingRequest` values, the raw loop from the same orders as wire dicts. Inside
the timed part, the raw loop does for every booking what the SDK does: a fresh timestamp,
nonce and signature (the rule of API.md §2, written out here by hand, not the SDK's signer),
``json.dumps``, the POST, reading the body, ``json.loads`` and a check of the envelope.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

import aiohttp

from xportcn_async import (
    AiohttpTransport,
    BookingRequest,
    Credentials,
    HttptoolsTransport,
    ReqwestTransport,
    Transport,
    XportcnClient,
)
from xportcn_async.batch import Status

BOOKING_PATH = "/open/pp/logistics/orderBookingFreight"  # API.md §4, "orderBookingFreight"

BookAll = Callable[[list[Any]], Awaitable[None]]
"""Books every prepared order of the list, raising if any one was not booked."""

Opener = Callable[[str, Credentials, int], contextlib.AbstractAsyncContextManager[BookAll]]
"""``opener(base_url, credentials, concurrency)``: a session whose ``BookAll`` can be called
several times (a warm-up, then the timed run) on the same connections."""


# -- the SDK ----------------------------------------------------------------------------------

SDK_TRANSPORTS: dict[str, Callable[[int], Transport]] = {
    "aiohttp": lambda limit: AiohttpTransport(limit=limit),
    "httptools": lambda limit: HttptoolsTransport(limit=limit),  # the `fast` extra
    "reqwest": lambda limit: ReqwestTransport(limit=limit),  # the `fast` extra
}
"""The SDK's transports by name, each built for a connection limit."""


def _sdk_opener(transport_name: str, *, many: bool) -> Opener:
    make_transport = SDK_TRANSPORTS[transport_name]

    @contextlib.asynccontextmanager
    async def opener(
        base_url: str, credentials: Credentials, concurrency: int
    ) -> AsyncIterator[BookAll]:
        transport = make_transport(concurrency)
        try:
            async with XportcnClient(credentials, base_url=base_url, transport=transport) as client:
                logistics = client.logistics

                async def book_many(orders: list[BookingRequest]) -> None:
                    async with logistics.book_many(orders, concurrency=concurrency) as run:
                        async for _ in run:
                            pass
                    booked = run.report.count(Status.BOOKED)
                    if booked != len(orders):
                        raise RuntimeError(f"only {booked} of {len(orders)} booked: {run.report}")

                async def book_loop(orders: list[BookingRequest]) -> None:
                    slots = asyncio.Semaphore(concurrency)

                    async def one(order: BookingRequest) -> None:
                        async with slots:
                            await logistics.book(order)

                    await asyncio.gather(*(one(o) for o in orders))

                yield book_many if many else book_loop
        finally:
            await transport.aclose()

    return opener


# -- the hand-written loop --------------------------------------------------------------------


def raw_signature(access_key: str, timestamp: str, nonce: str, access_secret: str) -> str:
    """API.md §2: upper-case hex MD5 of the plain concatenation, written out by hand."""
    return (
        hashlib.md5(f"{access_key}{timestamp}{nonce}{access_secret}".encode()).hexdigest().upper()
    )


@dataclasses.dataclass(frozen=True)
class Codec:
    """How a raw loop turns a dict into body bytes and body bytes into a dict."""

    dumps: Callable[[Any], bytes]
    loads: Callable[[bytes], Any]


def _json_codec() -> Codec:
    return Codec(
        dumps=lambda obj: json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode(),
        loads=json.loads,
    )


def _orjson_codec() -> Codec:
    import orjson  # type: ignore[import-not-found,unused-ignore]

    return Codec(dumps=orjson.dumps, loads=orjson.loads)


def _signed_headers(key: str, secret: str, user_id: str | None) -> dict[str, str]:
    """A raw loop's headers for one request: a fresh timestamp, nonce and signature."""
    timestamp = str(time.time_ns() // 1_000_000)
    nonce = secrets.token_hex(16)  # 32 characters of [0-9a-f]
    headers = {
        "content-type": "application/json",
        "accept": "application/json",
        "access-key": key,
        "timestamp": timestamp,
        "nonce-str": nonce,
        "signature": raw_signature(key, timestamp, nonce, secret),
    }
    if user_id:
        headers["user-id"] = user_id
    return headers


def _check_booked(status: int, body: bytes, loads: Callable[[bytes], Any]) -> None:
    """A raw loop's check of the reply: decoded, a success envelope with an order id."""
    envelope = loads(body)
    if (
        status != 200
        or envelope.get("success") is not True
        or envelope.get("errorCode") != 200
        or not envelope["data"]["orderId"]
    ):
        raise RuntimeError(f"not booked: HTTP {status} {body[:200]!r}")


def _raw_aiohttp(codec: Codec) -> Opener:
    @contextlib.asynccontextmanager
    async def opener(
        base_url: str, credentials: Credentials, concurrency: int
    ) -> AsyncIterator[BookAll]:
        url = base_url + BOOKING_PATH
        key, secret, user_id = (
            credentials.access_key,
            credentials.access_secret,
            credentials.user_id,
        )
        dumps, loads = codec.dumps, codec.loads
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def one(order: dict[str, Any], slots: asyncio.Semaphore) -> None:
                async with slots:
                    headers = _signed_headers(key, secret, user_id)
                    query = f"?timestamp={headers['timestamp']}&sign={headers['signature']}"
                    async with session.post(
                        url + query, data=dumps(order), headers=headers
                    ) as resp:
                        body = await resp.read()
                    _check_booked(resp.status, body, loads)

            async def book_all(orders: list[dict[str, Any]]) -> None:
                slots = asyncio.Semaphore(concurrency)
                await asyncio.gather(*(one(o, slots) for o in orders))

            yield book_all

    return opener


def _raw_reqwest(codec: Codec) -> Opener:
    """The same loop on pyreqwest (the ``fast`` extra): what that HTTP client costs by itself,
    without the SDK."""

    @contextlib.asynccontextmanager
    async def opener(
        base_url: str, credentials: Credentials, concurrency: int
    ) -> AsyncIterator[BookAll]:
        from pyreqwest.client import ClientBuilder

        url = base_url + BOOKING_PATH
        key, secret, user_id = (
            credentials.access_key,
            credentials.access_secret,
            credentials.user_id,
        )
        dumps, loads = codec.dumps, codec.loads
        client = (
            ClientBuilder()
            .no_proxy()
            .max_connections(None)
            .pool_max_idle_per_host(concurrency)
            .build()
        )
        try:

            async def one(order: dict[str, Any], slots: asyncio.Semaphore) -> None:
                async with slots:
                    headers = _signed_headers(key, secret, user_id)
                    query = f"?timestamp={headers['timestamp']}&sign={headers['signature']}"
                    request = client.post(url + query).headers(headers).body_bytes(dumps(order))
                    resp = await request.build().send()
                    body = (await resp.bytes()).to_bytes()
                    _check_booked(resp.status, body, loads)

            async def book_all(orders: list[dict[str, Any]]) -> None:
                slots = asyncio.Semaphore(concurrency)
                await asyncio.gather(*(one(o, slots) for o in orders))

            yield book_all
        finally:
            await client.close()
            await asyncio.sleep(0.05)  # pyreqwest's exit crash: see ReqwestTransport.aclose

    return opener


RAW_CLIENTS: dict[str, Callable[[Codec], Opener]] = {
    "aiohttp": _raw_aiohttp,
    "reqwest": _raw_reqwest,
}
"""The HTTP clients of the hand-written loop by name, each given its JSON codec."""


# -- options and parsing ----------------------------------------------------------------------

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def _uvloop_factory() -> LoopFactory:
    import uvloop  # type: ignore[import-not-found,unused-ignore]

    factory: LoopFactory = uvloop.new_event_loop
    return factory


KINDS = {
    "sdk": "SDK book_many",
    "sdkbook": "SDK book() loop",
    "raw": "raw loop",
}
OPTIONS = ("uvloop", "orjson")


@dataclasses.dataclass(frozen=True)
class Side:
    """One parsed side name."""

    name: str
    kind: str
    client: str
    options: tuple[str, ...]

    @property
    def label(self) -> str:
        extra = "".join(f" + {o}" for o in self.options)
        return f"{KINDS[self.kind]}, {self.client}{extra}"

    @property
    def is_sdk(self) -> bool:
        return self.kind != "raw"

    @property
    def environment(self) -> dict[str, str]:
        """What the side's process adds to its environment: the SDK's JSON library, chosen
        explicitly (``XPORTCN_JSON``), so that a side measures the same thing whether orjson
        happens to be installed or not: the standard library, or orjson with ``+orjson``."""
        return {"XPORTCN_JSON": "orjson" if "orjson" in self.options else "stdlib"}

    def opener(self) -> Opener:
        if self.kind == "raw":
            codec = _orjson_codec() if "orjson" in self.options else _json_codec()
            return RAW_CLIENTS[self.client](codec)
        return _sdk_opener(self.client, many=self.kind == "sdk")

    def prepare(self, orders: list[dict[str, Any]]) -> list[Any]:
        """The side's natural input for the wire dicts ``orders`` (built before timing)."""
        if self.kind == "raw":
            return orders
        from xportcn_async import from_wire

        return [from_wire(o, BookingRequest) for o in orders]

    def run(self, main: Coroutine[Any, Any, Any]) -> Any:
        """Run ``main`` on this side's event loop."""
        factory: LoopFactory = (
            _uvloop_factory() if "uvloop" in self.options else asyncio.new_event_loop
        )
        loop = factory()
        try:
            return loop.run_until_complete(main)
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


def parse_side(name: str) -> Side:
    """``"sdk-aiohttp+uvloop"`` → a :class:`Side`; ``ValueError`` with the choices otherwise."""
    base, *options = name.split("+")
    kind, _, client = base.partition("-")
    clients = RAW_CLIENTS if kind == "raw" else SDK_TRANSPORTS
    if kind not in KINDS or client not in clients:
        raise ValueError(
            f"unknown side {name!r}: <kind>-<client>[+option], kind one of {sorted(KINDS)}, "
            f"SDK transports {sorted(SDK_TRANSPORTS)}, raw clients {sorted(RAW_CLIENTS)}"
        )
    for option in options:
        if option not in OPTIONS:
            raise ValueError(f"unknown option {option!r} in {name!r}: one of {OPTIONS}")
    return Side(name, kind, client, tuple(options))


def parse_sides(names: str) -> list[Side]:
    """A comma-separated list of side names."""
    return [parse_side(n.strip()) for n in names.split(",") if n.strip()]
