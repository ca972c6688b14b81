"""The options declared once and forwarded as ``**options`` (``SearchOptions``,
``BookManyOptions``) keep their types for a ``mypy --strict`` user: a wrong option name or
type is an error at the call, a right one is not."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROGRAM = """
from xportcn_async import BookingRequest, SearchQuery, XportcnClient


async def main(client: XportcnClient, bookings: list[BookingRequest]) -> None:
    query = SearchQuery(sort=("price", "asc"), max_price="20")
    await client.products.search("a", query, page_size=5, filters=["new7"])  # fine
    await client.products.search("a", sort=42)  # line 8: wrong type
    await client.products.search("a", colour="red")  # line 9: no such option
    client.products.iter_image_search(b"img", query, category_id=7)  # fine
    async with client.logistics.book_many(bookings, concurrency=8, ordered=True) as run:
        async for _ in run:
            pass
    client.logistics.book_many(bookings, concurrency="many")  # line 14: wrong type
    client.logistics.book_many(bookings, journal=3)  # line 15: wrong type
    client.logistics.book_many(bookings, parallel=2)  # line 16: no such option
"""


def test_forwarded_options_keep_their_types(tmp_path: Path) -> None:
    path = tmp_path / "typed_options_user.py"
    path.write_text(PROGRAM, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", str(path)],
        cwd=ROOT,  # the project's configuration and its warm cache
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = sorted(
        {int(n) for n in re.findall(r"typed_options_user\.py:(\d+): error", done.stdout)}
    )
    assert lines == [8, 9, 14, 15, 16], done.stdout + done.stderr
