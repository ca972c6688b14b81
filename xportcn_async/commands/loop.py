"""The command line's event loop: uvloop when installed (``xportcn-async[fast]``), for less
CPU per request in large bulk runs; ``XPORTCN_UVLOOP=0`` keeps asyncio's own loop. The
library itself never chooses a loop: that is the application's call."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

#: Set to ``0`` (or ``false``, ``no``, ``off``) to keep asyncio's loop in the CLI.
ENV_UVLOOP = "XPORTCN_UVLOOP"


def loop_name() -> str:
    """``"uvloop"`` when the CLI will run on it, else ``"asyncio"``."""
    if os.environ.get(ENV_UVLOOP, "").strip().lower() in ("0", "false", "no", "off"):
        return "asyncio"
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, on uvloop unless :func:`loop_name` says otherwise."""
    if loop_name() == "uvloop":
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)
