"""Benchmark 3: per-call SDK overhead (CPU time of sign + encode + decode per booking).

The client books through an in-memory transport that returns the recorded booking reply, so
only the SDK's own work is measured, without any HTTP. The baseline is ``json.dumps`` of the
same request dict plus ``json.loads`` of the same reply: the least any client must do.
Target: below 60 µs per call.

    python benchmarks/bench_overhead.py [--calls 20000] [--orjson] [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time

# The SDK reads its JSON library when it is imported: the standard library (the default
# set-up), or orjson with --orjson, whether orjson happens to be installed or not.
os.environ["XPORTCN_JSON"] = "orjson" if "--orjson" in sys.argv else "stdlib"

from _common import CREDENTIALS, order_dicts, smoke_note, verdict
from stub_server import REPLY_FILE

from xportcn_async import (
    BookingRequest,
    InMemoryTransport,
    Request,
    Response,
    XportcnClient,
    from_wire,
    wirejson,
)

TARGET_US = 60.0
REPLY = Response.json(json.loads(REPLY_FILE.read_bytes()))


async def canned(_: Request) -> Response:
    return REPLY


async def sdk(orders: list[dict[str, object]], warmup: int) -> float:
    requests = [from_wire(o, BookingRequest) for o in orders]
    transport = InMemoryTransport(canned, record=False)
    async with XportcnClient(CREDENTIALS, transport=transport) as client:
        for r in requests[:warmup]:
            await client.logistics.book(r)
        start = time.process_time()
        for r in requests[warmup:]:
            await client.logistics.book(r)
        return (time.process_time() - start) / (len(requests) - warmup) * 1e6


def baseline(orders: list[dict[str, object]]) -> float:
    raw = REPLY.body
    start = time.process_time()
    for order in orders:
        json.dumps(order, ensure_ascii=False, separators=(",", ":")).encode()
        json.loads(raw)
    return (time.process_time() - start) / len(orders) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, no targets")
    parser.add_argument("--orjson", action="store_true", help="the SDK with orjson")
    args = parser.parse_args()
    if args.smoke:
        args.calls = 100
    warmup = min(200, args.calls)
    orders = list(order_dicts(warmup + args.calls, tag="o"))
    base = baseline(orders[warmup:])
    ours = asyncio.run(sdk(orders, warmup))
    print(
        f"per-call CPU time over {args.calls:,} bookings, in-memory transport, the SDK's JSON: "
        f"{wirejson.library}"
    )
    smoke_note(args.smoke)
    print(f"  baseline json.dumps + json.loads : {base:7.1f} µs")
    print(f"  xportcn-async book()             : {ours:7.1f} µs  ({ours / base:.1f}x baseline)")
    print(f"  SDK overhead above the baseline  : {ours - base:7.1f} µs")
    if not args.smoke:
        print(f"  target < {TARGET_US:.0f} µs per call: {verdict(ours < TARGET_US)}")


if __name__ == "__main__":
    main()
