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
    # -- KA: products ---------------------------------------------------------------------
    Endpoint(
        name="products.search",
        path="/alibaba/ka/product/keywords/query",
        auth="H",
        envelope="K",
        request=m.ProductSearchRequest,
        response=m.ProductPage,
        idempotent=True,
        inferred="item fields beyond offerId, subject, imageUrl",
    ),
    Endpoint(
        name="products.image_search",
        path="/alibaba/ka/product/image/query",
        auth="H",
        envelope="K",
        request=m.ImageSearchRequest,
        response=m.ProductPage,
        idempotent=True,
        inferred="path and response shape",
    ),
    Endpoint(
        name="products.category",
        path="/alibaba/ka/product/category/get",
        auth="H",
        envelope="K",
        request=m.CategoryRequest,
        response=m.Category,
        idempotent=True,
        inferred="path, request and response shape",
    ),
    Endpoint(
        name="products.detail",
        path="/alibaba/ka/product/detail/get",
        auth="H",
        envelope="K",
        request=m.ProductDetailRequest,
        response=m.ProductDetail,
        idempotent=True,
        inferred="path and response fields beyond offerId, categoryId, subject",
    ),
    Endpoint(
        name="products.detail_multi",
        path="/alibaba/ka/product/detail/multi",
        auth="H",
        envelope="K",
        request=m.ProductDetailsRequest,
        response=m.ProductDetailList,
        idempotent=True,
        data_key="products",
        inferred="path, request and response shape",
    ),
    Endpoint(
        name="products.freight_estimate",
        path="/alibaba/ka/product/freight/estimate",
        auth="H",
        envelope="K",
        request=m.ProductFreightRequest,
        response=m.ProductFreight,
        idempotent=True,
        inferred="path, request and response shape",
    ),
    Endpoint(
        name="products.pool",
        path="/alibaba/ka/product/pool/list",
        auth="H",
        envelope="K",
        request=m.ProductPoolRequest,
        response=m.ProductPage,
        idempotent=True,
        inferred="path, request and response shape",
    ),
    # -- KA: orders -----------------------------------------------------------------------
    Endpoint(
        name="orders.preview",
        path="/alibaba/ka/order/create/preview",
        auth="H",
        envelope="K",
        request=m.OrderPreviewRequest,
        response=m.OrderPreview,
        idempotent=True,
        data_key="orders",
    ),
    Endpoint(
        name="orders.create",
        path="/alibaba/ka/order/create",
        auth="H",
        envelope="K",
        request=m.CreateOrderRequest,
        response=m.CreatedOrder,
        idempotent=False,
        inferred="response shape",
    ),
    Endpoint(
        name="orders.pay",
        path="/alibaba/ka/order/pay",
        auth="H",
        envelope="K",
        request=m.PayOrderRequest,
        response=m.Payment,
        idempotent=False,
        inferred="request and response shape",
    ),
    Endpoint(
        name="orders.list",
        path="/alibaba/ka/order/list",
        auth="H",
        envelope="K",
        request=m.OrderListRequest,
        response=m.OrderPage,
        idempotent=True,
        inferred="path, request and response shape",
    ),
    Endpoint(
        name="orders.detail",
        path="/alibaba/ka/order/detail",
        auth="H",
        envelope="K",
        request=m.OrderDetailRequest,
        response=m.Order,
        idempotent=True,
        inferred="path and response shape",
    ),
    Endpoint(
        name="orders.logistics",
        path="/alibaba/ka/order/logistics",
        auth="H",
        envelope="K",
        request=m.OrderLogisticsRequest,
        response=m.OrderLogistics,
        idempotent=True,
        data_key="parcels",
        inferred="path, request and response shape",
    ),
    # -- KA: IM ---------------------------------------------------------------------------
    Endpoint(
        name="im.decrypt_open_uid",
        path="/alibaba/ka/im/openuid/decrypt",
        auth="H",
        envelope="K",
        request=m.DecryptOpenUidRequest,
        response=m.SellerContact,
        idempotent=True,
        inferred="response shape",
    ),
    # -- wms (snake_case bodies) ----------------------------------------------------------
    Endpoint(
        name="wms.forecast",
        path="/wms/package/forecast",
        auth="H",
        envelope="K",
        request=m.PackageForecastRequest,
        response=m.WmsPackage,
        idempotent=False,
        inferred="request and response shape",
    ),
    Endpoint(
        name="wms.inbound",
        path="/wms/package/inbound",
        auth="H",
        envelope="K",
        request=m.PackageInboundRequest,
        response=m.WmsPackage,
        idempotent=False,
        inferred="response shape (the docs mark the endpoint Developing)",
    ),
    Endpoint(
        name="wms.update",
        path="/wms/package/update",
        auth="H",
        envelope="K",
        request=m.PackageUpdateRequest,
        response=m.WmsPackage,
        idempotent=True,
        inferred="request and response shape",
    ),
)
