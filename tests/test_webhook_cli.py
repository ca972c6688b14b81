"""``xportcn webhooks serve`` (a real process over real HTTP) and ``xportcn webhooks inbox``."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from xportcn_async.cli import main
from xportcn_async.webhooks import Dispatcher, Message, MessageStatus, SQLiteInbox, parse_message

PATH = "/xportcn/messages"


def push(order_id: str) -> bytes:
    body = {"orderId": order_id, "orderStatus": "CANCEL"}
    return json.dumps(
        {"messageType": "ORDER_CANCEL", "messageBody": json.dumps(body), "timestamp": "1"}
    ).encode()


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


async def test_serve_stores_pushes_and_answers_on_the_default_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inbox = tmp_path / "inbox.sqlite3"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys; from xportcn_async.cli import main; sys.exit(main())",
        "webhooks",
        "serve",
        "--port",
        str(port),
        "--inbox",
        str(inbox),
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    banner = (await process.stderr.readline()).decode()
    assert f"storing pushes to http://127.0.0.1:{port}{PATH}" in banner
    try:
        async with aiohttp.ClientSession() as session:
            for order_id in ("O1", "O2", "O1"):
                async with session.post(f"http://127.0.0.1:{port}{PATH}", data=push(order_id)) as r:
                    assert r.status == 200 and await r.text() == "success"
            async with session.post(f"http://127.0.0.1:{port}{PATH}", data=b"[") as r:
                assert r.status == 400
    finally:
        process.send_signal(signal.SIGTERM)
        assert await process.wait() == 0

    code, out, _ = await asyncio.to_thread(
        run_cli, capsys, "webhooks", "inbox", "stats", "--inbox", str(inbox), "--json"
    )
    assert code == 0
    stats = json.loads(out)
    assert (stats["pending"], stats["done"], stats["dead"]) == (2, 0, 0)  # nothing handles here


async def test_inbox_list_show_replay_and_delete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "inbox.sqlite3"
    inbox = SQLiteInbox(path)
    await inbox.open()
    for order_id in ("O1", "O2", "O3"):
        m = parse_message(push(order_id))
        await inbox.add(m.key, m.type.value, push(order_id), 0)

    async def broken(message: Message) -> None:
        raise RuntimeError("shop API down")

    dispatcher = Dispatcher(inbox, broken, max_attempts=1)
    await dispatcher.start()
    await dispatcher.join()
    await dispatcher.aclose()
    await inbox.aclose()

    monkeypatch.setenv("XPORTCN_WEBHOOK_INBOX", str(path))  # --inbox from the environment
    code, out, _ = await asyncio.to_thread(run_cli, capsys, "webhooks", "inbox", "stats")
    assert code == 0 and out.startswith("pending 0 (in flight 0), done 0, dead 3")
    code, out, _ = await asyncio.to_thread(
        run_cli, capsys, "webhooks", "inbox", "list", "--status", "dead", "--inbox", str(path)
    )
    lines = out.splitlines()
    assert len(lines) == 3 and all(
        "dead" in x and "RuntimeError: shop API down" in x for x in lines
    )
    first = int(lines[-1].split()[0])
    code, out, _ = await asyncio.to_thread(
        run_cli, capsys, "webhooks", "inbox", "show", str(first), "--inbox", str(path)
    )
    shown = json.loads(out)
    assert shown["status"] == "dead" and shown["push"]["messageBody"]["orderId"] == "O1"

    code, out, _ = await asyncio.to_thread(
        run_cli, capsys, "webhooks", "inbox", "replay", str(first), "--inbox", str(path)
    )
    assert code == 0 and out == f"replayed message {first}\n"
    code, out, err = await asyncio.to_thread(
        run_cli, capsys, "webhooks", "inbox", "replay", str(first), "--inbox", str(path)
    )
    assert code == 1 and "is not dead or done" in err
    code, out, _ = await asyncio.to_thread(
        run_cli, capsys, "webhooks", "inbox", "replay", "--dead", "--inbox", str(path)
    )
    assert out == "replayed 2 dead message(s)\n"
    code, out, _ = await asyncio.to_thread(
        run_cli, capsys, "webhooks", "inbox", "delete", str(first), "--inbox", str(path)
    )
    assert code == 0

    check = SQLiteInbox(path)
    await check.open()
    remaining = await check.list()
    await check.aclose()
    assert [m.status for m in remaining] == [MessageStatus.PENDING] * 2
    assert all(m.attempts == 0 for m in remaining)


def test_the_inbox_must_be_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XPORTCN_WEBHOOK_INBOX", raising=False)
    code, _, err = run_cli(capsys, "webhooks", "inbox", "stats")
    assert code == 2 and "--inbox FILE|URL" in err
