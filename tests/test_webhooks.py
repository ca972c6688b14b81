"""The message push parser and receiver (API.md §5), over real HTTP on 127.0.0.1, and the
sandbox pushing its order messages end to end."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from xportcn_async import ValidationError, XportcnClient, from_wire
from xportcn_async.models import (
    CHINA_TZ,
    OrderStatus,
    PayStatus,
    ProductDetailRequest,
)
from xportcn_async.sandbox import ka as sandbox_ka  # registers the KA handlers
from xportcn_async.sandbox import serve
from xportcn_async.sandbox.push import MessagePusher
from xportcn_async.webhooks import (
    MAX_DEPTH,
    RECEIVER_KEY,
    MalformedMessageError,
    MemoryDedupeStore,
    Message,
    MessagePlatform,
    MessageType,
    OrderMessage,
    RefundMessage,
    UnknownMessage,
    WebhookServer,
    create_webhook_app,
    parse_message,
)

from .conftest import pay_one_order_and_create_another

PATH = "/xportcn/messages"


def _example(examples_dir: Path, name: str) -> bytes:
    return (examples_dir / "messages" / f"{name}.json").read_bytes()


def _push(message_type: str, body: Any, **extra: Any) -> bytes:
    doc = {
        "messageType": message_type,
        "messageBody": body if isinstance(body, str) else json.dumps(body),
        "messagePlatform": 1,
        "timestamp": "1779263269913",
        **extra,
    }
    return json.dumps(doc).encode()


@contextlib.asynccontextmanager
async def running_app(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1 (an ephemeral port); yield the receiver's URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}{PATH}"
    finally:
        await runner.cleanup()


# -- parsing -------------------------------------------------------------------------------


def test_order_create_example_gets_real_types(examples_dir: Path) -> None:
    message = parse_message(_example(examples_dir, "ORDER_CREATE"))
    assert isinstance(message, OrderMessage)
    assert message.type is MessageType.ORDER_CREATE
    assert message.platform is MessagePlatform.ALIBABA_1688
    assert message.timestamp is not None
    assert message.timestamp.timestamp() * 1000 == pytest.approx(1779263269913)
    assert message.timestamp.utcoffset() is not None
    order = message.order
    assert order.order_id == "3305075341149134260" and message.order_id == order.order_id
    assert order.status is OrderStatus.WAITING_FOR_PAYMENT
    assert order.pay_status is PayStatus.UNPAID
    assert order.total_amount == 10000 and order.total_amount is not None
    assert order.total_amount.yuan == Decimal("100.00")
    assert order.shipping_fee == 500 and order.product_amount == 9500
    assert order.created_at is not None and order.created_at.tzinfo is CHINA_TZ
    assert (order.created_at.hour, order.created_at.minute) == (15, 40)
    assert order.paid_at is None and order.close_reason is None
    assert message.raw["messageBody"].startswith('{"orderId"')


def test_order_pay_success_example(examples_dir: Path) -> None:
    message = parse_message(_example(examples_dir, "ORDER_PAY_SUCCESS").decode())
    assert isinstance(message, OrderMessage)
    assert message.type is MessageType.ORDER_PAY_SUCCESS
    assert message.order.status is OrderStatus.WAITING_FOR_SENT
    assert message.order.pay_status is PayStatus.PAID
    assert message.order.paid_at is not None and message.order.paid_at.minute == 41


def test_refund_and_unknown_types() -> None:
    refund = parse_message(
        _push("ORDER_BUYER_VIEW_ORDER_BUYER_REFUND", {"refundId": "R1", "orderId": "O1"})
    )
    assert isinstance(refund, RefundMessage)
    assert refund.type is MessageType.ORDER_REFUND
    assert (refund.refund.refund_id, refund.order_id) == ("R1", "O1")

    unknown = parse_message(_push("LOGISTICS_UPDATE", {"orderId": "O1", "step": 3}))
    assert isinstance(unknown, UnknownMessage)
    assert unknown.type == "LOGISTICS_UPDATE" and not unknown.type.is_known
    assert unknown.body == {"orderId": "O1", "step": 3}

    text = parse_message(_push("SOMETHING_ELSE", "plain text, not JSON"))
    assert isinstance(text, UnknownMessage) and text.body == "plain text, not JSON"


def test_unexpected_body_values_are_kept_not_refused() -> None:
    message = parse_message(
        _push("ORDER_CANCEL", {"orderId": "O1", "totalAmount": "100.00", "orderStatus": "CLOSED"})
    )
    assert isinstance(message, OrderMessage)
    assert message.order.total_amount is None
    assert message.order.extras == {"totalAmount": "100.00"}
    assert message.order.status == "CLOSED" and message.order.status is not None
    assert not message.order.status.is_known


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"<html>not json</html>", "not JSON"),
        (b"[1, 2]", "not an object"),
        (b"\xff\xfe", "not JSON"),
        (json.dumps({"messageBody": "{}"}).encode(), "no messageType"),
        (json.dumps({"messageType": 5, "messageBody": "{}"}).encode(), "messageType must be"),
        (json.dumps({"messageType": "ORDER_CREATE"}).encode(), "no messageBody"),
        (_push("ORDER_CREATE", "{not json"), "messageBody is not a JSON document"),
        (_push("ORDER_CREATE", "[1]"), "must be a JSON object"),
        (_push("ORDER_CREATE", {"orderId": "1"}, timestamp="yesterday"), "timestamp"),
        (_push("ORDER_CREATE", {"orderId": "1"}, messagePlatform="x"), "messagePlatform"),
    ],
)
def test_a_malformed_push_raises_a_clear_error(body: bytes, match: str) -> None:
    with pytest.raises(MalformedMessageError, match=match):
        parse_message(body)


DEEP = 30_000  # far deeper than Python's recursion limit, and under the 64 KiB body limit
HOSTILE_PUSHES = {
    "deep body": b"[" * DEEP + b"]" * DEEP,
    "deep object body": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    "deep messageBody": _push("ORDER_CREATE", "[" * DEEP + "]" * DEEP),
    "deep unknown messageBody": _push("SOMETHING_NEW", '{"a":' * 5_000 + "1" + "}" * 5_000),
    "superscript timestamp": _push("ORDER_CREATE", {"orderId": "1"}, timestamp="²"),
    "superscript platform": _push("ORDER_CREATE", {"orderId": "1"}, messagePlatform="²"),
    "5,000-digit timestamp": _push("ORDER_CREATE", {"orderId": "1"}, timestamp="9" * 5000),
    "5,000-digit platform": _push("ORDER_CREATE", {"orderId": "1"}, messagePlatform="1" * 5000),
    "spaced timestamp": _push("ORDER_CREATE", {"orderId": "1"}, timestamp=" 1779263269913"),
    "underscored timestamp": _push("ORDER_CREATE", {"orderId": "1"}, timestamp="1_779_263"),
    "boolean platform": _push("ORDER_CREATE", {"orderId": "1"}, messagePlatform=True),
    "fractional timestamp": _push("ORDER_CREATE", {"orderId": "1"}, timestamp=1.5),
    "huge timestamp": _push("ORDER_CREATE", {"orderId": "1"}, timestamp=10**30),
}


@pytest.mark.parametrize("body", HOSTILE_PUSHES.values(), ids=HOSTILE_PUSHES.keys())
def test_hostile_pushes_raise_malformed_message_error(body: bytes) -> None:
    with pytest.raises(MalformedMessageError):
        parse_message(body)


def test_nesting_is_limited_to_max_depth_levels() -> None:
    def lists(levels: int) -> Any:
        value: Any = 1
        for _ in range(levels):
            value = [value]
        return value

    # The push object is the first level, so a value inside it may add MAX_DEPTH - 1 levels.
    assert parse_message({"messageType": "X", "messageBody": "{}", "x": lists(MAX_DEPTH - 1)})
    with pytest.raises(MalformedMessageError, match="nests deeper"):
        parse_message({"messageType": "X", "messageBody": "{}", "x": lists(MAX_DEPTH)})
    assert parse_message(_push("X", lists(MAX_DEPTH))).body is not None
    with pytest.raises(MalformedMessageError, match="messageBody nests deeper"):
        parse_message(_push("X", lists(MAX_DEPTH + 1)))


def test_a_mapping_that_is_not_json_is_refused() -> None:
    with pytest.raises(MalformedMessageError, match="not JSON"):
        parse_message({"messageType": "X", "messageBody": {"when": object()}})
    with pytest.raises(MalformedMessageError, match="key that is not a string"):
        parse_message({"messageType": "X", "messageBody": {1: "a"}})


@pytest.mark.parametrize(
    "value",
    [7, 0, 2.0, 7.5, True, "7", "0012", " 7", "7 ", "1_000", "²", "١٢", "-3", "1e3", "9" * 41],
)
def test_a_push_reads_integers_by_the_rule_of_every_wire_integer(value: Any) -> None:
    # One rule for requests, replies and pushes (once: a push refused the integral number
    # 2.0 that a reply takes, as the KA examples write quantities).
    try:
        expected: int | None = from_wire({"offerId": value}, ProductDetailRequest).offer_id
    except ValidationError:
        expected = None
    for field in ("messagePlatform", "timestamp"):
        body = _push("ORDER_CREATE", {"orderId": "1"}, **{field: value})
        try:
            message = parse_message(body)
        except MalformedMessageError as exc:
            assert expected is None, f"{field} {value!r} refused: {exc}"
            assert exc.field == field
            continue
        assert expected is not None, f"{field} {value!r} accepted"
        read = message.platform if field == "messagePlatform" else message.timestamp
        assert read == (expected if field == "messagePlatform" else _from_epoch_ms(expected))


def _from_epoch_ms(millis: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=millis)


@pytest.mark.parametrize("field", ["messagePlatform", "timestamp"])
def test_a_decoded_push_with_a_huge_integer_is_malformed_too(field: str) -> None:
    # A mapping can hold an integer no JSON parser would (once: a bare ValueError).
    with pytest.raises(MalformedMessageError) as info:
        parse_message({"messageType": "ORDER_CREATE", "messageBody": "{}", field: 10**5000})
    assert info.value.field == field


def test_integer_strings_are_plain_ascii_digits() -> None:
    message = parse_message(_push("ORDER_CREATE", {"orderId": "1"}, messagePlatform="0"))
    assert message.platform is MessagePlatform.TAOBAO
    assert message.timestamp is not None and message.timestamp.year == 2026


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
_field_values = _json_values | st.sampled_from(
    ["²", "9" * 5000, " 7", "1_000", "-1", "1e3", "1779263269913", "[" * 2000 + "]" * 2000]
)
_known_types = st.sampled_from([t.value for t in MessageType] + ["OTHER"])


@st.composite
def _push_documents(draw: st.DrawFn) -> Any:
    """A valid push with some of its fields dropped or replaced by hostile values."""
    body = draw(st.dictionaries(st.text(max_size=10), _json_values, max_size=4))
    doc: dict[str, Any] = {
        "messageType": draw(_known_types),
        "messageBody": json.dumps(body),
        "messagePlatform": 1,
        "timestamp": "1779263269913",
    }
    for field in list(doc):
        change = draw(st.sampled_from(["keep", "keep", "drop", "replace"]))
        if change == "drop":
            del doc[field]
        elif change == "replace":
            doc[field] = draw(_field_values | _json_values.map(json.dumps))
    doc.update(draw(st.dictionaries(st.text(max_size=10), _json_values, max_size=2)))
    return doc


@settings(max_examples=300)
@given(
    st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200),
        _json_values.map(json.dumps),
        _push_documents().map(json.dumps),
        _push_documents(),
    )
)
def test_parse_message_raises_only_malformed_message_error(data: Any) -> None:
    try:
        message = parse_message(data)
    except MalformedMessageError:
        return
    assert isinstance(message, Message)
    assert len(message.key) == 64


def test_a_redelivery_has_the_same_key_even_with_a_new_timestamp() -> None:
    body = {"orderId": "O1", "orderStatus": "CANCEL"}
    first = parse_message(_push("ORDER_CANCEL", body))
    again = parse_message(_push("ORDER_CANCEL", body, timestamp="1779263999999"))
    other = parse_message(_push("ORDER_CREATE", body))
    assert first.key == again.key and first.key != other.key


async def test_memory_dedupe_store_is_a_bounded_lru() -> None:
    store = MemoryDedupeStore(max_keys=2)
    assert await store.add("a") and await store.add("b")
    assert not await store.add("a")  # seen; "a" is now the most recent
    assert await store.add("c")  # evicts "b", the least recently seen
    assert len(store) == 2 and "a" in store and "b" not in store
    assert await store.add("b")


# -- the receiver --------------------------------------------------------------------------


async def test_ack_is_immediate_while_the_handler_is_slow(examples_dir: Path) -> None:
    started = asyncio.Event()
    finished = asyncio.Event()

    async def slow(message: Message) -> None:
        started.set()
        await asyncio.sleep(2)
        finished.set()

    app = create_webhook_app(slow, shutdown_timeout=0)
    async with running_app(app) as url, aiohttp.ClientSession() as session:
        # Warm the connection up so that the measured request is only the push.
        async with session.post(url, data=b"{}") as warm:
            assert warm.status == 400
        t0 = time.monotonic()
        async with session.post(url, data=_example(examples_dir, "ORDER_CREATE")) as response:
            assert response.status == 200
            await response.read()
        elapsed = time.monotonic() - t0
        assert elapsed < 0.5  # Xportcn's deadline is 1000 ms; the handler takes 2 s
        await asyncio.wait_for(started.wait(), 5)
        assert not finished.is_set()
        assert app[RECEIVER_KEY].stats.pending == 1
    # Closing the app cancelled the handler (shutdown_timeout=0) and awaited it.
    assert not finished.is_set()


async def test_duplicate_deliveries_are_dropped(examples_dir: Path) -> None:
    seen: list[Message] = []

    async def record(message: Message) -> None:
        seen.append(message)

    app = create_webhook_app(record)
    receiver = app[RECEIVER_KEY]
    create = _example(examples_dir, "ORDER_CREATE")
    async with running_app(app) as url, aiohttp.ClientSession() as session:
        for body in (create, create, _example(examples_dir, "ORDER_PAY_SUCCESS"), create):
            async with session.post(url, data=body) as response:
                assert response.status == 200
        await receiver.join()
    assert [m.type for m in seen] == [MessageType.ORDER_CREATE, MessageType.ORDER_PAY_SUCCESS]
    stats = receiver.stats
    assert (stats.accepted, stats.duplicates, stats.handled) == (2, 2, 2)


async def test_a_pluggable_dedupe_store_is_used(examples_dir: Path) -> None:
    class Recording:
        def __init__(self) -> None:
            self.keys: list[str] = []

        async def add(self, key: str) -> bool:
            new = key not in self.keys
            self.keys.append(key)
            return new

    store = Recording()
    handled: list[Message] = []

    async def record(message: Message) -> None:
        handled.append(message)

    app = create_webhook_app(record, dedupe=store)
    body = _example(examples_dir, "ORDER_CREATE")
    async with running_app(app) as url, aiohttp.ClientSession() as session:
        for _ in range(2):
            async with session.post(url, data=body) as response:
                assert response.status == 200
        await app[RECEIVER_KEY].join()
    assert len(store.keys) == 2 and store.keys[0] == store.keys[1] and len(handled) == 1


async def test_bad_bodies_are_rejected(examples_dir: Path) -> None:
    delivered: list[Message] = []

    async def record(message: Message) -> None:
        delivered.append(message)

    app = create_webhook_app(record, max_body_size=1024)
    big = _push("ORDER_CREATE", {"orderId": "1", "padding": "x" * 2000})

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 100):
            yield big[start : start + 100]

    async with running_app(app) as url, aiohttp.ClientSession() as session:
        for body, status in (
            (b"not json", 400),
            (json.dumps({"messageBody": "{}"}).encode(), 400),
            (big, 413),
        ):
            async with session.post(url, data=body) as response:
                assert response.status == status, await response.text()
        async with session.post(url, data=chunks()) as response:  # no Content-Length
            assert response.status == 413
        async with session.post(url, data=_example(examples_dir, "ORDER_CREATE")) as ok:
            assert ok.status == 200  # still serving
        await app[RECEIVER_KEY].join()
    assert app[RECEIVER_KEY].stats.rejected == 4
    assert [m.type for m in delivered] == [MessageType.ORDER_CREATE]


async def test_a_failing_handler_is_logged_and_the_app_keeps_going(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handled: list[str | None] = []

    async def flaky(message: Message) -> None:
        assert isinstance(message, OrderMessage)
        if message.order_id == "boom":
            raise RuntimeError("handler bug")
        handled.append(message.order_id)

    app = create_webhook_app(flaky)
    caplog.set_level(logging.ERROR, logger="xportcn_async.webhooks")
    async with running_app(app) as url, aiohttp.ClientSession() as session:
        for order_id in ("boom", "fine"):
            async with session.post(url, data=_push("ORDER_CREATE", {"orderId": order_id})) as r:
                assert r.status == 200
        await app[RECEIVER_KEY].join()
    assert handled == ["fine"]
    assert app[RECEIVER_KEY].stats.failed == 1
    assert any("handler bug" in (r.exc_text or "") for r in caplog.records)


async def test_concurrency_and_pending_are_bounded() -> None:
    release = asyncio.Event()
    running_now = 0
    most = 0

    async def blocked(message: Message) -> None:
        nonlocal running_now, most
        running_now += 1
        most = max(most, running_now)
        await release.wait()
        running_now -= 1

    app = create_webhook_app(blocked, max_concurrency=2, max_pending=4)
    receiver = app[RECEIVER_KEY]
    async with running_app(app) as url, aiohttp.ClientSession() as session:
        statuses = []
        for n in range(5):
            async with session.post(url, data=_push("ORDER_CREATE", {"orderId": str(n)})) as r:
                statuses.append(r.status)
        assert statuses == [200, 200, 200, 200, 503]  # the fifth waits for Xportcn's retry
        for _ in range(20):  # let the accepted handlers reach the semaphore
            await asyncio.sleep(0)
        assert running_now == 2 and receiver.stats.pending == 4
        release.set()
        await receiver.join()
        # Refused, so not recorded as seen: the retry is accepted.
        async with session.post(url, data=_push("ORDER_CREATE", {"orderId": "4"})) as r:
            assert r.status == 200
        await receiver.join()
    assert most == 2 and receiver.stats.handled == 5 and receiver.stats.refused == 1


# -- end to end: the sandbox pushes, the receiver handles ----------------------------------


async def test_sandbox_pushes_order_messages_end_to_end() -> None:
    received: list[Message] = []

    async def record(message: Message) -> None:
        received.append(message)

    app = create_webhook_app(record)
    receiver = app[RECEIVER_KEY]
    async with (
        running_app(app) as url,
        serve(port=0) as running,
        MessagePusher(running.sandbox, url, deliveries_per_message=2) as pusher,
        XportcnClient(running.credentials, base_url=running.base_url) as client,
    ):
        paid, cancelled = await pay_one_order_and_create_another(client)
        ka = sandbox_ka.ka_state(running.sandbox)
        ka.change_price(cancelled.order_id, 5000)
        ka.cancel_order(cancelled.order_id, "buyer changed their mind")
        ka.refund_order(paid.order_id)
        await pusher.flush()
        await receiver.join()

    assert all(d.ok for d in pusher.deliveries) and len(pusher.deliveries) == 12
    assert receiver.stats.duplicates == 6  # every message was delivered twice
    kinds = [(m.type, getattr(m, "order_id", None)) for m in received]
    assert kinds == [
        (MessageType.ORDER_CREATE, paid.order_id),
        (MessageType.ORDER_PAY_SUCCESS, paid.order_id),
        (MessageType.ORDER_CREATE, cancelled.order_id),
        (MessageType.ORDER_PRICE_MODIFY, cancelled.order_id),
        (MessageType.ORDER_CANCEL, cancelled.order_id),
        (MessageType.ORDER_REFUND, paid.order_id),
    ]
    create, pay, _, price, cancel, refund = received
    assert isinstance(create, OrderMessage) and isinstance(pay, OrderMessage)
    assert create.order.status is OrderStatus.WAITING_FOR_PAYMENT
    assert create.order.total_amount == paid.order.total_amount == 6561
    assert pay.order.status is OrderStatus.WAITING_FOR_SENT and pay.order.paid_at is not None
    assert isinstance(price, OrderMessage) and price.order.total_amount == 5000
    assert isinstance(cancel, OrderMessage) and cancel.order.status is OrderStatus.CANCEL
    assert cancel.order.close_reason == "buyer changed their mind"
    assert isinstance(refund, RefundMessage) and refund.refund.refund_amount == 6561


# -- hostile clients -------------------------------------------------------------------------


async def test_hostile_pushes_are_answered_400_over_http() -> None:
    async def ignore(message: Message) -> None:
        raise AssertionError(f"a hostile push was delivered: {message.type}")

    app = create_webhook_app(ignore)
    async with running_app(app) as url, aiohttp.ClientSession() as session:
        for name, body in HOSTILE_PUSHES.items():
            async with session.post(url, data=body) as response:
                assert response.status == 400, (name, await response.text())
    assert app[RECEIVER_KEY].stats.rejected == len(HOSTILE_PUSHES)


async def _closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection."""
    return await reader.read()


