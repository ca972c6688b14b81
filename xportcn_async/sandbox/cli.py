"""Serving the sandbox from the command line, in its own process (for benchmarks)::

    python -m xportcn_async.sandbox --port 8080 --fault-drop 0.05 --latency 0.01
    xportcn sandbox --port 8080 ...          (the same options)

It prints the base URL, the sandbox's demo credentials and a signed example ``curl``
command, writes the base URL to ``--ready-file`` once listening, and serves until SIGINT or
SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from ..credentials import Credentials
from ..endpoints import ENDPOINTS
from ..errors import ConfigurationError
from ..signing import new_nonce, signature
from .core import DEMO_CREDENTIALS
from .faults import Faults, Latency
from .server import RunningSandbox, serve

__all__ = [
    "add_arguments",
    "add_fault_arguments",
    "credentials_from_args",
    "curl_example",
    "faults_from_args",
    "latency_from_args",
    "main",
    "run",
]

# The itemLogisticsPrice example of the docs (spec/examples/logistics/), for the curl line.
EXAMPLE_BODY: dict[str, Any] = {
    "itemId": "2048232789087639",
    "skuId": "4970432383383",
    "quantity": 1,
    "receiverAddress": {
        "country": "US",
        "state": "California",
        "city": "VALLEY VLG",
        "zip": "91607",
        "address": "5818 WHITSETT AVE 401",
        "name": "Ofir Birinbaum",
        "phone": "5083326888",
        "mobilePhone": "5083326888",
        "email": "1229220680@qq.com",
    },
}

# (option name without "--", dest, Faults field, help)
_FAULT_OPTIONS = (
    ("fault-unavailable", "fault_unavailable", "unavailable", "HTTP 503 before processing"),
    ("fault-server-error", "fault_server_error", "server_error_after", "HTTP 500 after processing"),
    ("fault-drop", "fault_drop", "drop_after", "connection dropped after processing"),
    ("fault-rate-limit", "fault_rate_limit", "rate_limit", "HTTP 429 before processing"),
    ("fault-malformed", "fault_malformed", "malformed", "truncated HTTP 200 body after processing"),
    ("fault-slow", "fault_slow", "slow", "reply held --{prefix}slow-seconds after processing"),
)


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a probability must be between 0 and 1, got {text}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"seconds must not be negative, got {text}")
    return value


def add_fault_arguments(parser: argparse.ArgumentParser, *, prefix: str = "") -> None:
    """Options for faults and latency. ``prefix`` goes before each option name
    (``prefix="sandbox-"`` gives ``--sandbox-fault-drop``); the parsed attribute names do
    not change, so :func:`faults_from_args` and :func:`latency_from_args` read either."""
    group = parser.add_argument_group(
        "sandbox faults and latency",
        "Each request draws at most one fault; the probabilities must add up to 1 or less.",
    )
    for option, dest, _, text in _FAULT_OPTIONS:
        group.add_argument(
            f"--{prefix}{option}",
            dest=dest,
            type=_probability,
            default=0.0,
            metavar="P",
            help=f"probability of {text.format(prefix=prefix)}",
        )
    group.add_argument(
        f"--{prefix}slow-seconds",
        dest="slow_seconds",
        type=_seconds,
        default=30.0,
        metavar="S",
        help="how long a slow reply is held (default 30)",
    )
    group.add_argument(
        f"--{prefix}retry-after",
        dest="retry_after",
        type=_seconds,
        default=1.0,
        metavar="S",
        help="Retry-After of rate-limited replies, in seconds (default 1)",
    )
    group.add_argument(
        f"--{prefix}fault-operations",
        dest="fault_operations",
        default=None,
        metavar="OPS",
        help="comma-separated operation names that get faults (default: all), e.g. logistics.book",
    )
    group.add_argument(
        f"--{prefix}latency",
        dest="latency_seconds",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="delay added to every request (default 0)",
    )
    group.add_argument(
        f"--{prefix}latency-jitter",
        dest="latency_jitter",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="spread of the delay: ± this much (uniform), or the mean extra delay (exponential)",
    )
    group.add_argument(
        f"--{prefix}latency-distribution",
        dest="latency_distribution",
        choices=("uniform", "exponential"),
        default="uniform",
        help="shape of the jitter (default uniform)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """All the options of ``xportcn sandbox`` / ``python -m xportcn_async.sandbox``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=int,
        default=8080,
        help="port to listen on; 0 picks a free one (default 8080)",
    )
    parser.add_argument(
        "--access-key", default=DEMO_CREDENTIALS.access_key, help="the access key to accept"
    )
    parser.add_argument(
        "--access-secret",
        default=DEMO_CREDENTIALS.access_secret,
        help="the access secret to accept (default: the sandbox's demo secret)",
    )
    parser.add_argument("--user-id", default=DEMO_CREDENTIALS.user_id, help="the user id to accept")
    parser.add_argument(
        "--timestamp-unit",
        choices=("ms", "s"),
        default="ms",
        help="unit of the timestamp header (default ms)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of ids, faults and latency")
    parser.add_argument(
        "--ready-file",
        metavar="PATH",
        default=None,
        help="write the base URL to PATH once listening (removed on exit)",
    )
    add_fault_arguments(parser)


