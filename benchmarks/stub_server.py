"""A minimal HTTP/1.1 server that answers every POST with the recorded booking reply.

Throughput benchmarks compare clients, so the server must cost as little CPU as possible: the
sandbox spends 200-330 µs per request, more than the clients it would be measuring. This is a
bare ``asyncio.Protocol``: it splits requests by ``Content-Length``, keeps connections alive and
answers with the reply of API.md's booking example
(``tests/fixtures/examples/logistics/orderBookingFreight.response.json``), optionally after a
fixed latency. It checks nothing else: the end-to-end figures (sandbox) check signatures.

``GET /_stub/stats`` answers ``{"requests": N}``: the POSTs answered so far.

    python benchmarks/stub_server.py --ready-file PATH [--port 0] [--latency 0.002]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPLY_FILE = (
    ROOT / "tests" / "fixtures" / "examples" / "logistics" / "orderBookingFreight.response.json"
)


def http_reply(body: bytes, status: str = "200 OK") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


BOOKING_REPLY = http_reply(
    json.dumps(
        json.loads(REPLY_FILE.read_bytes()), ensure_ascii=False, separators=(",", ":")
    ).encode()
)


class Stats:
    requests = 0


class StubProtocol(asyncio.Protocol):
    """One connection: answers each complete request in order."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = bytes(self.buffer[:end]).lower()
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            del self.buffer[: end + 4 + length]
            if head.startswith(b"get /_stub/stats"):
                self.send(http_reply(json.dumps({"requests": Stats.requests}).encode()))
            elif head.startswith(b"post "):
                Stats.requests += 1
                if self.latency:
                    asyncio.get_running_loop().call_later(self.latency, self.send, BOOKING_REPLY)
                else:
                    self.send(BOOKING_REPLY)
            else:
                self.send(http_reply(b'{"error":"POST only"}', "405 Method Not Allowed"))

    def send(self, reply: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def serve(port: int, latency: float, ready_file: Path) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    server = await loop.create_server(
        lambda: StubProtocol(latency), "127.0.0.1", port, backlog=4096
    )
    bound = server.sockets[0].getsockname()[1]
    tmp = ready_file.with_suffix(".tmp")
    tmp.write_text(f"http://127.0.0.1:{bound}/api", encoding="utf-8")
    tmp.replace(ready_file)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ready-file", type=Path, required=True, help="gets the base URL")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each reply")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.latency, args.ready_file))


if __name__ == "__main__":
    main()
