"""Warehouse (wms) packages (API.md §4.6): forecast, inbound, update.

Unlike the rest of the API, wms bodies are **snake_case** on the wire, so every field here
names its wire key. Sizes and weights keep the form they were sent in: the docs' example
sends ``"width": "34"`` (a string) beside numbers, and it goes back out the same way. Only
the inbound request is documented ("Developing" in the docs); the forecast and update
requests and every result shape are **inferred**.
"""

from __future__ import annotations

from typing import Any

import attrs

from ..wire.fields import extras_field, non_empty, request_id_field, tolerant, wire_field
from ..wire.types import NumberOrText


@tolerant
@attrs.frozen(kw_only=True)
class QualityInspection:
    """The warehouse's check of a package. ``weight`` and the sizes are as sent (numbers or
    numeric strings; kilograms and centimetres, inferred)."""

    status: str | None = None
    weight: NumberOrText | None = None
    length: NumberOrText | None = None
    width: NumberOrText | None = None
    height: NumberOrText | None = None
    failure_remark: str | None = wire_field(default=None, wire="failed_remark")
    images: list[str] | None = None
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class PackageForecastRequest:
    """Announce a package before it reaches the warehouse (inferred shape)."""

    out_order_id: str = wire_field(wire="out_order_id", check=non_empty)
    alibaba_order_id: str | None = wire_field(default=None, wire="alibaba_order_id")
    tracking_number: str = wire_field(wire="logistics_tracking_number", check=non_empty)
    carrier: str | None = wire_field(default=None, wire="logistics_company")
    remark: str | None = None
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class PackageInboundRequest:
    """Record a package's arrival at the warehouse and its quality inspection."""

    out_order_id: str = wire_field(wire="out_order_id", check=non_empty)
    alibaba_order_id: str | None = wire_field(default=None, wire="alibaba_order_id")
    tracking_number: str = wire_field(wire="logistics_tracking_number", check=non_empty)
    inspection: QualityInspection | None = wire_field(default=None, wire="quality_inspection_info")
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class PackageUpdateRequest:
    """Change a package, found by ``out_order_id`` (inferred shape). Fields left ``None``
    are not sent and stay as they are."""

    out_order_id: str = wire_field(wire="out_order_id", check=non_empty)
    alibaba_order_id: str | None = wire_field(default=None, wire="alibaba_order_id")
    tracking_number: str | None = wire_field(default=None, wire="logistics_tracking_number")
    carrier: str | None = wire_field(default=None, wire="logistics_company")
    inspection: QualityInspection | None = wire_field(default=None, wire="quality_inspection_info")
    remark: str | None = None
    extras: dict[str, Any] = extras_field()


@tolerant
@attrs.frozen(kw_only=True)
class WmsPackage:
    """A warehouse package as the warehouse holds it (inferred shape)."""

    package_id: str | None = wire_field(default=None, wire="package_id")
    out_order_id: str | None = wire_field(default=None, wire="out_order_id")
    alibaba_order_id: str | None = wire_field(default=None, wire="alibaba_order_id")
    tracking_number: str | None = wire_field(default=None, wire="logistics_tracking_number")
    carrier: str | None = wire_field(default=None, wire="logistics_company")
    status: str | None = None
    inspection: QualityInspection | None = wire_field(default=None, wire="quality_inspection_info")
    remark: str | None = None
    extras: dict[str, Any] = extras_field()
    request_id: str | None = request_id_field()


__all__ = [
    "PackageForecastRequest",
    "PackageInboundRequest",
    "PackageUpdateRequest",
    "QualityInspection",
    "WmsPackage",
]