def faults_from_args(args: argparse.Namespace) -> Faults | None:
    """The :class:`Faults` of parsed options, or ``None`` when every probability is 0."""
    probabilities = {field: getattr(args, dest, 0.0) or 0.0 for _, dest, field, _ in _FAULT_OPTIONS}
    if not any(probabilities.values()):
        return None
    ops = getattr(args, "fault_operations", None)
    try:
        return Faults(
            **probabilities,
            slow_seconds=getattr(args, "slow_seconds", 30.0),
            retry_after=getattr(args, "retry_after", 1.0),
            operations=[o.strip() for o in ops.split(",") if o.strip()] if ops else None,
        )
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"sandbox faults: {exc}") from None


def latency_from_args(args: argparse.Namespace) -> Latency | None:
    """The :class:`Latency` of parsed options, or ``None`` when there is none."""
    seconds = getattr(args, "latency_seconds", 0.0) or 0.0
    jitter = getattr(args, "latency_jitter", 0.0) or 0.0
    if not seconds and not jitter:
        return None
    try:
        return Latency(
            seconds,
            jitter=jitter,
            distribution=getattr(args, "latency_distribution", "uniform"),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"sandbox latency: {exc}") from None


def credentials_from_args(args: argparse.Namespace) -> Credentials:
    return Credentials(
        getattr(args, "access_key", None) or DEMO_CREDENTIALS.access_key,
        getattr(args, "access_secret", None) or DEMO_CREDENTIALS.access_secret,
        getattr(args, "user_id", None) or None,
    )


def curl_example(
    base_url: str, credentials: Credentials, *, timestamp_unit: str = "ms", now: float | None = None
) -> str:
    """A ready-to-paste ``curl`` command for the docs' itemLogisticsPrice example, signed
    per API.md §2 (valid once, for the 600 s timestamp window)."""
    now = time.time() if now is None else now
    ts = str(int(now * 1000) if timestamp_unit == "ms" else int(now))
    nonce = new_nonce()
    sig = signature(credentials.access_key, ts, nonce, credentials.access_secret)
    path = ENDPOINTS["logistics.estimate_freight"].path
    url = f"{base_url}{path}?timestamp={ts}&sign={sig}"
    headers = {
        "content-type": "application/json",
        "access-key": credentials.access_key,
        "timestamp": ts,
        "nonce-str": nonce,
    }
    if credentials.user_id:
        headers["user-id"] = credentials.user_id
    headers["signature"] = sig
    body = json.dumps(EXAMPLE_BODY, ensure_ascii=False, separators=(",", ":"))
    parts = ["curl -sS -X POST", shlex.quote(url)]
    parts += [f"-H {shlex.quote(f'{k}: {v}')}" for k, v in headers.items()]
    parts.append(f"--data-binary {shlex.quote(body)}")
    return " \\\n  ".join(parts)


def _banner(running: RunningSandbox, args: argparse.Namespace, out: TextIO) -> None:
    creds = running.credentials
    sandbox = running.sandbox
    unit = getattr(args, "timestamp_unit", "ms")
    lines = [
        f"Xportcn sandbox listening on {running.base_url}",
        "",
        "Credentials (the sandbox's own; not a real account):",
        f"  access key     {creds.access_key}",
        f"  access secret  {creds.access_secret}",
        f"  user id        {creds.user_id or '-'}",
        "",
        f"Stats:     GET {running.stats_url}",
        f"Faults:    {sandbox.faults.describe() if sandbox.faults else 'none'}",
        f"Latency:   {sandbox.latency.describe() if sandbox.latency else 'none'}",
        f"Timestamp: {unit}; seed {sandbox.seed}",
        "",
        "Example (signed now; valid once, for 10 minutes):",
        curl_example(running.base_url, creds, timestamp_unit=unit),
        "",
        "Serving until interrupted (Ctrl-C).",
    ]
    out.write("\n".join(lines) + "\n")
    out.flush()


def _write_ready_file(path: Path, base_url: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(base_url + "\n", encoding="utf-8")
    os.replace(tmp, path)


async def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; 0 on a clean stop, 1 when the port cannot be bound."""
    faults = faults_from_args(args)
    latency = latency_from_args(args)
    credentials = credentials_from_args(args)
    ready_file = Path(args.ready_file) if getattr(args, "ready_file", None) else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        async with serve(
            args.port,
            host=args.host,
            credentials=credentials,
            faults=faults,
            latency=latency,
            seed=args.seed,
            timestamp_unit=getattr(args, "timestamp_unit", "ms"),
        ) as running:
            _banner(running, args, sys.stdout)
            if ready_file is not None:
                _write_ready_file(ready_file, running.base_url)
            try:
                await stop.wait()
            finally:
                if ready_file is not None:
                    with contextlib.suppress(OSError):
                        ready_file.unlink()
    except OSError as exc:
        sys.stderr.write(
            f"sandbox: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}\n"
        )
        return 1
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
    sys.stdout.write("sandbox stopped\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m xportcn_async.sandbox``."""
    parser = argparse.ArgumentParser(
        prog="python -m xportcn_async.sandbox",
        description="Serve the local Xportcn sandbox until interrupted.",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return asyncio.run(run(args))
    except ConfigurationError as exc:
        sys.stderr.write(f"sandbox: {exc}\n")
        return 2
    except KeyboardInterrupt:
        return 130
