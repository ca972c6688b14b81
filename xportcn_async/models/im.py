"""KA IM (API.md §4.6): decrypt the open uid of a seller into its IM identity."""

from __future__ import annotations

from typing import Any

import attrs

from ..wire.fields import extras_field, non_empty, request_id_field, tolerant, wire_field


@attrs.frozen(kw_only=True)
class DecryptOpenUidRequest:
    """``offer_id`` is a string here, as in the docs' example (product detail sends an
    integer)."""

    open_uid: str = wire_field(check=non_empty)
    offer_id: str = wire_field(check=non_empty)
    extras: dict[str, Any] = extras_field()


@tolerant
@attrs.frozen(kw_only=True)
class SellerContact:
    """The seller behind an open uid (inferred shape): its Wangwang (IM) nickname and a link
    that opens a chat."""

    nickname: str | None = wire_field(default=None, wire="wangwangNick")
    im_url: str | None = None
    extras: dict[str, Any] = extras_field()
    request_id: str | None = request_id_field()


__all__ = ["DecryptOpenUidRequest", "SellerContact"]
