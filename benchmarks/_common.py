"""Shared pieces of the benchmark scripts (not a test module)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp

from xportcn_async import (
    ENDPOINTS,
    AiohttpTransport,
    BookingRequest,
    Credentials,
    Response,
    XportcnClient,
    from_wire,
    signature,
    to_wire,
)
from xportcn_async.batch import Status
from xportcn_async.signing import new_nonce

ROOT = Path(__file__).resolve().parents[1]
CREDENTIALS = Credentials("bench-key", "bench-secret", "bench-user")

BOOKING_RESPONSE = {
    "errorCode": 200,
    "errorMsg": None,
    "success": True,
    "data": {
        "orderId": "21",
        "orderFee": {"amount": "322.92", "currency": "USD"},
        "subOrders": [
            {
                "itemInfos": [
                    {
                        "itemId": "2048020617114736",
                        "skuId": "413185732720",
                        "quantity": 1,
                        "title": "这是商品1",
                    }
                ],
                "internationalLogisticInfos": {
                    "logisticNumer": "FARJP2408000013YQ",
                    "logisticCompanyName": "UCS",
                    "trackingUrl": "https://www.far800.com/logistics/result?key=FARJP2408000013YQ",
                    "logisticType": "UCS",
                },
            }
        ],
    },
}
CANNED = Response.json(BOOKING_RESPONSE)


def example_orders() -> list[dict[str, object]]:
    with (ROOT / "examples" / "orders.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def bookings(count: int, *, render_ids: bool = True, seed: int = 1) -> Iterator[BookingRequest]:
    """``count`` distinct bookings, built lazily from the example orders."""
    templates = [from_wire(o, BookingRequest) for o in example_orders()]
    rng = random.Random(seed)
    for n in range(count):
        request = rng.choice(templates)
        yield request.with_render_id(f"FFBENCH{n:09d}") if render_ids else request


def peak_rss_mb() -> float:
    """Peak resident set size of this process, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


# -- the sandbox in its own process (benchmarks 1 and 2) ----------------------------------


class SandboxProcess:
    """A sandbox served by another process: its base URL and process id."""

    def __init__(self, base_url: str, pid: int) -> None:
        self.base_url = base_url
        self.pid = pid

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the sandbox process has used so far; 0.0 where
        ``/proc`` is not available."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def sandbox_process(*options: str, ready_timeout: float = 30.0) -> Iterator[SandboxProcess]:
    """Serve the sandbox in a separate process on 127.0.0.1.

    ``options`` go to ``python -m xportcn_async.sandbox`` (``"--latency", "0.05"``). The
    process is stopped when the block ends, whatever happens inside it.
    """
    with tempfile.TemporaryDirectory(prefix="xportcn-bench-") as tmp:
        ready = Path(tmp) / "ready"
        log = Path(tmp) / "sandbox.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "xportcn_async.sandbox", "--host", "127.0.0.1",
                 "--port", "0", "--ready-file", str(ready), *options],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + ready_timeout
            while not ready.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the sandbox did not start (exit code {proc.poll()}):\n"
                        + log.read_text(errors="replace")[-2000:]
                    )
                time.sleep(0.05)
            yield SandboxProcess(ready.read_text(encoding="utf-8").strip(), proc.pid)
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def sandbox_credentials() -> Credentials:
    """The sandbox's demo credentials (imported lazily: the memory benchmark must not load
    the sandbox's server code)."""
    from xportcn_async.sandbox import DEMO_CREDENTIALS

    return DEMO_CREDENTIALS


