"""A receiver process for the crash tests: serves create_webhook_app(handler, inbox=INBOX) on
127.0.0.1:PORT. The handler appends "start PID ORDER" and "done PID ORDER" lines to LOG, so
that the test can tell which handlings a SIGKILL interrupted.

    python tests/webhook_crash_receiver.py INBOX PORT LOG [LEASE]
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import TextIO

from xportcn_async.webhooks import Message, WebhookServer, create_webhook_app


async def main(inbox: str, port: int, log: TextIO, lease: float) -> None:
    pid = os.getpid()

    async def handler(message: Message) -> None:
        order_id = message.order_id  # type: ignore[attr-defined]
        log.write(f"start {pid} {order_id}\n")
        await asyncio.sleep(0.002)  # some work, so that kills find handlers in flight
        log.write(f"done {pid} {order_id}\n")

    app = create_webhook_app(
        handler, inbox=inbox, lease=lease, max_concurrency=16, initial_retry_delay=0.05
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with WebhookServer(app, port=port):
        print("ready", flush=True)
        await stop.wait()


if __name__ == "__main__":
    inbox, port, log_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    lease = float(sys.argv[4]) if len(sys.argv) > 4 else 30.0
    # Line-buffered: each line reaches the file (the kernel) at once, and survives a SIGKILL.
    with open(log_path, "a", buffering=1) as log:
        asyncio.run(main(inbox, port, log, lease))
