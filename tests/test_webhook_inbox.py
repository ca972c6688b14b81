"""The durable webhook inbox: the backends' contract (memory, SQLite, real PostgreSQL), the
dispatcher's retries, dead messages and replays, store-then-answer over HTTP, restart
recovery, and the sandbox's pushes end to end through a durable inbox."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from xportcn_async import XportcnClient
from xportcn_async.sandbox import ka as sandbox_ka
from xportcn_async.sandbox import serve
from xportcn_async.sandbox.push import MessagePusher
from xportcn_async.webhooks import (
    RECEIVER_KEY,
    Dispatcher,
    Inbox,
    MemoryInbox,
    Message,
    MessageStatus,
    MessageType,
    OrderMessage,
    PostgresInbox,
    SQLiteInbox,
    create_webhook_app,
    open_inbox,
    parse_message,
    retry_delay,
)
from xportcn_async.webhooks import dispatcher as dispatcher_module
from xportcn_async.webhooks.inbox import now as inbox_now

from .conftest import pay_one_order_and_create_another

PATH = "/xportcn/messages"
T0 = 1_800_000_000.0  # the contract tests pass their own clock


def push(order_id: str, message_type: str = "ORDER_PAY_SUCCESS") -> bytes:
    body = {"orderId": order_id, "orderStatus": "WAITING_FOR_SENT", "totalAmount": 100}
    return json.dumps(
        {
            "messageType": message_type,
            "messageBody": json.dumps(body),
            "messagePlatform": 1,
            "timestamp": "1779263269913",
        }
    ).encode()


async def add(inbox: Inbox, body: bytes, now: float = T0) -> bool:
    message = parse_message(body)
    return await inbox.add(message.key, message.type.value, body, now)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def inbox(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Inbox]:
    """A fresh, open inbox of each backend."""
    made: Inbox
    if request.param == "memory":
        made = MemoryInbox()
    elif request.param == "sqlite":
        made = SQLiteInbox(tmp_path / "inbox.sqlite3")
    else:
        made = PostgresInbox(request.getfixturevalue("postgres_url"))
    await made.open()
    try:
        yield made
    finally:
        await made.aclose()


# -- the contract ------------------------------------------------------------------------------


async def test_add_stores_once_per_key(inbox: Inbox) -> None:
    assert await add(inbox, push("O1")) is True
    assert await add(inbox, push("O1"), now=T0 + 5) is False  # a redelivery
    assert await add(inbox, push("O2")) is True
    stored = await inbox.list()
    assert [parse_message(m.body).order_id for m in stored] == ["O2", "O1"]  # type: ignore[attr-defined]
    first = stored[1]
    assert first.status is MessageStatus.PENDING and first.attempts == 0
    assert first.body == push("O1") and first.message_type == "ORDER_PAY_SUCCESS"
    assert first.received_at == T0 and await inbox.get(first.id) == first
    assert await inbox.get(10_000) is None


async def test_a_claim_leases_a_message_to_one_owner_until_the_lease_expires(
    inbox: Inbox,
) -> None:
    await add(inbox, push("O1"))
    await add(inbox, push("O2"))
    [a] = await inbox.claim("A", 1, lease=30, now=T0)
    assert a.attempts == 1 and a.lease_owner == "A" and a.in_flight(T0 + 1)
    [b] = await inbox.claim("B", 5, lease=30, now=T0)
    assert b.id != a.id
    assert await inbox.claim("B", 5, lease=30, now=T0 + 29) == []  # both leased
    stats = await inbox.stats(T0 + 10)
    assert (stats.pending, stats.in_flight, stats.done, stats.dead) == (2, 2, 0, 0)
    assert stats.oldest_pending_age == 10

    await inbox.renew("A", [a.id], T0 + 100)
    assert await inbox.complete("B", a.id, T0 + 40) is False  # not B's
    # B's own lease on b expired at T0 + 30: C takes it over, and B's late outcome is refused.
    [taken] = await inbox.claim("C", 5, lease=30, now=T0 + 40)
    assert taken.id == b.id and taken.attempts == 2
    assert await inbox.complete("B", b.id, T0 + 41) is False
    assert await inbox.complete("C", b.id, T0 + 41) is True
    assert await inbox.complete("A", a.id, T0 + 42) is True
    stats = await inbox.stats(T0 + 50)
    assert (stats.pending, stats.in_flight, stats.done, stats.oldest_pending_age) == (
        0,
        0,
        2,
        None,
    )


async def test_failures_wait_for_their_retry_time_then_die(inbox: Inbox) -> None:
    await add(inbox, push("O1"))
    [m] = await inbox.claim("A", 1, lease=30, now=T0)
    assert await inbox.retry_later("A", m.id, "boom", T0 + 60, dead=False) is True
    assert await inbox.claim("A", 1, lease=30, now=T0 + 59) == []  # not due yet
    [m] = await inbox.claim("A", 1, lease=30, now=T0 + 60)
    assert m.attempts == 2 and m.last_error == "boom"
    assert await inbox.retry_later("A", m.id, "boom again", T0 + 61, dead=True) is True
    assert await inbox.claim("A", 1, lease=30, now=T0 + 1000) == []
    [dead] = await inbox.list(MessageStatus.DEAD)
    assert dead.last_error == "boom again" and dead.attempts == 2
    assert (await inbox.stats(T0 + 1000)).dead == 1

    assert await inbox.replay(dead.id, T0 + 2000) is True
    assert await inbox.replay(dead.id, T0 + 2000) is False  # already pending
    [again] = await inbox.claim("A", 1, lease=30, now=T0 + 2000)
    assert again.id == dead.id and again.attempts == 1


async def test_replay_dead_prune_and_delete(inbox: Inbox) -> None:
    for n in range(4):
        await add(inbox, push(f"O{n}"))
    claimed = await inbox.claim("A", 4, lease=30, now=T0)
    for m in claimed[:2]:
        await inbox.retry_later("A", m.id, "x", T0 + 1, dead=True)
    await inbox.complete("A", claimed[2].id, T0 + 10)
    await inbox.complete("A", claimed[3].id, T0 + 20)
    assert await inbox.replay_dead(T0 + 30) == 2
    assert (await inbox.stats(T0 + 30)).dead == 0
    assert await inbox.prune(done_before=T0 + 15) == 1  # only the one done at T0 + 10
    assert [m.id for m in await inbox.list(MessageStatus.DONE)] == [claimed[3].id]
    assert await inbox.delete(claimed[3].id) is True
    assert await inbox.delete(claimed[3].id) is False
    assert await add(inbox, push("O3")) is True  # a deleted key can be stored again


async def test_a_restarted_single_receiver_takes_its_leases_back(inbox: Inbox) -> None:
    await add(inbox, push("O1"))
    await inbox.claim("crashed", 1, lease=3600, now=T0)
    assert await inbox.claim("new", 1, lease=30, now=T0 + 1) == []
    await inbox.release_all()
    [m] = await inbox.claim("new", 1, lease=30, now=T0 + 1)
    assert m.attempts == 2


@pytest.mark.postgres
async def test_concurrent_postgres_claims_never_share_a_message(postgres_url: str) -> None:
    inboxes = [PostgresInbox(postgres_url, max_size=4) for _ in range(3)]
    for each in inboxes:
        await each.open()  # creating the table concurrently-safe, three times
    try:
        for n in range(300):
            await add(inboxes[0], push(f"O{n}"))
        claims: Counter[int] = Counter()

        async def drain(each: PostgresInbox, owner: str) -> None:
            while batch := await each.claim(owner, 7, lease=60, now=T0 + 1):
                claims.update(m.id for m in batch)

        await asyncio.gather(
            *(drain(each, f"w{i}") for i, each in enumerate(inboxes) for _ in "ab")
        )
        assert len(claims) == 300 and set(claims.values()) == {1}
    finally:
        for each in inboxes:
            await each.aclose()


def test_open_inbox_picks_the_backend(tmp_path: Path) -> None:
    assert isinstance(open_inbox(str(tmp_path / "x.sqlite3")), SQLiteInbox)
    assert isinstance(open_inbox("postgresql://u@127.0.0.1/db"), PostgresInbox)
    assert isinstance(open_inbox(":memory:"), MemoryInbox)
    mine = MemoryInbox()
    assert open_inbox(mine) is mine
    assert "secret" not in repr(open_inbox("postgresql://u:secret@127.0.0.1/db"))


def test_retry_delay_doubles_up_to_the_maximum() -> None:
    delays = [retry_delay(n, initial=1.0, maximum=60.0) for n in range(1, 9)]
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60]
    assert retry_delay(10_000, initial=1.0, maximum=60.0) == 60


# -- the dispatcher ----------------------------------------------------------------------------


async def test_a_handler_failing_twice_succeeds_on_the_third_attempt(inbox: Inbox) -> None:
    attempts: Counter[str] = Counter()

    async def flaky(message: Message) -> None:
        assert isinstance(message, OrderMessage) and message.order_id is not None
        attempts[message.order_id] += 1
        if attempts[message.order_id] < 3:
            raise RuntimeError(f"attempt {attempts[message.order_id]} fails")

    dispatcher = Dispatcher(inbox, flaky, max_attempts=3, initial_retry_delay=0.01)
    for n in range(5):
        await add(inbox, push(f"O{n}"), now=0)
    await dispatcher.start()
    try:
        await dispatcher.join()
    finally:
        await dispatcher.aclose()
    assert attempts == {f"O{n}": 3 for n in range(5)}
    assert dispatcher.failed == 10 and dispatcher.handled == 5
    done = await inbox.list(MessageStatus.DONE)
    assert len(done) == 5 and all(m.attempts == 3 for m in done)


async def test_a_handler_that_always_fails_ends_dead_and_a_replay_succeeds(inbox: Inbox) -> None:
    broken = True
    handled: list[Message] = []

    async def handler(message: Message) -> None:
        if broken:
            raise ValueError("the database is down")
        handled.append(message)

    dispatcher = Dispatcher(inbox, handler, max_attempts=3, initial_retry_delay=0.01)
    await add(inbox, push("O1"), now=0)
    await dispatcher.start()
    try:
        await dispatcher.join()
        [dead] = await inbox.list(MessageStatus.DEAD)
        assert dead.attempts == 3 and dead.last_error == "ValueError: the database is down"
        assert handled == []

        broken = False
        assert await inbox.replay(dead.id, 0) is True
        await dispatcher.join()
    finally:
        await dispatcher.aclose()
    assert [m.order_id for m in handled] == ["O1"]  # type: ignore[attr-defined]
    assert (await inbox.get(dead.id)).status is MessageStatus.DONE  # type: ignore[union-attr]


async def test_the_dispatcher_bounds_concurrency(inbox: Inbox) -> None:
    running = peak = 0
    release = asyncio.Event()

    async def slow(message: Message) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await release.wait()
        running -= 1

    dispatcher = Dispatcher(inbox, slow, max_concurrency=3)
    for n in range(10):
        await add(inbox, push(f"O{n}"), now=0)
    await dispatcher.start()
    try:
        while dispatcher.running < 3:  # noqa: ASYNC110 (waiting for the claims)
            await asyncio.sleep(0.01)
        assert (await dispatcher.stats()).in_flight == 3
        release.set()
        await dispatcher.join()
    finally:
        await dispatcher.aclose()
    assert peak == 3 and dispatcher.handled == 10


# -- the receiver over HTTP --------------------------------------------------------------------


@contextlib.asynccontextmanager
async def running_app(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}{PATH}"
    finally:
        await runner.cleanup()


class FailingInbox(MemoryInbox):
    """An inbox whose disk is full."""

    async def add(self, key: str, message_type: str, body: bytes, now: float) -> bool:
        raise OSError(28, "No space left on device")


async def test_a_push_is_stored_before_the_200_and_redeliveries_are_not_stored_twice(
    tmp_path: Path,
) -> None:
    seen: list[int] = []
    gate = asyncio.Event()
    path = tmp_path / "inbox.sqlite3"

    async def handler(message: Message) -> None:
        await gate.wait()  # still running when the 200s come back
        seen.append(1)

    app = create_webhook_app(handler, inbox=str(path))
    async with running_app(app) as url, aiohttp.ClientSession() as session:
        for _ in range(2):
            async with session.post(url, data=push("O1")) as response:
                assert response.status == 200 and await response.text() == "success"
                # Committed: another connection to the file sees it already.
                check = SQLiteInbox(path)
                await check.open()
                assert len(await check.list()) == 1
                await check.aclose()
        gate.set()
        await app[RECEIVER_KEY].join()
        stats = app[RECEIVER_KEY].stats
    assert (stats.accepted, stats.duplicates, stats.handled) == (1, 1, 1)
    assert seen == [1]


async def test_a_store_that_cannot_be_written_answers_503() -> None:
    async def handler(message: Message) -> None:
        raise AssertionError("nothing was stored, so nothing may run")

    app = create_webhook_app(handler, inbox=FailingInbox())
    async with (
        running_app(app) as url,
        aiohttp.ClientSession() as session,
        session.post(url, data=push("O1")) as response,
    ):
        assert response.status == 503
    assert app[RECEIVER_KEY].stats.refused == 1


async def test_a_receiver_that_only_stores_and_a_later_one_that_handles(tmp_path: Path) -> None:
    path = str(tmp_path / "inbox.sqlite3")
    app = create_webhook_app(None, inbox=path)
    async with running_app(app) as url, aiohttp.ClientSession() as session:
        for n in range(3):
            async with session.post(url, data=push(f"O{n}")) as response:
                assert response.status == 200
    handled: list[str | None] = []

    async def handler(message: Message) -> None:
        handled.append(message.order_id)  # type: ignore[attr-defined]

    later = create_webhook_app(handler, inbox=path)
    async with running_app(later):
        await later[RECEIVER_KEY].join()
    assert sorted(handled) == ["O0", "O1", "O2"]  # type: ignore[type-var]


def test_an_inbox_needs_no_dedupe_and_no_inbox_needs_a_handler() -> None:
    from xportcn_async.webhooks import MemoryDedupeStore

    with pytest.raises(ValueError, match="not both"):
        create_webhook_app(None, inbox=MemoryInbox(), dedupe=MemoryDedupeStore())
    with pytest.raises(ValueError, match="on_message is required"):
        create_webhook_app(None)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_sandbox_pushes_create_pay_and_cancel_through_a_durable_inbox(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    target = (
        str(tmp_path / "inbox.sqlite3")
        if backend == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    received: list[Message] = []
    fail_once = {MessageType.ORDER_PAY_SUCCESS}

    async def handler(message: Message) -> None:
        if message.type in fail_once:  # the payment handler fails once: it is retried
            fail_once.discard(message.type)
            raise ConnectionError("the shop database blinked")
        received.append(message)

    app = create_webhook_app(handler, inbox=target, initial_retry_delay=0.01)
    async with (
        running_app(app) as url,
        serve(port=0) as running,
        MessagePusher(running.sandbox, url, deliveries_per_message=2) as pusher,
        XportcnClient(running.credentials, base_url=running.base_url) as client,
    ):
        paid, cancelled = await pay_one_order_and_create_another(client)
        sandbox_ka.ka_state(running.sandbox).cancel_order(cancelled.order_id, "changed mind")
        await pusher.flush()
        await app[RECEIVER_KEY].join()
        stats = await app[RECEIVER_KEY].inbox.stats(0)  # type: ignore[union-attr]

    assert all(d.ok for d in pusher.deliveries) and len(pusher.deliveries) == 8
    assert app[RECEIVER_KEY].stats.duplicates == 4
    assert (stats.done, stats.pending, stats.dead) == (4, 0, 0)
    by_type: Callable[[Message], Any] = lambda m: (m.type, m.order_id)  # type: ignore[attr-defined]  # noqa: E731
    assert sorted(map(by_type, received), key=str) == sorted(
        [
            (MessageType.ORDER_CREATE, paid.order_id),
            (MessageType.ORDER_PAY_SUCCESS, paid.order_id),
            (MessageType.ORDER_CREATE, cancelled.order_id),
            (MessageType.ORDER_CANCEL, cancelled.order_id),
        ],
        key=str,
    )


# -- found in review: double handling, stuck leases, 503s, retention ----------------------------


async def wait_for_condition(check: Callable[[], Awaitable[bool]]) -> None:
    while not await check():  # noqa: ASYNC110 (polling the store)
        await asyncio.sleep(0.01)


async def test_a_lease_that_expired_under_a_running_handler_does_not_start_it_twice(
    inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [T0]
    monkeypatch.setattr(dispatcher_module, "now", lambda: clock[0])
    started: list[str | None] = []
    release = asyncio.Event()

    async def slow(message: Message) -> None:
        started.append(message.order_id)  # type: ignore[attr-defined]
        await release.wait()

    dispatcher = Dispatcher(inbox, slow, lease=30, poll_interval=0.01)
    await add(inbox, push("O1"), now=T0)
    await dispatcher.start()
    try:
        await wait_for_condition(lambda: _true(bool(started)))
        [stored] = await inbox.list()
        clock[0] = T0 + 100  # the renewal came too late: the lease expired, the handler runs on
        dispatcher.wake()

        async def claimed_again() -> bool:
            again = await inbox.get(stored.id)
            return again is not None and again.attempts == 2

        await wait_for_condition(claimed_again)
        for _ in range(5):
            await asyncio.sleep(0)  # a second handler, if one was started, runs now
        assert started == ["O1"]
        release.set()
        await dispatcher.join()
    finally:
        await dispatcher.aclose()
    assert started == ["O1"] and dispatcher.handled == 1
    assert (await inbox.get(stored.id)).status is MessageStatus.DONE  # type: ignore[union-attr]


async def _true(value: bool) -> bool:
    return value


async def test_a_second_sqlite_dispatcher_leaves_a_live_ones_leases_alone(tmp_path: Path) -> None:
    path = tmp_path / "inbox.sqlite3"
    first, second = SQLiteInbox(path), SQLiteInbox(path)  # two processes' connections
    started: list[str | None] = []
    release = asyncio.Event()

    async def slow(message: Message) -> None:
        started.append(message.order_id)  # type: ignore[attr-defined]
        await release.wait()

    await first.open()
    await second.open()
    a, b = Dispatcher(first, slow), Dispatcher(second, slow)
    try:
        await add(first, push("O1"), now=inbox_now())
        await a.start()
        await wait_for_condition(lambda: _true(bool(started)))
        await b.start()  # "recovering" what it takes for a crashed predecessor's leases
        assert await second.claim("probe", 10, lease=30, now=inbox_now()) == []
        release.set()
        await a.join()
    finally:
        await b.aclose()
        await a.aclose()
        await first.aclose()
        await second.aclose()
    assert started == ["O1"]


async def test_a_crashed_sqlite_dispatchers_leases_are_recovered_at_once(tmp_path: Path) -> None:
    path = tmp_path / "inbox.sqlite3"
    crashed = SQLiteInbox(path)
    await crashed.open()
    await add(crashed, push("O1"), now=inbox_now())
    [held] = await crashed.claim("crashed", 1, lease=3600, now=inbox_now())
    await crashed.aclose()  # the process is gone: its lock with it, its lease still stored
    handled: list[int] = []

    async def handler(message: Message) -> None:
        handled.append(1)

    restarted = SQLiteInbox(path)
    await restarted.open()
    dispatcher = Dispatcher(restarted, handler)
    try:
        await dispatcher.start()
        await dispatcher.join()
    finally:
        await dispatcher.aclose()
        await restarted.aclose()
    assert handled == [1] and held.lease_owner == "crashed"


async def test_a_locked_or_full_sqlite_file_is_answered_503_never_200(tmp_path: Path) -> None:
    path = tmp_path / "inbox.sqlite3"
    inbox = SQLiteInbox(path, busy_timeout=0.05)
    app = create_webhook_app(None, inbox=inbox)
    big = json.loads(push("O2"))
    big["messageBody"] = json.dumps({"orderId": "O2", "note": "x" * 40_000})
    async with running_app(app) as url, aiohttp.ClientSession() as session:

        async def post(body: bytes) -> int:
            async with session.post(url, data=body) as response:
                return response.status

        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # `xportcn webhooks inbox replay` holding the file
        assert await post(push("O1")) == 503
        blocker.execute("ROLLBACK")
        blocker.close()
        assert await post(push("O1")) == 200

        def fill_the_disk(db: sqlite3.Connection) -> None:
            (pages,) = db.execute("PRAGMA page_count").fetchone()
            db.execute(f"PRAGMA max_page_count = {pages}")

        await inbox._run(lambda: fill_the_disk(inbox._conn()))
        assert await post(json.dumps(big).encode()) == 503
        await inbox._run(lambda: inbox._conn().execute("PRAGMA max_page_count = 1000000"))
        assert await post(json.dumps(big).encode()) == 200
    assert app[RECEIVER_KEY].stats.refused == 2
    check = SQLiteInbox(path)
    await check.open()
    try:
        assert len(await check.list()) == 2
    finally:
        await check.aclose()
    await inbox.aclose()


async def test_done_messages_are_kept_seven_days_then_pruned_and_nothing_else_is(
    inbox: Inbox,
) -> None:
    day = 86_400.0
    t = inbox_now()
    for n in range(4):
        await add(inbox, push(f"O{n}"), now=t - 30 * day)
    old_done, young_done, dead, in_flight = await inbox.claim(
        "A", 4, lease=60 * day, now=t - 30 * day
    )
    await inbox.complete("A", old_done.id, t - 8 * day)
    await inbox.complete("A", young_done.id, t - 6 * day)
    await inbox.retry_later("A", dead.id, "x", t - 29 * day, dead=True)

    async def handler(message: Message) -> None:
        pass

    dispatcher = Dispatcher(inbox, handler, recover_leases=False)
    assert dispatcher.retention == 7 * day
    await dispatcher.start()  # prunes at once, then every prune_interval
    try:
        await wait_for_condition(lambda: _gone(inbox, old_done.id))
    finally:
        await dispatcher.aclose()
    kept = {m.id: m.status for m in await inbox.list()}
    assert old_done.id not in kept
    assert kept[young_done.id] is MessageStatus.DONE and kept[dead.id] is MessageStatus.DEAD
    assert in_flight.id in kept  # still leased (for 60 days): never pruned
    assert len(kept) == 3


async def _gone(inbox: Inbox, id: int) -> bool:
    return await inbox.get(id) is None


def test_a_failed_renewal_is_retried_before_the_leases_run_out() -> None:
    dispatcher = Dispatcher(MemoryInbox(), _no_op, lease=30.0, poll_interval=1.0)
    renew_period = dispatcher.lease / 3
    pauses = [dispatcher._pause_after_failure(n, renew_period) for n in range(1, 10)]
    assert max(pauses) <= renew_period
    # The other steps keep their back-off (up to 30 s) while the store is down.
    assert dispatcher._pause_after_failure(9, None) == 30.0


async def _no_op(message: Message) -> None:
    pass


async def test_an_unreadable_message_whose_outcome_cannot_be_stored_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class DownInbox(MemoryInbox):
        async def retry_later(
            self, owner: str, id: int, error: str, at: float, *, dead: bool
        ) -> bool:
            raise OSError(28, "No space left on device")

    inbox = DownInbox()
    await inbox.add("k", "ORDER_PAY_SUCCESS", b"not JSON (stored by an older parser)", 0)
    [stored] = await inbox.claim("A", 1, lease=30, now=0)
    dispatcher = Dispatcher(inbox, _no_op)
    await dispatcher._handle(stored)  # raised the OSError, unlogged, before the fix
    assert "could not record message 1's outcome" in caplog.text


async def test_a_retry_claimed_while_the_last_outcome_is_recorded_runs_at_once() -> None:
    recorded, proceed = asyncio.Event(), asyncio.Event()

    class SlowToRecord(MemoryInbox):
        async def retry_later(
            self, owner: str, id: int, error: str, at: float, *, dead: bool
        ) -> bool:
            held = await super().retry_later(owner, id, error, at, dead=dead)
            recorded.set()  # committed: the message is due again (no back-off)
            await proceed.wait()
            return held

    calls: list[int] = []

    async def fails_once(message: Message) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first attempt fails")

    inbox = SlowToRecord()
    dispatcher = Dispatcher(inbox, fails_once, initial_retry_delay=0, poll_interval=0.01)
    await add(inbox, push("O1"), now=0)
    await dispatcher.start()
    try:
        await recorded.wait()

        async def claimed_again() -> bool:
            [m] = await inbox.list()
            return m.attempts == 2

        await wait_for_condition(claimed_again)  # while the first task is still recording
        proceed.set()
        await dispatcher.join()
    finally:
        await dispatcher.aclose()
    [m] = await inbox.list()
    assert calls == [1, 1] and m.status is MessageStatus.DONE and m.attempts == 2
