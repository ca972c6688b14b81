"""Where an SQLite inbox acknowledgement's time goes, without HTTP: ``SQLiteInbox.add`` at a
paced rate in one process, with a dispatcher running a no-op handler on the same inbox (as a
receiver does). Prints the add latency (what a push's 200 waits for) beside the time the
inbox thread spends in its transactions (the commit and, with FULL, the fsync), how many
transactions a second, and how many writes each carries (the group commit).

    python benchmarks/profile_webhook_inbox_ack.py FULL [--rate 500] [--seconds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from xportcn_async.webhooks import Dispatcher, Message, SQLiteInbox, parse_message


def _ms(values: list[float], q: float) -> float:
    return 1000 * sorted(values)[int(q * (len(values) - 1))]


async def _profile(synchronous: Any, rate: float, seconds: float) -> str:
    inbox = SQLiteInbox(Path(tempfile.mkdtemp()) / "inbox.sqlite3", synchronous=synchronous)
    await inbox.open()
    spans: list[float] = []
    sizes: list[int] = []
    transaction = inbox._transaction

    def timed(ops: list[Any]) -> list[Any]:
        started = time.perf_counter()
        try:
            return transaction(ops)
        finally:
            spans.append(time.perf_counter() - started)
            sizes.append(len(ops))

    inbox._transaction = timed  # type: ignore[method-assign]

    async def handler(message: Message) -> None:
        pass

    dispatcher = Dispatcher(inbox, handler)
    await dispatcher.start()
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    latencies: list[float] = []

    async def one(n: int) -> None:
        due = start + n / rate
        await asyncio.sleep(max(0.0, due - loop.time()))
        body = json.dumps(
            {"messageType": "ORDER_PAY_SUCCESS", "messageBody": json.dumps({"orderId": f"{n}"})}
        ).encode()
        message = parse_message(body)
        await inbox.add(message.key, message.type.value, body, time.time())
        latencies.append(loop.time() - due)

    try:
        await asyncio.gather(*(one(n) for n in range(int(rate * seconds))))
        await dispatcher.join()
    finally:
        await dispatcher.aclose()
        await inbox.aclose()
    return (
        f"{synchronous:<6} add p50 {_ms(latencies, 0.5):.1f} ms, p99 {_ms(latencies, 0.99):.1f} "
        f"ms, max {_ms(latencies, 1):.1f} ms | {len(spans) / seconds:.0f} transactions/s, "
        f"{statistics.fmean(sizes):.1f} writes each, p50 {_ms(spans, 0.5):.1f} ms, p99 "
        f"{_ms(spans, 0.99):.1f} ms; the inbox thread in transactions "
        f"{100 * sum(spans) / seconds:.0f}% of the time"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("synchronous", choices=["FULL", "NORMAL"])
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    print(asyncio.run(_profile(args.synchronous, args.rate, args.seconds)))


if __name__ == "__main__":
    main()
