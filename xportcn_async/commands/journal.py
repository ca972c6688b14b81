"""``xportcn journal init|stats|list URL``: a shared PostgreSQL journal, seen by an operator.

``init`` creates the tables (workers also create them on first use; ``init`` lets a database
owner do it once, with rights the workers then need not have). ``stats`` counts the keys of a
journal by status and lists its workers, live or stopped; ``list`` prints its rows as JSON
lines, e.g. the ``unknown`` ones to check by hand. Both show what a row means now: a booking
started by a worker whose lease has run out is ``unknown``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from ..bulk import DEFAULT_JOURNAL_NAME, DEFAULT_LEASE, JournalStatus, PostgresJournal
from ..bulk.booking import POSTGRES_SCHEMES
from ..bulk.postgres import create_schema, describe_url
from ..errors import ConfigurationError
from .display import print_table

STATUSES = [*(s.value for s in JournalStatus), "abandoned"]


def _url(args: argparse.Namespace) -> str:
    url: str = args.url
    if not url.startswith(POSTGRES_SCHEMES):
        raise ConfigurationError(
            "URL must be a PostgreSQL URL (postgresql://user@host:port/database); "
            "a journal file is plain JSONL"
        )
    return url


def _journal(args: argparse.Namespace) -> PostgresJournal:
    return PostgresJournal(
        _url(args), name=args.journal_name, lease=args.journal_lease, pool_size=2
    )


def _init(args: argparse.Namespace) -> int:
    url = _url(args)
    created = asyncio.run(create_schema(url))
    state = "created" if created else "already there"
    sys.stdout.write(f"journal tables in {describe_url(url)}: {state}\n")
    return 0


def _stats(args: argparse.Namespace) -> int:
    async def read() -> Any:
        async with _journal(args) as journal:
            return await journal.stats()

    stats = asyncio.run(read())
    rows = [(status, str(n)) for status, n in sorted(stats.counts.items())]
    rows.append(("total", str(stats.total)))
    for worker in stats.workers:
        state = "live" if worker.live else "stopped (lease run out)"
        rows.append((f"worker {worker.label}", f"{state}, last heartbeat {worker.heartbeat_at}"))
    print_table(f"Journal {stats.name!r}", rows, sys.stdout)
    return 0


def _list(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        raise ConfigurationError("--limit must be at least 1")

    async def read() -> list[dict[str, Any]]:
        async with _journal(args) as journal:
            return await journal.entries(args.status or (), limit=args.limit)

    for entry in asyncio.run(read()):
        sys.stdout.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return 0


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``journal`` to the ``xportcn`` subcommands."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "journal",
        help="a shared PostgreSQL journal: create its tables, see where a run stands",
        description="A PostgreSQL booking journal, shared by the workers of `xportcn book "
        "--journal postgresql://...`.",
    )
    commands = parser.add_subparsers(dest="journal_command", required=True, metavar="COMMAND")
    init = commands.add_parser("init", help="create the journal's tables (if missing)")
    init.add_argument("url", metavar="URL", help="postgresql://user@host:port/database")
    init.set_defaults(run=_init)
    for name, run, text in (
        ("stats", _stats, "keys by status, and the workers, across all workers"),
        ("list", _list, "the rows, as JSON lines (key, status, renderId, order, error, ...)"),
    ):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument("url", metavar="URL", help="postgresql://user@host:port/database")
        command.add_argument(
            "--journal-name",
            metavar="NAME",
            default=DEFAULT_JOURNAL_NAME,
            help="the run's name (default %(default)s)",
        )
        command.add_argument(
            "--journal-lease",
            metavar="SECONDS",
            type=float,
            default=DEFAULT_LEASE,
            help="the workers' lease, to tell stopped workers' bookings (default %(default)g)",
        )
        command.set_defaults(run=run)
    parser_list = commands.choices["list"]
    parser_list.add_argument(
        "--status",
        action="append",
        choices=STATUSES,
        help="only rows with this status (repeatable); e.g. --status unknown",
    )
    parser_list.add_argument("--limit", type=int, default=None, help="at most this many rows")
    return parser
