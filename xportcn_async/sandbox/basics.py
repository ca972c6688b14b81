"""Basics handlers (API.md §4.3): the account's Chinese addresses.

``addOrUpdate`` with ``id`` 0 or absent creates an address (ids count up from 1), with an
existing id updates the fields sent, with an unknown id answers 404. It answers style K
with ``code`` 0, like the docs' example, and (a sandbox extension) ``data: {"id": N}``.
"""

from __future__ import annotations

from typing import Any

from . import checks as c
from .registry import Reply, SandboxError, operation
from .state import SandboxState

ADDRESS_FIELDS = ("name", "province", "city", "district", "address", "phone")


@operation("addresses.list")
def list_addresses(state: SandboxState, body: dict[str, Any]) -> Any:
    return [dict(a) for _, a in sorted(state.addresses.items())]


@operation("addresses.save")
def save_address(state: SandboxState, body: dict[str, Any]) -> Any:
    address_id = c.integer(body, "id", required=False) or 0
    if address_id < 0:
        raise c.bad("id", f"must be 0 (create) or an existing id, got {address_id}")
    fields = {}
    for key in ADDRESS_FIELDS:
        value = c.string(body, key, required=False)
        if value is not None:
            fields[key] = value
    if address_id == 0:
        if not fields.get("name", "").strip():
            raise c.bad("name", "required when creating an address")
        address_id = state.new_address_id()
        state.addresses[address_id] = {"id": address_id, **fields}
    else:
        existing = state.addresses.get(address_id)
        if existing is None:
            raise SandboxError(404, f"unknown address id {address_id}")
        existing.update(fields)
    return Reply({"id": address_id}, code=0)
