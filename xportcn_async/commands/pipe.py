"""Reading ``xportcn book``'s input from a pipe or a terminal without blocking the event loop.

A read from a pipe waits until the writer sends more, which may take minutes (a producer
that streams orders as they come). Done on the event loop, that wait would freeze the whole
run: the bookings in flight would get no answer read and no outcome written, and Ctrl-C
(which the loop handles) would do nothing until the next line came, and then stop the run
and abort those bookings at once. So a pipe is read by a thread, one chunk at a time when
the run asks for more input; the loop stays free. Regular files are read directly: a read
from a file never waits long.
"""

from __future__ import annotations

import asyncio
import os
import queue
import stat
import threading
from collections.abc import AsyncIterator
from typing import BinaryIO

CHUNK = 64 * 1024


def is_regular(fh: BinaryIO) -> bool:
    """Whether ``fh`` is a regular file (not a pipe, a terminal or a device)."""
    return stat.S_ISREG(os.fstat(fh.fileno()).st_mode)


class PipeReader:
    """Chunks of a pipe or a terminal, read by a daemon thread, one when asked.

    The thread reads its own duplicate of the descriptor and closes it itself, so that
    closing the input cannot make a late read land on a reused descriptor. A read still
    waiting when the run ends is abandoned with its thread (a daemon thread does not keep
    the process alive)."""

    def __init__(self, fh: BinaryIO) -> None:
        self._loop = asyncio.get_running_loop()
        self._fd = os.dup(fh.fileno())
        self._asks: queue.SimpleQueue[asyncio.Future[bytes] | None] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="xportcn-input", daemon=True).start()

    def _serve(self) -> None:
        try:
            while (future := self._asks.get()) is not None:
                try:
                    chunk, error = os.read(self._fd, CHUNK), None
                except OSError as exc:
                    chunk, error = b"", exc
                try:
                    self._loop.call_soon_threadsafe(_settle, future, chunk, error)
                except RuntimeError:  # the loop is closed: nobody is waiting any more
                    return
        finally:
            os.close(self._fd)

    async def read(self) -> bytes:
        """The next chunk; ``b""`` at the end of the input."""
        future: asyncio.Future[bytes] = self._loop.create_future()
        self._asks.put(future)
        return await future

    def close(self) -> None:
        """Let the thread end after its current read (if any)."""
        self._asks.put(None)


def _settle(future: asyncio.Future[bytes], chunk: bytes, error: OSError | None) -> None:
    if future.done():  # cancelled: the run stopped taking input meanwhile
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(chunk)


async def pipe_lines(fh: BinaryIO) -> AsyncIterator[bytes]:
    """The lines of a pipe or a terminal, each with its newline (the last one may have
    none), read without blocking the event loop."""
    reader = PipeReader(fh)
    try:
        buffer = bytearray()
        while chunk := await reader.read():
            scan = len(buffer)  # the bytes before have no newline: search the new ones only
            buffer += chunk
            start = 0
            while (end := buffer.find(b"\n", scan)) >= 0:
                yield bytes(buffer[start : end + 1])
                start = scan = end + 1
            del buffer[:start]
        if buffer:
            yield bytes(buffer)
    finally:
        reader.close()
