"""``--shard i/n``: every booking in exactly one part, the same part on every host, and a
worker's own part read first."""

from __future__ import annotations

import io
import json
from collections import Counter

import pytest

from xportcn_async.bulk import Shard
from xportcn_async.commands.book import read_shard

from .test_bulk import ORDERS


def test_every_key_is_in_exactly_one_part_and_the_parts_are_even() -> None:
    keys = [f"tmall:{n}" for n in range(3000)]
    parts = [Shard(i, 3) for i in range(3)]
    owners = Counter(sum(1 for p in parts if p.owns(k)) for k in keys)
    assert owners == {1: 3000}
    sizes = [sum(1 for k in keys if p.owns(k)) for p in parts]
    assert min(sizes) > 900  # a fair hash: about 1,000 each


def test_the_part_of_a_key_is_fixed_for_every_host_and_python_version() -> None:
    # blake2b, not hash(): these values must never change, or workers of two versions
    # would split the input differently (the claims would still keep it exactly once)
    assert [i for i in range(4) if Shard(i, 4).owns("tmall:7300000005")] == [2]
    assert [i for i in range(4) if Shard(i, 4).owns("FF2026113000001")] == [3]


@pytest.mark.parametrize("text", ["", "1", "3/3", "-1/3", "a/b", "1/0", "0/3/1"])
def test_a_shard_that_is_not_i_of_n_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="i/n"):
        Shard.parse(text)


def test_a_worker_reads_its_own_part_first_then_the_rest_each_line_once() -> None:
    lines = []
    for n in range(60):
        lines.append(json.dumps({**ORDERS[0], "tmallOrderInfo": {"tmallOrderId": f"S{n}"}}))
        if n % 10 == 0:
            lines.append("")  # blank lines are no bookings
    lines.append("not json")
    data = ("\n".join(lines) + "\n").encode()
    shard = Shard(1, 3)
    line_numbers: dict[int, int] = {}
    items = list(read_shard(io.BytesIO(data), line_numbers, shard))
    assert len(items) == 61 and sorted(line_numbers.values()) == sorted(
        n for n, line in enumerate(lines, start=1) if line
    )
    owned = [shard.owns(i.key) for i in items]
    first_other = owned.index(False)
    assert all(owned[:first_other]) and not any(owned[first_other:])
    assert 10 < first_other < 40
    # the line numbers follow the items through the reordering
    for index, item in enumerate(items):
        if item.key.startswith("tmall:S"):
            n = int(item.key.removeprefix("tmall:S"))
            assert (
                json.loads(lines[line_numbers[index] - 1])["tmallOrderInfo"]["tmallOrderId"]
                == f"S{n}"
            )
