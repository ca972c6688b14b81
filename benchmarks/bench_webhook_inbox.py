"""Webhook receiver: acknowledgement latency and accepted pushes per second, with the durable
inbox (SQLite FULL and NORMAL, PostgreSQL) against the in-memory receiver, in one run.

Each receiver runs in a process of its own (``--serve``), with a no-op handler, behind
``WebhookServer``; this process is the load generator.

- *paced*: an open-loop load of ``--rate`` distinct pushes a second for ``--seconds``; each
  push's latency runs from its scheduled time to its 200 (so queueing counts).
- *flat out*: ``--concurrency`` clients posting back to back for ``--seconds``: accepted
  pushes per second.

    python benchmarks/bench_webhook_inbox.py                 # 500/s for 10 s, flat out 5 s
    python benchmarks/bench_webhook_inbox.py --smoke         # a second of each, to check it runs

PostgreSQL is measured when ``XPORTCN_BENCH_POSTGRES_URL`` or ``XPORTCN_TEST_POSTGRES_URL``
is set (a superuser URL: a throwaway database is created and dropped).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

PATH = "/xportcn/messages"


def _push(n: int, run: str) -> bytes:
    body = {"orderId": f"{run}-{n}", "orderStatus": "WAITING_FOR_SENT", "totalAmount": 6561}
    return json.dumps(
        {
            "messageType": "ORDER_PAY_SUCCESS",
            "messageBody": json.dumps(body),
            "messagePlatform": 1,
            "timestamp": "1779263269913",
        }
    ).encode()


# -- the receiver process ---------------------------------------------------------------------


async def _serve(inbox: str, port: int, synchronous: str) -> None:
    from xportcn_async.webhooks import Message, SQLiteInbox, WebhookServer, create_webhook_app

    async def handler(message: Message) -> None:
        pass

    target: Any = None
    if inbox == "sqlite":
        target = SQLiteInbox(Path(tempfile.mkdtemp()) / "inbox.sqlite3", synchronous=synchronous)  # type: ignore[arg-type]
    elif inbox != "memory":
        target = inbox
    app = create_webhook_app(handler, inbox=target, max_pending=1_000_000)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with WebhookServer(app, port=port):
        print("ready", flush=True)
        await stop.wait()
    if target is not None and not isinstance(target, str):
        await target.aclose()


# -- the load generator -----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def _paced(url: str, rate: float, seconds: float, run: str) -> dict[str, Any]:
    latencies: list[float] = []
    failures = 0
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as session:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.05
        count = int(rate * seconds)

        async def one(n: int) -> None:
            nonlocal failures
            due = start + n / rate
            await asyncio.sleep(max(0.0, due - loop.time()))
            try:
                async with session.post(url, data=_push(n, run)) as response:
                    await response.read()
                    if response.status != 200:
                        failures += 1
                        return
            except aiohttp.ClientError:
                failures += 1
                return
            latencies.append(loop.time() - due)

        await asyncio.gather(*(one(n) for n in range(count)))
        elapsed = loop.time() - start
    return {
        "rate": rate,
        "sent": count,
        "failed": failures,
        "p50_ms": 1000 * _pct(latencies, 0.50),
        "p99_ms": 1000 * _pct(latencies, 0.99),
        "max_ms": 1000 * max(latencies, default=float("nan")),
        "mean_ms": 1000 * statistics.fmean(latencies) if latencies else float("nan"),
        "achieved_per_s": len(latencies) / elapsed,
    }


async def _flat_out(url: str, concurrency: int, seconds: float, run: str) -> dict[str, Any]:
    done = 0
    counter = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds

        async def worker() -> None:
            nonlocal done, counter
            while loop.time() < end:
                counter += 1
                async with session.post(url, data=_push(counter, run)) as response:
                    await response.read()
                    done += response.status == 200

        start = loop.time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = loop.time() - start
    return {"concurrency": concurrency, "accepted_per_s": done / elapsed}


async def _admin(url: str, statement: str) -> None:
    import asyncpg  # type: ignore[import-untyped,unused-ignore]

    connection = await asyncpg.connect(url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _cpus(text: str | None) -> set[int] | None:
    return None if text is None else {int(c) for c in text.split(",")}


def _measure(inbox: str, synchronous: str, args: argparse.Namespace) -> dict[str, Any]:
    port = _free_port()
    receiver_cpus = _cpus(args.receiver_cpus)
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", inbox, str(port), synchronous],
        stdout=subprocess.PIPE,
        preexec_fn=None
        if receiver_cpus is None
        else lambda: os.sched_setaffinity(0, receiver_cpus),
    )
    try:
        assert process.stdout is not None and process.stdout.readline() == b"ready\n"
        url = f"http://127.0.0.1:{port}{PATH}"
        run = uuid.uuid4().hex[:8]
        paced = asyncio.run(_paced(url, args.rate, args.seconds, run))
        flat = asyncio.run(_flat_out(url, args.concurrency, args.flat_seconds, run + "f"))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    return {**paced, **flat}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        asyncio.run(_serve(sys.argv[2], int(sys.argv[3]), sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--flat-seconds", type=float, default=5.0)
    parser.add_argument("--smoke", action="store_true", help="tiny loads: check it runs")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--receiver-cpus", help="pin the receivers to these CPUs (comma-separated, Linux)"
    )
    parser.add_argument("--client-cpus", help="pin the load generator to these CPUs")
    args = parser.parse_args()
    client_cpus = _cpus(args.client_cpus)
    if client_cpus is not None:
        os.sched_setaffinity(0, client_cpus)
    load_before = os.getloadavg()
    if args.smoke:
        args.rate, args.seconds, args.concurrency, args.flat_seconds = 50.0, 0.5, 4, 0.5

    admin = os.environ.get("XPORTCN_BENCH_POSTGRES_URL") or os.environ.get(
        "XPORTCN_TEST_POSTGRES_URL"
    )
    setups = [("memory (not durable)", "memory", "-")]
    setups += [("SQLite FULL", "sqlite", "FULL"), ("SQLite NORMAL", "sqlite", "NORMAL")]
    database = f"xportcn_bench_{uuid.uuid4().hex[:8]}"
    if admin:
        asyncio.run(_admin(admin, f'CREATE DATABASE "{database}"'))
        setups.append(
            ("PostgreSQL", urlunsplit(urlsplit(admin)._replace(path=f"/{database}")), "-")
        )
    results: dict[str, dict[str, Any]] = {}
    try:
        for name, inbox, synchronous in setups:
            results[name] = _measure(inbox, synchronous, args)
    finally:
        if admin:
            asyncio.run(_admin(admin, f'DROP DATABASE "{database}" WITH (FORCE)'))

    load = {"before": load_before, "after": os.getloadavg()}
    if args.json:
        print(json.dumps({"load_average": load, "results": results}, indent=2))
        return
    print(
        f"paced {args.rate:g} pushes/s for {args.seconds:g} s; flat out {args.concurrency} "
        f"clients for {args.flat_seconds:g} s; {os.cpu_count()} CPUs; receivers on CPUs "
        f"{args.receiver_cpus or 'any'}, load generator on {args.client_cpus or 'any'}; "
        f"load average (1, 5, 15 min) before {_loads(load_before)}, after "
        f"{_loads(load['after'])}"
    )
    print(f"{'receiver':<22}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}{'failed':>8}{'flat/s':>9}")
    base = results["memory (not durable)"]["accepted_per_s"]
    for name, r in results.items():
        print(
            f"{name:<22}{r['p50_ms']:>8.1f}{r['p99_ms']:>8.1f}{r['max_ms']:>8.1f}"
            f"{r['failed']:>8}{r['accepted_per_s']:>9.0f}  ({r['accepted_per_s'] / base:.2f}x)"
        )
    if not admin:
        print("PostgreSQL: not measured (set XPORTCN_BENCH_POSTGRES_URL)")


def _loads(values: tuple[float, float, float]) -> str:
    return " ".join(f"{v:.1f}" for v in values)


if __name__ == "__main__":
    main()
