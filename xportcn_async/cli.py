"""The ``xportcn`` command line.

xportcn book orders.jsonl --sandbox              # bulk booking against the local sandbox
xportcn book orders.jsonl                        # against production (credentials from env)
xportcn example-orders 50 > orders.jsonl         # realistic bookings to try it with
xportcn sandbox --port 8080                      # serve the sandbox until interrupted
xportcn webhooks serve --inbox inbox.sqlite3     # store message pushes durably (see webhooks/cli.py)
xportcn book orders.jsonl --journal postgresql://host/db   # on many workers, any hosts
xportcn journal stats postgresql://host/db       # where a shared run stands

Each subcommand adds its parser in :func:`build_parser` and sets ``run``: a function of the
parsed arguments that returns the exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from . import __version__
from .commands import book, journal
from .commands.display import quiet_stdout
from .errors import ConfigurationError
from .examples import DEFAULT_SEED, example_lines
from .sandbox import cli as sandbox_cli
from .webhooks import cli as webhooks_cli


def _example_orders(args: argparse.Namespace) -> int:
    if args.count < 0:
        raise ConfigurationError("COUNT must not be negative")
    sys.stdout.writelines(example_lines(args.count, seed=args.seed))
    sys.stdout.flush()
    return 0


def _sandbox(args: argparse.Namespace) -> int:
    return asyncio.run(sandbox_cli.run(args))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xportcn", description="Xportcn KA open API tools")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    book.add_parser(sub)
    journal.add_parser(sub)

    examples = sub.add_parser(
        "example-orders",
        help="print realistic example bookings (JSONL) to try `book` with",
        description="Print COUNT realistic bookings, one JSON object a line, in the wire "
        "format `xportcn book` reads. The same --seed gives the same bookings.",
    )
    examples.add_argument("count", type=int, nargs="?", default=300, metavar="COUNT")
    examples.add_argument("--seed", type=int, default=DEFAULT_SEED, help="(default %(default)s)")
    examples.set_defaults(run=_example_orders)

    sandbox = sub.add_parser("sandbox", help="serve the local sandbox until interrupted")
    sandbox_cli.add_arguments(sandbox)
    sandbox.set_defaults(run=_sandbox)

    webhooks_cli.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
        return code
    except ConfigurationError as exc:
        sys.stderr.write(f"xportcn: {exc}\n")
        return 2
    except BrokenPipeError:  # `xportcn example-orders | head`: the reader has all it wants
        quiet_stdout()
        return 0
    except OSError as exc:  # e.g. the results file or the journal cannot be opened
        sys.stderr.write(f"xportcn: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
