"""``xportcn webhooks``: run a storing receiver, and look into and replay an inbox.

xportcn webhooks serve --port 8080 --inbox inbox.sqlite3     # store pushes (or postgresql://…)
xportcn webhooks inbox stats --inbox inbox.sqlite3
xportcn webhooks inbox list --status dead --inbox inbox.sqlite3
xportcn webhooks inbox show 42 --inbox inbox.sqlite3
xportcn webhooks inbox replay 42 --inbox inbox.sqlite3
xportcn webhooks inbox replay --dead --inbox inbox.sqlite3

``serve`` only stores: your application (``create_webhook_app(on_message, inbox=…)`` on the
same inbox) handles the messages. The inbox may also come from ``$XPORTCN_WEBHOOK_INBOX``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from datetime import datetime, timezone
from typing import Any

import attrs

from ..errors import ConfigurationError
from .backends import open_inbox
from .inbox import Inbox, MessageStatus, StoredMessage, now
from .receiver import DEFAULT_PATH, create_webhook_app
from .server import DEFAULT_HEADER_TIMEOUT, DEFAULT_IDLE_TIMEOUT, WebhookServer

INBOX_VARIABLE = "XPORTCN_WEBHOOK_INBOX"


def add_parser(sub: Any) -> None:
    """Register ``webhooks`` on the ``xportcn`` parser's subcommands."""
    webhooks = sub.add_parser("webhooks", help="receive message pushes into a durable inbox")
    commands = webhooks.add_subparsers(dest="webhooks_command", required=True, metavar="COMMAND")

    inbox_option = argparse.ArgumentParser(add_help=False)
    inbox_option.add_argument(
        "--inbox",
        default=os.environ.get(INBOX_VARIABLE),
        help=f"an SQLite file or a postgresql:// URL (default ${INBOX_VARIABLE})",
    )

    serve = commands.add_parser(
        "serve",
        parents=[inbox_option],
        help="receive pushes and store them in the inbox, until interrupted",
        description="Answer Xportcn's pushes on POST PATH: each is stored in the inbox, then "
        "answered 200 (503 when it cannot be stored). Nothing handles them here.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="(default %(default)s)")
    serve.add_argument("--port", type=int, default=8080, help="(default %(default)s)")
    serve.add_argument("--path", default=DEFAULT_PATH, help="(default %(default)s)")
    serve.add_argument("--header-timeout", type=float, default=DEFAULT_HEADER_TIMEOUT)
    serve.add_argument("--idle-timeout", type=float, default=DEFAULT_IDLE_TIMEOUT)
    serve.add_argument("--body-timeout", type=float, default=10.0)
    serve.set_defaults(run=_serve)

    inbox = commands.add_parser("inbox", help="see and replay the inbox's messages")
    actions = inbox.add_subparsers(dest="inbox_command", required=True, metavar="ACTION")
    stats = actions.add_parser("stats", parents=[inbox_option], help="counts by status")
    stats.add_argument("--json", action="store_true", help="one JSON object")
    listing = actions.add_parser("list", parents=[inbox_option], help="the newest messages")
    listing.add_argument("--status", choices=[s.value for s in MessageStatus])
    listing.add_argument("--limit", type=int, default=50, help="(default %(default)s)")
    show = actions.add_parser("show", parents=[inbox_option], help="one message, as JSON")
    show.add_argument("id", type=int)
    replay = actions.add_parser(
        "replay", parents=[inbox_option], help="make a dead or done message pending again"
    )
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("id", type=int, nargs="?")
    which.add_argument("--dead", action="store_true", help="every dead message")
    delete = actions.add_parser("delete", parents=[inbox_option], help="delete one message")
    delete.add_argument("id", type=int)
    for action in (stats, listing, show, replay, delete):
        action.set_defaults(run=_inbox)


def _target(args: argparse.Namespace) -> str:
    if not args.inbox:
        raise ConfigurationError(f"say which inbox: --inbox FILE|URL (or ${INBOX_VARIABLE})")
    target: str = args.inbox
    return target


def _serve(args: argparse.Namespace) -> int:
    return asyncio.run(serve(args))


async def serve(args: argparse.Namespace) -> int:
    app = create_webhook_app(
        None, inbox=_target(args), path=args.path, body_timeout=args.body_timeout
    )
    server = WebhookServer(
        app,
        host=args.host,
        port=args.port,
        header_timeout=args.header_timeout,
        idle_timeout=args.idle_timeout,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        print(f"xportcn webhooks: storing pushes to {server.url}{args.path}", file=sys.stderr)
        sys.stderr.flush()
        await stop.wait()
    return 0


def _inbox(args: argparse.Namespace) -> int:
    return asyncio.run(inbox_command(args, open_inbox(_target(args))))


async def inbox_command(args: argparse.Namespace, inbox: Inbox) -> int:
    await inbox.open()
    try:
        return await _act(args, inbox)
    finally:
        await inbox.aclose()


async def _act(args: argparse.Namespace, inbox: Inbox) -> int:
    action = args.inbox_command
    if action == "stats":
        stats = await inbox.stats(now())
        if args.json:
            print(json.dumps(attrs.asdict(stats)))
        else:
            age = "-" if stats.oldest_pending_age is None else f"{stats.oldest_pending_age:.1f} s"
            print(
                f"pending {stats.pending} (in flight {stats.in_flight}), done {stats.done}, "
                f"dead {stats.dead}, oldest pending {age}"
            )
        return 0
    if action == "list":
        status = None if args.status is None else MessageStatus(args.status)
        for m in await inbox.list(status, args.limit):
            error = f"  {m.last_error}" if m.last_error else ""
            print(
                f"{m.id:>8}  {m.status.value:<7}  attempts {m.attempts}  "
                f"{_time(m.received_at)}  {m.message_type}{error}"
            )
        return 0
    if action == "show":
        found = await inbox.get(args.id)
        if found is None:
            print(f"xportcn: no message {args.id}", file=sys.stderr)
            return 1
        print(json.dumps(_document(found), indent=2, ensure_ascii=False))
        return 0
    if action == "replay":
        if args.dead:
            print(f"replayed {await inbox.replay_dead(now())} dead message(s)")
            return 0
        if await inbox.replay(args.id, now()):
            print(f"replayed message {args.id}")
            return 0
        print(
            f"xportcn: message {args.id} is not dead or done (or does not exist)", file=sys.stderr
        )
        return 1
    if await inbox.delete(args.id):
        print(f"deleted message {args.id}")
        return 0
    print(f"xportcn: no message {args.id}", file=sys.stderr)
    return 1


def _time(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds")


def _document(m: StoredMessage) -> dict[str, Any]:
    body: Any
    try:
        body = json.loads(m.body)
    except ValueError:
        body = m.body.decode("utf-8", "replace")
    with contextlib.suppress(Exception):
        body["messageBody"] = json.loads(body["messageBody"])
    return {
        "id": m.id,
        "key": m.key,
        "status": m.status.value,
        "type": m.message_type,
        "attempts": m.attempts,
        "received_at": _time(m.received_at),
        "next_attempt_at": _time(m.next_attempt_at),
        "finished_at": _time(m.finished_at),
        "lease_owner": m.lease_owner,
        "lease_until": _time(m.lease_until),
        "last_error": m.last_error,
        "push": body,
    }


__all__ = ["add_parser"]
