"""Crash tests of the durable inbox: receiver processes are SIGKILLed while a client pushes a
few thousand distinct messages (retrying what was not answered 200, as Xportcn does).

- Every push that got a 200 is handled at least once.
- A push handled more than once was in flight (its handler started) in a process that was
  then killed.
- The inbox holds each push once.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import socket
import sys
from collections import defaultdict
from pathlib import Path

import aiohttp
import pytest

from xportcn_async.webhooks import Inbox, PostgresInbox, SQLiteInbox

RECEIVER = Path(__file__).resolve().parent / "webhook_crash_receiver.py"
PATH = "/xportcn/messages"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def push(order_id: str) -> bytes:
    body = {"orderId": order_id, "orderStatus": "WAITING_FOR_SENT", "totalAmount": 100}
    return json.dumps(
        {"messageType": "ORDER_PAY_SUCCESS", "messageBody": json.dumps(body), "timestamp": "1"}
    ).encode()


class Receiver:
    """One receiver process (tests/webhook_crash_receiver.py) on a fixed port."""

    def __init__(self, inbox: str, log: Path, lease: float) -> None:
        self.inbox, self.log, self.lease = inbox, log, lease
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None
        self.killed: set[int] = set()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(RECEIVER),
            self.inbox,
            str(self.port),
            str(self.log),
            str(self.lease),
            stdout=asyncio.subprocess.PIPE,
        )
        assert self.process.stdout is not None
        assert await self.process.stdout.readline() == b"ready\n"

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        self.killed.add(self.process.pid)
        # In the handlers' log, after every line the killed process wrote and before any
        # line of a process started later: the check can tell what was in flight at a kill.
        with self.log.open("a") as log:
            log.write(f"kill {self.process.pid} -\n")

    async def stop(self) -> None:
        if self.alive:
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)
            assert await self.process.wait() == 0


async def push_all(receivers: list[Receiver], count: int, acked: list[str]) -> None:
    """POST every push until it is answered 200, round robin over the live receivers."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(f"P{n:05d}")
    turn = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal turn
        while not queue.empty():
            order_id = queue.get_nowait()
            while True:
                live = [r for r in receivers if r.alive] or receivers
                turn += 1
                url = f"http://127.0.0.1:{live[turn % len(live)].port}{PATH}"
                try:
                    async with session.post(url, data=push(order_id)) as response:
                        if response.status == 200:
                            acked.append(order_id)
                            break
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    pass
                await asyncio.sleep(0.02)  # down or refused: Xportcn retries later

    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await asyncio.gather(*(worker(session) for _ in range(32)))


async def wait_until_handled(inbox: Inbox, count: int) -> None:
    await inbox.open()
    try:
        while True:
            stats = await inbox.stats(0)
            if stats.pending == 0 and stats.done + stats.dead >= count:
                assert stats.dead == 0 and stats.done == count
                return
            await asyncio.sleep(0.1)
    finally:
        await inbox.aclose()


def check_log(log: Path, acked: list[str], killed: set[int]) -> int:
    """The guarantees, from the handlers' own log; returns how many pushes ran twice.

    A push may only start again once the process running it before has been killed: a
    handling that starts while an earlier one's process is still alive would be a message
    handed to two live dispatchers (or twice to one)."""
    starts: dict[str, list[int]] = defaultdict(list)
    done: set[str] = set()
    dead: set[int] = set()
    for line in log.read_text().splitlines():
        event, pid, order_id = line.split()
        if event == "kill":
            dead.add(int(pid))
        elif event == "start":
            earlier = starts[order_id]
            assert set(earlier) <= dead, f"{order_id} started in {pid} while {earlier} lived"
            earlier.append(int(pid))
        else:
            done.add(order_id)
    assert dead == killed
    assert len(set(acked)) == len(acked)
    missing = set(acked) - done
    assert not missing, f"{len(missing)} acknowledged pushes never handled"
    return sum(1 for pids in starts.values() if len(pids) > 1)


def test_the_log_check_catches_a_push_handed_out_twice_while_alive(tmp_path: Path) -> None:
    log = tmp_path / "handled.log"
    log.write_text("start 1 P1\nstart 2 P1\ndone 2 P1\nkill 1 -\n")
    with pytest.raises(AssertionError, match="P1 started in 2 while"):
        check_log(log, ["P1"], {1})
    log.write_text("start 1 P1\nkill 1 -\nstart 2 P1\ndone 2 P1\n")
    assert check_log(log, ["P1"], {1}) == 1
    with pytest.raises(AssertionError, match="never handled"):
        check_log(log, ["P1", "P2"], {1})


async def test_sqlite_inbox_survives_sigkills(tmp_path: Path) -> None:
    count = 3000
    path = tmp_path / "inbox.sqlite3"
    log = tmp_path / "handled.log"
    receiver = Receiver(str(path), log, lease=30.0)
    acked: list[str] = []
    kills = sorted(random.Random(11).sample(range(300, count - 300), 3))

    async def killer() -> None:
        for at in kills:
            while len(acked) < at:  # noqa: ASYNC110 (following the client's progress)
                await asyncio.sleep(0.005)
            await receiver.kill()
            await receiver.start()  # the same file: what was in flight runs again

    await receiver.start()
    try:
        await asyncio.gather(push_all([receiver], count, acked), killer())
        await wait_until_handled(SQLiteInbox(path), count)
    finally:
        await receiver.stop()
    assert len(receiver.killed) == 3
    # At most a dispatcher's worth of handlers (max_concurrency 16) was in flight at each kill.
    assert check_log(log, acked, receiver.killed) <= 16 * 3
    assert len(acked) == count


@pytest.mark.postgres
async def test_two_receivers_on_one_postgres_inbox_one_killed(
    tmp_path: Path, postgres_url: str
) -> None:
    count = 2000
    log = tmp_path / "handled.log"
    # A short lease, so that the survivor takes the killed receiver's messages over quickly;
    # long enough that a receiver stalled by a loaded machine keeps its leases (renewed every
    # lease / 3) and no live receiver's message is taken over.
    receivers = [Receiver(postgres_url, log, lease=5.0) for _ in range(2)]
    acked: list[str] = []

    async def killer() -> None:
        while len(acked) < count // 2:  # noqa: ASYNC110 (following the client's progress)
            await asyncio.sleep(0.005)
        await receivers[0].kill()  # not restarted

    for r in receivers:
        await r.start()
    try:
        await asyncio.gather(push_all(receivers, count, acked), killer())
        await wait_until_handled(PostgresInbox(postgres_url), count)
    finally:
        for r in receivers:
            await r.stop()
    assert check_log(log, acked, receivers[0].killed) <= 16
    assert len(acked) == count
