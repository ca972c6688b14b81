"""Regenerate examples/orders.jsonl: realistic bookings in wire format, deterministic.

python examples/make_orders.py [COUNT] > examples/orders.jsonl

The same as ``xportcn example-orders COUNT`` (the generator is xportcn_async.examples).
"""

from __future__ import annotations

import sys

from xportcn_async.examples import example_lines


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    sys.stdout.writelines(example_lines(count))


if __name__ == "__main__":
    main()
