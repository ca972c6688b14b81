"""Shapes shared by several API groups."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

from ..wire.fields import country_code, extras_field, request_id_field, wire_field


@attrs.frozen(kw_only=True)
class Money:
    """A logistics-family amount: ``{"amount": "322.92", "currency": "USD"}``. ``amount`` is
    exact; it goes back on the wire as the same string."""

    amount: Decimal
    currency: str | None = None
    extras: dict[str, Any] = extras_field()

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}" if self.currency else str(self.amount)


@attrs.frozen(kw_only=True)
class ReceiverAddress:
    """The overseas consignee. Every field is optional on the wire; ``country`` must be an
    ISO 3166-1 alpha-2 code (``"US"``) when given."""

    country: str | None = wire_field(default=None, check=country_code)
    state: str | None = None
    city: str | None = None
    zip: str | None = None
    address: str | None = None
    name: str | None = None
    phone: str | None = None
    mobile_phone: str | None = None
    email: str | None = None
    tax_id: str | None = None
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class FreightInfo:
    """The chosen international logistics service."""

    service_id: str | None = None
    company_name: str | None = ""
    """Sent as ``""`` unless set, as in the docs' example (a server may require the key)."""
    service_category: str | None = ""
    """Sent as ``""`` unless set, like ``company_name``."""
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class Acknowledgement:
    """A success with no meaningful payload. ``data`` is whatever the server sent (often
    ``None`` or ``True``); ``message`` is the envelope's message."""

    data: Any = None
    message: str | None = None
    request_id: str | None = request_id_field()


__all__ = ["Acknowledgement", "FreightInfo", "Money", "ReceiverAddress"]
