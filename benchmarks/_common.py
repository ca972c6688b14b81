"""Shared pieces of the benchmark scripts (not a test module)."""

from __future__ import annotations

import contextlib
import dataclasses
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
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sides import Side, parse_side

from xportcn_async import Credentials

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CREDENTIALS = Credentials("bench-key", "bench-secret", "bench-user")
"""The credentials of every benchmark (the sandbox is started with them; the stub checks
none)."""

DEFAULT_SIDES = "sdk-aiohttp,sdkbook-aiohttp,raw-aiohttp"
BASELINE_SIDE = "raw-aiohttp"


def example_orders() -> list[dict[str, Any]]:
    with (ROOT / "examples" / "orders.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def order_dicts(count: int, *, tag: str, seed: int = 1) -> Iterator[dict[str, Any]]:
    """``count`` orders as wire dicts, lazily: the example orders in a random order, each with
    a ``renderId`` and a ``tmallOrderId`` of its own (``tag`` keeps runs apart), so that
    ``book_many`` books every one (it rejects a repeated key)."""
    templates = example_orders()
    rng = random.Random(seed)
    for n in range(count):
        order = dict(rng.choice(templates))
        order["renderId"] = f"FFBENCH{tag}{n:09d}"
        order["tmallOrderInfo"] = {"tmallOrderId": f"BENCH{tag}{n:09d}"}
        yield order


def smoke_note(smoke: bool) -> None:
    if smoke:
        print("  smoke mode: tiny sizes, figures meaningless, no targets checked")


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


# -- processes and cores ----------------------------------------------------------------------


def cores() -> tuple[int | None, int | None]:
    """(client core, server core): two different cores this process may use, or
    ``(None, None)`` when there is only one (nothing is pinned then)."""
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(allowed) < 2:
        return None, None
    return allowed[0], allowed[1]


def pinned(cpu: int | None) -> Callable[[], None] | None:
    """A ``preexec_fn`` that pins the child process to ``cpu`` before it starts, as
    ``taskset -c`` does; ``None`` for ``None``."""
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) process ``pid`` has used so far; 0.0 where ``/proc`` is not
    available."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (``/proc/stat``); 0.0 elsewhere."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = [int(x) for x in fh.readline().split()[1:9]]
    except (OSError, ValueError):
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def rss_mb() -> float:
    """Resident set size of this process now, in MB (``/proc``; the peak elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return peak_rss_mb()
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def peak_rss_mb() -> float:
    """Peak resident set size of this process, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


@dataclasses.dataclass(frozen=True)
class Server:
    """A server in its own process: ``stub`` (benchmarks/stub_server.py) or ``sandbox``."""

    kind: str
    base_url: str
    pid: int

    def stub_requests(self) -> int:
        """POSTs the stub has answered so far."""
        with _no_proxy().open(self.base_url.removesuffix("/api") + "/_stub/stats", timeout=30) as r:
            return int(json.load(r)["requests"])

    def sandbox_bookings(self) -> int:
        """Orders the sandbox has made so far."""
        with _no_proxy().open(
            self.base_url.removesuffix("/api") + "/_sandbox/stats", timeout=30
        ) as r:
            return int(json.load(r)["bookings"])


def _no_proxy() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy


@contextlib.contextmanager
def server_process(
    kind: str, *, latency: float = 0.0, cpu: int | None = None, seed: int = 1
) -> Iterator[Server]:
    """Serve the stub or the sandbox in a separate process on 127.0.0.1, pinned to ``cpu``
    (as ``taskset -c`` does). The process is stopped when the block ends, whatever happens inside."""
    with tempfile.TemporaryDirectory(prefix="xportcn-bench-") as tmp:
        ready = Path(tmp) / "ready"
        if kind == "stub":
            command = [sys.executable, str(HERE / "stub_server.py"), "--latency", str(latency)]
        else:
            command = [sys.executable, "-m", "xportcn_async.sandbox", "--host", "127.0.0.1",
                       "--seed", str(seed), "--latency", str(latency),
                       "--access-key", CREDENTIALS.access_key, "--user-id", str(CREDENTIALS.user_id),
                       "--access-secret", CREDENTIALS.access_secret]  # fmt: skip
        log = Path(tmp) / "server.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [*command, "--port", "0", "--ready-file", str(ready)], preexec_fn=pinned(cpu),
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while not ready.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the {kind} did not start (exit code {proc.poll()}):\n"
                        + log.read_text(errors="replace")[-2000:]
                    )
                time.sleep(0.02)
            yield Server(kind, ready.read_text(encoding="utf-8").strip(), proc.pid)
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


