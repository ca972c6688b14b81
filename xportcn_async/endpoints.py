"""The endpoint table: every operation declared once. The client's resources and the local
sandbox both read it, so a path correction is a one-line change here (or, at run time,
``XportcnClient(paths={"logistics.book": "/new/path"})``).

``auth``: ``"H"`` signs with headers only; ``"Q"`` also sends ``?timestamp=&sign=``.
``envelope``: ``"L"`` (``errorCode``/``success``) or ``"K"`` (``code``/``requestId``).
``idempotent``: safe to retry when the outcome of an attempt is unknown.
``inferred``: what about this entry the public docs do not show (empty when nothing is).
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from . import models as m

Auth = Literal["H", "Q"]
EnvelopeStyle = Literal["K", "L"]


@attrs.frozen(kw_only=True)
class Endpoint:
    name: str
    path: str
    auth: Auth
    envelope: EnvelopeStyle
    request: type[Any] | None
    response: type[Any] | None
    idempotent: bool
    data_key: str | None = None
    """When ``data`` is a bare list, the ``response`` model field that holds it."""
    inferred: str = ""


def _table(*endpoints: Endpoint) -> dict[str, Endpoint]:
    return {e.name: e for e in endpoints}


ENDPOINTS: dict[str, Endpoint] = _table(
    # -- basics ---------------------------------------------------------------------------
    Endpoint(
        name="addresses.list",
        path="/open/address/list",
        auth="H",
        envelope="K",
        request=None,
        response=m.AddressList,
        idempotent=True,
        data_key="addresses",
        inferred="path and response shape",
    ),
    Endpoint(
        name="addresses.save",
        path="/open/address/addOrUpdate",
        auth="H",
        envelope="K",
        request=m.Address,
        response=m.Acknowledgement,
        idempotent=False,
    ),
    # -- warehouse logistics --------------------------------------------------------------
    Endpoint(
        name="logistics.estimate_freight",
        path="/open/pp/logistics/itemLogisticsPrice",
        auth="Q",
        envelope="L",
        request=m.EstimateFreightRequest,
        response=m.FreightEstimate,
        idempotent=True,
        inferred="response shape",
    ),
    Endpoint(
        name="logistics.preview_freight",
        path="/open/pp/logistics/orderRenderFreight",
        auth="Q",
        envelope="L",
        request=m.PreviewFreightRequest,
        response=m.FreightPreview,
        idempotent=True,
        inferred="response shape",
    ),
    Endpoint(
        name="logistics.book",
        path="/open/pp/logistics/orderBookingFreight",
        auth="Q",
        envelope="L",
        request=m.BookingRequest,
        response=m.Booking,
        idempotent=False,
        inferred="whether the server deduplicates a renderId",
    ),
    Endpoint(
        name="logistics.update_domestic_logistics",
        path="/open/pp/logistics/updateLogisticInfo",
        auth="Q",
        envelope="L",
        request=m.UpdateDomesticLogisticsRequest,
        response=m.Acknowledgement,
        idempotent=True,
        inferred="response shape (true)",
    ),
)
