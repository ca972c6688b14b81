"""The sandbox served by ``python -m xportcn_async.sandbox`` in its own process, as a user
runs it: for tests that talk to it the way a user's program would (a base URL)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def sandbox_process(directory: Path) -> Iterator[str]:
    """Start the sandbox on an ephemeral 127.0.0.1 port; yield its base URL."""
    ready = directory / "sandbox.ready"
    proc = subprocess.Popen(
        [sys.executable, "-m", "xportcn_async.sandbox", "--port", "0", "--ready-file", str(ready)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60  # a bound on waiting, not a measurement
        while not ready.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not start: {proc.stderr.read()!r}")  # type: ignore[union-attr]
            time.sleep(0.02)
        yield ready.read_text(encoding="utf-8").strip()
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