async def rendered(
    base_url: str, count: int, *, seed: int, concurrency: int = 200
) -> list[BookingRequest]:
    """``count`` bookings, each with the ``renderId`` of its own fresh freight preview (made
    through the SDK's ``preview_freight``, concurrently; not part of any timing)."""
    requests = list(bookings(count, render_ids=False, seed=seed))
    transport = AiohttpTransport(limit=concurrency)
    async with XportcnClient(
        sandbox_credentials(), base_url=base_url, transport=transport
    ) as client:
        logistics = client.logistics
        slots = asyncio.Semaphore(concurrency)

        async def one(request: BookingRequest) -> BookingRequest:
            async with slots:
                preview = await logistics.preview_freight(logistics.preview_for(request))
            return request.with_render_id(preview.render_id)

        try:
            return await asyncio.gather(*(one(r) for r in requests))
        finally:
            await transport.aclose()


# -- the baseline: a hand-written aiohttp loop ------------------------------------------------

Prepared = tuple[str, dict[str, str], bytes]


def presign(base_url: str, requests: list[BookingRequest]) -> list[Prepared]:
    """URL (with the ``?timestamp=&sign=`` query), headers and body of one booking each,
    signed as API.md §2 says with a fresh nonce per request. Done before the clock starts."""
    creds = sandbox_credentials()
    url = base_url + ENDPOINTS["logistics.book"].path
    prepared = []
    for request in requests:
        ts = str(int(time.time() * 1000))
        nonce = new_nonce()
        sig = signature(creds.access_key, ts, nonce, creds.access_secret)
        headers = {
            "content-type": "application/json",
            "accept": "application/json",
            "access-key": creds.access_key,
            "timestamp": ts,
            "nonce-str": nonce,
            "signature": sig,
        }
        if creds.user_id:
            headers["user-id"] = creds.user_id
        body = json.dumps(to_wire(request), ensure_ascii=False, separators=(",", ":")).encode()
        prepared.append((f"{url}?timestamp={ts}&sign={sig}", headers, body))
    return prepared


async def raw_loop(prepared: list[Prepared], concurrency: int) -> float:
    """POST every prepared booking with a bare ``aiohttp.ClientSession`` and a semaphore,
    check for HTTP 200 and read the body. Returns the wall-clock seconds."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        slots = asyncio.Semaphore(concurrency)

        async def one(url: str, headers: dict[str, str], body: bytes) -> None:
            async with slots, session.post(url, headers=headers, data=body) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"HTTP {resp.status}: {(await resp.read())[:200]!r}")
                await resp.read()

        started = time.perf_counter()
        await asyncio.gather(*(one(*p) for p in prepared))
        return time.perf_counter() - started


async def sdk_loop(base_url: str, requests: list[BookingRequest], concurrency: int) -> float:
    """Book every request with ``client.logistics.book_many`` and the default
    ``AiohttpTransport(limit=concurrency)``. Returns the wall-clock seconds."""
    transport = AiohttpTransport(limit=concurrency)
    async with XportcnClient(
        sandbox_credentials(), base_url=base_url, transport=transport
    ) as client:
        try:
            started = time.perf_counter()
            async with client.logistics.book_many(requests, concurrency=concurrency) as run:
                async for _ in run:
                    pass
            elapsed = time.perf_counter() - started
        finally:
            await transport.aclose()
    booked = run.report.count(Status.BOOKED)
    if booked != len(requests):
        raise RuntimeError(f"only {booked} of {len(requests)} booked: {run.report}")
    return elapsed


def sandbox_stats(base_url: str) -> dict[str, Any]:
    """``GET /_sandbox/stats`` of a sandbox serving ``base_url`` (``.../api``)."""
    stats_url = base_url.removesuffix("/api") + "/_sandbox/stats"
    with urllib.request.urlopen(stats_url, timeout=30) as resp:
        stats: dict[str, Any] = json.load(resp)
    return stats


def bookings_made(base_url: str) -> int:
    """Orders the sandbox has created so far (each a first booking of a render)."""
    return int(sandbox_stats(base_url)["bookings"])


def cpu_note() -> str:
    cores = os.cpu_count() or 0
    return (
        f"note: the sandbox server (its own process) and the client share this machine's "
        f"{cores} CPU core{'s' if cores != 1 else ''}; the server's CPU time limits both sides"
    )
