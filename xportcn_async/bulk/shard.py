"""``--shard i/n``: split one input among ``n`` workers by a hash of each booking's key.

Worker ``i`` books its own part first, then goes over the others' parts: there, what the other
workers have booked or are booking is skipped by the journal's claims, and what a stopped
worker left is taken over. So each worker mostly reads and books its own part, no key is ever
booked twice (the claims guarantee that, not the sharding), and the run finishes while one
worker of ``n`` is alive. The hash is the same on every host and Python version.
"""

from __future__ import annotations

import hashlib

import attrs


@attrs.frozen
class Shard:
    """Part ``index`` (from 0) of ``count``."""

    index: int
    count: int

    def __attrs_post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"a shard is i/n with 0 <= i < n, got {self.index}/{self.count}")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"0/3"`` -> ``Shard(0, 3)``."""
        index, sep, count = text.partition("/")
        try:
            if not sep:
                raise ValueError
            return cls(int(index), int(count))
        except ValueError:
            raise ValueError(f"a shard is i/n with 0 <= i < n, e.g. 0/3; got {text!r}") from None

    def owns(self, key: str) -> bool:
        """Whether ``key`` is in this part."""
        digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
        return int.from_bytes(digest, "big") % self.count == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
