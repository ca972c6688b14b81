"""A worker of a PostgreSQL journal that is killed in the middle of its run, for
tests/test_journal_postgres.py (run as ``python -m tests.journal_worker``).

It joins journal ``name`` with ``lease``, claims ``started_key`` and records it ``started``
with ``render_id`` (as right before a booking is sent), claims ``claimed_key`` only (as while
its preview is in flight), prints ``ready`` and waits to be killed.
"""

from __future__ import annotations

import asyncio
import sys

from xportcn_async import BookingRequest, from_wire
from xportcn_async.bulk import ClaimKind, PostgresJournal

from .test_bulk import ORDERS


async def _main(
    url: str, name: str, lease: float, started: str, render_id: str, claimed: str
) -> None:
    journal = PostgresJournal(url, name=name, lease=lease)
    await journal.begin_run()
    for key in (started, claimed):
        item = from_wire({**ORDERS[0], "tmallOrderInfo": {"tmallOrderId": key}}, BookingRequest)
        claim = await journal.claim(item, resend_unknown=False)
        assert claim.kind is ClaimKind.BOOK, claim
    await journal.started(f"tmall:{started}", render_id)
    print("ready", flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    url, name, lease, started, render_id, claimed = sys.argv[1:]
    asyncio.run(_main(url, name, float(lease), started, render_id, claimed))
