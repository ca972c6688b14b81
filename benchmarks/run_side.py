"""One run of one side, in this fresh process (started by the benchmark scripts).

Builds the orders (for the sandbox: previews them first, so that each booking is the first
booking of a real render), then, on one session, books ``--warmup`` orders (connections set
up, code paths warm) and times the booking of ``--count`` more. Prints one JSON line: wall
seconds, this process's CPU seconds (all threads, ``time.process_time``), the server
process's and the rest of the machine's CPU seconds, all over the timed part only.

    python benchmarks/run_side.py --side sdk-aiohttp --url URL --server stub --server-pid PID
                                  --count N --warmup W --concurrency C --tag T
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
from typing import Any

from _common import CREDENTIALS, machine_busy_seconds, order_dicts, process_cpu_seconds
from sides import Side, parse_side

from xportcn_async import BookingRequest, XportcnClient, from_wire, wirejson

PREVIEW_CONCURRENCY = 200


async def previewed(base_url: str, orders: list[dict[str, Any]]) -> None:
    """Give every order the ``renderId`` of a fresh freight preview (untimed set-up)."""
    async with XportcnClient(
        CREDENTIALS, base_url=base_url, connection_limit=PREVIEW_CONCURRENCY
    ) as client:
        logistics = client.logistics
        slots = asyncio.Semaphore(PREVIEW_CONCURRENCY)

        async def one(order: dict[str, Any]) -> None:
            request = from_wire({k: v for k, v in order.items() if k != "renderId"}, BookingRequest)
            async with slots:
                preview = await logistics.preview_freight(logistics.preview_for(request))
            order["renderId"] = preview.render_id

        await asyncio.gather(*(one(o) for o in orders))


async def measure(
    side: Side, args: argparse.Namespace, warm: list[Any], timed: list[Any]
) -> dict[str, float]:
    async with side.opener()(args.url, CREDENTIALS, args.concurrency) as book_all:
        await book_all(warm)
        busy0, server0 = machine_busy_seconds(), process_cpu_seconds(args.server_pid)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await book_all(timed)
        wall1, cpu1 = time.perf_counter(), time.process_time()
        server1, busy1 = process_cpu_seconds(args.server_pid), machine_busy_seconds()
    client, server = cpu1 - cpu0, server1 - server0
    return {
        "seconds": wall1 - wall0,
        "client_cpu": client,
        "server_cpu": server,
        "other_cpu": max(0.0, busy1 - busy0 - client - server) if busy1 else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--server", choices=("stub", "sandbox"), required=True)
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--warmup", type=int, required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--tag", default="0", help="keeps the orders of runs apart")
    parser.add_argument("--build", type=int, help="orders to build (default: warm-up + count)")
    args = parser.parse_args()

    side = parse_side(args.side)
    built = max(args.build or 0, args.warmup + args.count)
    orders = list(order_dicts(built, tag=args.tag))
    if args.server == "sandbox":
        asyncio.run(previewed(args.url, orders))
    inputs = side.prepare(orders)
    del orders
    # Set-up objects out of the collector's reach: they weigh on no side's timed part.
    gc.collect()
    gc.freeze()
    warm, timed = inputs[: args.warmup], inputs[args.warmup : args.warmup + args.count]
    result: dict[str, object] = {**side.run(measure(side, args, warm, timed))}
    result["json_library"] = wirejson.library
    print(json.dumps(result))


if __name__ == "__main__":
    main()