async def test_slow_and_idle_clients_are_disconnected(examples_dir: Path) -> None:
    delivered: list[Message] = []

    async def record(message: Message) -> None:
        delivered.append(message)

    app = create_webhook_app(record, body_timeout=0.5)
    server = WebhookServer(app, header_timeout=0.5, idle_timeout=0.5)
    push = _example(examples_dir, "ORDER_CREATE")
    async with server:
        streams = []

        async def connect(data: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(data)
            await writer.drain()
            return reader, writer

        headers = f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
        for _ in range(100):  # half-sent headers
            streams.append(await connect(headers + b"Content-Type: applic"))
        for _ in range(30):  # complete headers, half-sent body
            streams.append(
                await connect(headers + f"Content-Length: {len(push)}\r\n\r\n".encode() + push[:10])
            )
        for _ in range(30):  # nothing at all
            streams.append(await connect(b""))

        # A well-behaved client is served meanwhile, and then its idle keep-alive connection
        # is closed too.
        reader, writer = await connect(
            headers + f"Content-Length: {len(push)}\r\n\r\n".encode() + push
        )
        answer = await _closed_by_server(reader)
        assert answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(b"success")
        writer.close()

        answers = await asyncio.gather(*(_closed_by_server(r) for r, _ in streams))
        for _, w in streams:
            w.close()
        assert answers[:100] == [b""] * 100  # headers never finished: nothing to answer
        assert all(a.startswith(b"HTTP/1.1 408") for a in answers[100:130])
        assert answers[130:] == [b""] * 30
        while server.connections:  # noqa: ASYNC110 (the server sees every close, eventually)
            await asyncio.sleep(0.01)
        await app[RECEIVER_KEY].join()
    # 100 half-sent headers; 30 answered 408 (aiohttp then lingers up to 10 s to read the rest
    # of the body: the idle timeout ends that); 30 silent; the served client's keep-alive.
    assert server.timed_out == 161
    assert app[RECEIVER_KEY].stats.rejected == 30
    assert [m.type for m in delivered] == [MessageType.ORDER_CREATE]


def test_server_timeouts_must_be_positive() -> None:
    async def nothing(message: Message) -> None: ...

    with pytest.raises(ValueError, match="idle_timeout"):
        WebhookServer(create_webhook_app(nothing), idle_timeout=0)
    with pytest.raises(ValueError, match="body_timeout"):
        create_webhook_app(nothing, body_timeout=-1)
