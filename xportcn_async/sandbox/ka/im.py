"""The IM handler (API.md §4.6): an ``openUid`` decrypts to the seller's Wangwang nickname."""

from __future__ import annotations

import zlib
from typing import Any

from .. import checks as c
from ..registry import operation
from ..state import SandboxState
from .catalogue import catalogue

__all__: list[str] = []


@operation("im.decrypt_open_uid")
def decrypt_open_uid(state: SandboxState, body: dict[str, Any]) -> Any:
    open_uid = c.string(body, "openUid")
    offer_id = c.numeric_id(body, "offerId")
    assert open_uid is not None
    product = catalogue().get(offer_id)
    if product is not None and product.seller.open_uid == open_uid:
        nickname = product.seller.nickname
    else:  # any other open uid decrypts to a stable made-up seller
        nickname = f"sandbox_seller_{zlib.crc32(open_uid.encode()):08x}"
    return {
        "wangwangNick": nickname,
        "imUrl": f"https://sandbox.xportcn.invalid/im?touid={nickname}",
    }
