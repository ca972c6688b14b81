"""The account's Chinese addresses (API.md §4.3)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from ..wire.fields import extras_field, request_id_field, wire_field


@attrs.frozen(kw_only=True)
class Address:
    """A saved address. ``id`` 0 or ``None`` creates a new one when saved; an existing id
    updates it."""

    id: int | None = None
    name: str | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    address: str | None = None
    phone: str | None = None
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class AddressList:
    """The account's addresses; iterate it like a list."""

    addresses: list[Address] = wire_field(factory=list)
    request_id: str | None = request_id_field()

    def __iter__(self) -> Iterator[Address]:
        return iter(self.addresses)

    def __len__(self) -> int:
        return len(self.addresses)

    def __getitem__(self, index: int) -> Address:
        return self.addresses[index]
