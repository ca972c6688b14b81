"""The wms handlers (API.md §4.6): warehouse packages, kept by ``out_order_id``.

``forecast`` announces a package (409 if known), ``inbound`` records its arrival and
inspection (creating it if it was not forecast; 409 if already received), ``update``
changes the fields sent (404 if unknown). The wms bodies are snake_case on the wire.
"""

from __future__ import annotations

from typing import Any

from .. import checks as c
from ..registry import SandboxError, operation
from ..state import SandboxState
from .state import PACKAGE_INBOUND, KaState, WmsPackageRecord, ka_state

__all__: list[str] = []

_SIZES = ("weight", "length", "width", "height")


def _inspection(body: dict[str, Any]) -> dict[str, Any] | None:
    info = c.obj(body, "quality_inspection_info", required=False)
    if info is None:
        return None
    path = "quality_inspection_info"
    c.string(info, "status", path, required=False)
    c.string(info, "failed_remark", path, required=False)
    for key in _SIZES:
        c.non_negative_decimal(info, key, path)
    images = info.get("images")
    if images is not None and (
        not isinstance(images, list) or not all(isinstance(i, str) for i in images)
    ):
        raise c.bad(c.at(path, "images"), "must be an array of URLs")
    return dict(info)


def _package_fields(body: dict[str, Any], *, required: bool) -> dict[str, Any]:
    fields = {
        "alibaba_order_id": c.id_string(body, "alibaba_order_id")
        if body.get("alibaba_order_id") is not None
        else None,
        "logistics_tracking_number": c.string(body, "logistics_tracking_number", required=required),
        "logistics_company": c.string(body, "logistics_company", required=False),
        "remark": c.string(body, "remark", required=False),
    }
    return {k: v for k, v in fields.items() if v is not None}


def _request(
    state: SandboxState, body: dict[str, Any], *, required: bool
) -> tuple[KaState, str, dict[str, Any]]:
    """What every wms call sends: ``(state, out_order_id, fields sent)``."""
    out_order_id = c.id_string(body, "out_order_id")
    return ka_state(state), out_order_id, _package_fields(body, required=required)


@operation("wms.forecast")
def forecast_package(state: SandboxState, body: dict[str, Any]) -> Any:
    ka, out_order_id, fields = _request(state, body, required=True)
    if out_order_id in ka.packages:
        raise SandboxError(409, f"package {out_order_id!r} is already known; update it instead")
    package = WmsPackageRecord(ka.new_package_id(), out_order_id, **fields)
    ka.packages[out_order_id] = package
    return package.to_wire()


@operation("wms.inbound")
def inbound_package(state: SandboxState, body: dict[str, Any]) -> Any:
    ka, out_order_id, fields = _request(state, body, required=True)
    fields.update(quality_inspection_info=_inspection(body), status=PACKAGE_INBOUND)
    package = ka.packages.get(out_order_id)
    if package is None:
        package = ka.packages[out_order_id] = WmsPackageRecord(ka.new_package_id(), out_order_id)
    elif package.status == PACKAGE_INBOUND:
        raise SandboxError(409, f"package {out_order_id!r} was already received")
    return _updated(package, fields)


@operation("wms.update")
def update_package(state: SandboxState, body: dict[str, Any]) -> Any:
    ka, out_order_id, fields = _request(state, body, required=False)
    inspection = _inspection(body)
    if inspection is not None:
        fields["quality_inspection_info"] = inspection
    package = ka.packages.get(out_order_id)
    if package is None:
        raise SandboxError(404, f"unknown out_order_id {out_order_id!r}: forecast it first")
    return _updated(package, fields)


def _updated(package: WmsPackageRecord, fields: dict[str, Any]) -> dict[str, Any]:
    """Set ``fields`` on ``package``; answer it."""
    for key, value in fields.items():
        setattr(package, key, value)
    return package.to_wire()