# -- one run of one side, in a fresh client process -------------------------------------------


@dataclasses.dataclass(frozen=True)
class Run:
    """One timed run of one side (after its warm-up), as ``run_side.py`` reports it."""

    side: str
    count: int
    seconds: float
    client_cpu: float
    """CPU seconds of the client process (all its threads) during the timed part."""
    server_cpu: float
    """CPU seconds of the server process during the timed part."""
    other_cpu: float
    """CPU seconds the rest of the machine used during the timed part."""
    json_library: str
    """The JSON library the client process used (``xportcn_async.wirejson.library``)."""

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    @property
    def client_us(self) -> float:
        """Client CPU per booking, in µs: the headline metric."""
        return self.client_cpu / self.count * 1e6

    @property
    def server_us(self) -> float:
        return self.server_cpu / self.count * 1e6

    @property
    def other_load(self) -> float:
        """Share of one core the rest of the machine used during the run."""
        return self.other_cpu / self.seconds


def run_side(
    side: str,
    server: Server,
    *,
    count: int,
    concurrency: int,
    warmup: int,
    cpu: int | None,
    tag: str,
    build: int = 0,
    wrapper: Sequence[str] = (),
) -> Run:
    """Run ``side`` in a fresh client process pinned to ``cpu``: build its orders (at least
    ``build``), book ``warmup`` of them (connections set up), then time the booking of
    ``count`` more. ``wrapper`` goes before the command (``valgrind ...``)."""
    command = [
        *wrapper, sys.executable, str(HERE / "run_side.py"), "--side", side, "--url", server.base_url,
        "--server", server.kind, "--server-pid", str(server.pid), "--count", str(count),
        "--warmup", str(warmup), "--concurrency", str(concurrency), "--tag", tag,
        "--build", str(build),
    ]  # fmt: skip
    before = server.stub_requests() if server.kind == "stub" else server.sandbox_bookings()
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=ROOT, preexec_fn=pinned(cpu),
        env={**os.environ, **parse_side(side).environment},
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(
            f"{side}: run_side.py exited with {done.returncode}:\n{done.stderr[-3000:]}"
        )
    out = done.stdout
    after = server.stub_requests() if server.kind == "stub" else server.sandbox_bookings()
    result = json.loads(out.strip().splitlines()[-1])
    if after - before != count + warmup:
        raise RuntimeError(
            f"{side}: the server saw {after - before} bookings, not {count + warmup}"
        )
    return Run(side=side, count=count, **result)


def rotated(names: Sequence[str], rep: int) -> list[str]:
    """The order of the sides in repeat ``rep`` (A/B interleaving): every repeat runs every
    side once, and the order rotates from one repeat to the next, so that no side always
    goes first."""
    shift = rep % len(names)
    return [*names[shift:], *names[:shift]]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def load_note(runs: Sequence[Run]) -> str:
    """How much CPU the rest of the machine took during the timed runs."""
    loads = [r.other_load for r in runs] or [0.0]
    return (
        f"CPU used by other processes during the timed runs: median {median(loads):.0%}, up to "
        f"{max(loads):.0%} of a core (load average now {os.getloadavg()[0]:.2f})"
    )


def pinning_note(client: int | None, server: int | None) -> str:
    if client is None:
        return "one CPU core only: client and server share it (nothing pinned)"
    return f"client pinned to core {client}, server to core {server} (CPU affinity, as taskset -c)"


def warmup_for(concurrency: int, smoke: bool) -> int:
    """Bookings before the clock starts: enough to open every connection of the pool, twice
    over."""
    return concurrency if smoke else max(2 * concurrency, 200)


def measure_sides(
    sides: Sequence[Side],
    server_kind: str,
    concurrency: int,
    repeats: int,
    count: int,
    *,
    smoke: bool,
    latency: float = 0.0,
) -> dict[str, list[Run]]:
    """``repeats`` runs of every side, interleaved (``rotated``), each in a fresh client
    process; a fresh server process per repeat, pinned to the other core."""
    client_core, server_core = cores()
    runs: dict[str, list[Run]] = {s.name: [] for s in sides}
    names = [s.name for s in sides]
    for rep in range(repeats):
        with server_process(server_kind, latency=latency, cpu=server_core, seed=rep + 1) as server:
            for name in rotated(names, rep):
                runs[name].append(
                    run_side(
                        name, server, count=count, concurrency=concurrency,
                        warmup=warmup_for(concurrency, smoke), cpu=client_core,
                        tag=f"c{concurrency}r{rep}",
                    )
                )  # fmt: skip
    return runs
