"""Shared pieces of the benchmark scripts (not a test module)."""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import dataclasses
import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp

from xportcn_async import (
    ENDPOINTS,
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
    async with XportcnClient(
        sandbox_credentials(), base_url=base_url, connection_limit=concurrency
    ) as client:
        logistics = client.logistics
        slots = asyncio.Semaphore(concurrency)

        async def one(request: BookingRequest) -> BookingRequest:
            async with slots:
                preview = await logistics.preview_freight(logistics.preview_for(request))
            return request.with_render_id(preview.render_id)

        return await asyncio.gather(*(one(r) for r in requests))


# -- the two sides of benchmarks 1 and 2 ------------------------------------------------------

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
    """The baseline: POST every pre-signed booking with a bare ``aiohttp.ClientSession``
    (``TCPConnector(limit=concurrency)``) and a semaphore, check for HTTP 200 and read the
    body. Returns the wall-clock seconds."""
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
    """The SDK: ``client.logistics.book_many`` over every request, with the client's default
    ``AiohttpTransport(limit=concurrency)``. Returns the wall-clock seconds."""
    async with XportcnClient(
        sandbox_credentials(), base_url=base_url, connection_limit=concurrency
    ) as client:
        started = time.perf_counter()
        async with client.logistics.book_many(requests, concurrency=concurrency) as run:
            async for _ in run:
                pass
        elapsed = time.perf_counter() - started
    booked = run.report.count(Status.BOOKED)
    if booked != len(requests):
        raise RuntimeError(f"only {booked} of {len(requests)} booked: {run.report}")
    return elapsed


SIDES = {"raw": "raw aiohttp loop", "sdk": "xportcn-async book_many"}


@dataclasses.dataclass
class Measurement:
    """One timed run of one side against its own fresh sandbox process."""

    side: str
    count: int
    seconds: float
    client_cpu: float
    """CPU seconds this process used during the run."""
    server_cpu: float
    """CPU seconds the sandbox process used during the run."""
    other_cpu: float
    """CPU seconds the rest of the machine used during the run (other processes, the
    kernel's network work outside both processes)."""

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    @property
    def client_us(self) -> float:
        """Client CPU per request, in µs."""
        return self.client_cpu / self.count * 1e6

    @property
    def server_us(self) -> float:
        """Sandbox CPU per request, in µs."""
        return self.server_cpu / self.count * 1e6

    @property
    def client_load(self) -> float:
        """Busy share of one core used by the client during the run."""
        return self.client_cpu / self.seconds

    @property
    def server_load(self) -> float:
        return self.server_cpu / self.seconds

    @property
    def other_load(self) -> float:
        return self.other_cpu / self.seconds


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (``/proc/stat``); 0.0 elsewhere."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = [int(x) for x in fh.readline().split()[1:9]]
    except (OSError, ValueError):
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def measure(
    side: str,
    count: int,
    concurrency: int,
    *,
    seed: int,
    sandbox_options: Sequence[str] = (),
    preview_concurrency: int = 200,
    profiler: cProfile.Profile | None = None,
) -> Measurement:
    """Start a fresh sandbox process, preview ``count`` orders (untimed), then book them all
    (timed) with ``side`` ("raw" or "sdk"), check that the sandbox made ``count`` orders, and
    stop the sandbox.

    A fresh sandbox per run keeps runs independent: a long-lived sandbox's heap grows with
    every render and order, and its garbage collector then stalls it for a growing time. Set-up
    objects of this process are moved out of the collector's reach (``gc.freeze``) for the
    timed part, so that they do not weigh on whichever side runs later. ``profiler`` (if
    any) runs during the timed part only.
    """
    with sandbox_process("--seed", str(seed), *sandbox_options) as sandbox:
        url = sandbox.base_url
        requests = asyncio.run(rendered(url, count, seed=seed, concurrency=preview_concurrency))
        prepared = presign(url, requests) if side == "raw" else []
        gc.collect()
        gc.freeze()
        try:
            busy0, server0 = machine_busy_seconds(), sandbox.cpu_seconds()
            client0 = time.process_time()
            if profiler is not None:
                profiler.enable()
            if side == "raw":
                seconds = asyncio.run(raw_loop(prepared, concurrency))
            else:
                seconds = asyncio.run(sdk_loop(url, requests, concurrency))
            client1 = time.process_time()
            server1, busy1 = sandbox.cpu_seconds(), machine_busy_seconds()
        finally:
            if profiler is not None:
                profiler.disable()
            gc.unfreeze()
        made = int(sandbox_stats(url)["bookings"])
        if made != count:
            raise RuntimeError(f"{side}: the sandbox made {made} orders, expected {count}")
    client, server = client1 - client0, server1 - server0
    other = max(0.0, (busy1 - busy0) - client - server) if busy1 else 0.0
    return Measurement(side, count, seconds, client, server, other)


def alternating(
    repeats: int, run: Callable[[str, int], Measurement]
) -> dict[str, list[Measurement]]:
    """``repeats`` runs per side, alternating which side goes first; ``run(side, rep)``."""
    results: dict[str, list[Measurement]] = {"raw": [], "sdk": []}
    for rep in range(repeats):
        for side in ("raw", "sdk") if rep % 2 == 0 else ("sdk", "raw"):
            results[side].append(run(side, rep))
    return results


def best(runs: list[Measurement]) -> Measurement:
    return max(runs, key=lambda m: m.rate)


def median_rate(runs: list[Measurement]) -> float:
    return statistics.median(m.rate for m in runs)


def sandbox_stats(base_url: str) -> dict[str, Any]:
    """``GET /_sandbox/stats`` of a sandbox serving ``base_url`` (``.../api``)."""
    stats_url = base_url.removesuffix("/api") + "/_sandbox/stats"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
    with opener.open(stats_url, timeout=30) as resp:
        stats: dict[str, Any] = json.load(resp)
    return stats


def load_note(runs: Iterable[Measurement]) -> str:
    """How much CPU the rest of the machine took during the runs."""
    worst = max((m.other_load for m in runs), default=0.0)
    return (
        f"CPU used outside the client and the sandbox during the runs: up to "
        f"{worst:.0%} of a core (load average now {os.getloadavg()[0]:.2f})"
    )


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def machine_note() -> str:
    cores = os.cpu_count() or 0
    return (
        f"note: the sandbox (a separate process) and this client share the machine's {cores} "
        f"CPU core{'s' if cores != 1 else ''}; each side runs at most as fast as the busier "
        f"of the two processes allows (CPU columns: µs per request, share of one core)"
    )
