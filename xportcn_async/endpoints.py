"""The endpoint table: every operation declared once, as a typed constant.

``LOGISTICS_BOOK: Endpoint[BookingRequest, Booking]`` says what the operation takes and what
it returns, so ``client.request(LOGISTICS_BOOK, request)`` is typed end to end and no
resource method repeats the result type. The client's resources and the local sandbox both
read this table (:data:`ENDPOINTS`, by name), so a path correction is a one-line change here
(or, at run time, ``XportcnClient(paths={"logistics.book": "/new/path"})``).

- ``auth``: where the signature goes (:class:`Signing`).
- ``envelope``: which of the two reply envelopes the operation answers with
  (:class:`EnvelopeStyle`).
- ``idempotent``: safe to retry when the outcome of an attempt is unknown.
- ``inferred``: what about this entry the public docs do not show (empty when nothing is).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import attrs

from . import models as m
from .envelope import EnvelopeStyle
from .signing import Signing

__all__ = [
    "ADDRESSES_LIST",
    "ADDRESSES_SAVE",
    "ENDPOINTS",
    "IM_DECRYPT_OPEN_UID",
    "LOGISTICS_BOOK",
    "LOGISTICS_ESTIMATE_FREIGHT",
    "LOGISTICS_PREVIEW_FREIGHT",
    "LOGISTICS_UPDATE_DOMESTIC_LOGISTICS",
    "ORDERS_CREATE",
    "ORDERS_DETAIL",
    "ORDERS_LIST",
    "ORDERS_LOGISTICS",
    "ORDERS_PAY",
    "ORDERS_PREVIEW",
    "PRODUCTS_CATEGORY",
    "PRODUCTS_DETAIL",
    "PRODUCTS_DETAIL_MULTI",
    "PRODUCTS_FREIGHT_ESTIMATE",
    "PRODUCTS_IMAGE_SEARCH",
    "PRODUCTS_POOL",
    "PRODUCTS_SEARCH",
    "WMS_FORECAST",
    "WMS_INBOUND",
    "WMS_UPDATE",
    "Auth",
    "Endpoint",
    "EnvelopeStyle",
    "Signing",
]

Req = TypeVar("Req")
Resp = TypeVar("Resp")


Auth = Signing
"""The old name of :class:`Signing`."""


@attrs.frozen(kw_only=True)
class Endpoint(Generic[Req, Resp]):
    """One operation: it takes a ``Req`` model (``None``: no body) and returns a ``Resp``."""

    name: str
    path: str
    auth: Signing
    envelope: EnvelopeStyle
    request: type[Req] | None
    response: type[Resp] | None
    """``None``: the call returns the envelope's ``data`` as is (:meth:`XportcnClient.call`)."""
    idempotent: bool
    data_key: str | None = None
    """When ``data`` is a bare list, the ``response`` model field that holds it."""
    inferred: str = ""
    query_signed: bool = attrs.field(
        init=False,
        default=attrs.Factory(lambda self: self.auth is Signing.HEADERS_AND_QUERY, takes_self=True),
    )
    """The signature is sent in the query too (worked out once: read on every attempt)."""


# -- basics ---------------------------------------------------------------------------
ADDRESSES_LIST: Endpoint[None, m.AddressList] = Endpoint(
    name="addresses.list",
    path="/open/address/list",
    auth=Signing.HEADERS,
    envelope=EnvelopeStyle.KA,
    request=None,
    response=m.AddressList,
    idempotent=True,
    data_key="addresses",
    inferred="path and response shape",
)
ADDRESSES_SAVE: Endpoint[m.Address, m.Acknowledgement] = Endpoint(
    name="addresses.save",
    path="/open/address/addOrUpdate",
    auth=Signing.HEADERS,
    envelope=EnvelopeStyle.KA,
    request=m.Address,
    response=m.Acknowledgement,
    idempotent=False,
)

# -- warehouse logistics --------------------------------------------------------------
LOGISTICS_ESTIMATE_FREIGHT: Endpoint[m.EstimateFreightRequest, m.FreightEstimate] = Endpoint(
    name="logistics.estimate_freight",
    path="/open/pp/logistics/itemLogisticsPrice",
    auth=Signing.HEADERS_AND_QUERY,
    envelope=EnvelopeStyle.LOGISTICS,
    request=m.EstimateFreightRequest,
    response=m.FreightEstimate,
    idempotent=True,
    inferred="response shape",
)
LOGISTICS_PREVIEW_FREIGHT: Endpoint[m.PreviewFreightRequest, m.FreightPreview] = Endpoint(
    name="logistics.preview_freight",
    path="/open/pp/logistics/orderRenderFreight",
    auth=Signing.HEADERS_AND_QUERY,
    envelope=EnvelopeStyle.LOGISTICS,
    request=m.PreviewFreightRequest,
    response=m.FreightPreview,
    idempotent=True,
    inferred="response shape",
)
LOGISTICS_BOOK: Endpoint[m.BookingRequest, m.Booking] = Endpoint(
    name="logistics.book",
    path="/open/pp/logistics/orderBookingFreight",
    auth=Signing.HEADERS_AND_QUERY,
    envelope=EnvelopeStyle.LOGISTICS,
    request=m.BookingRequest,
    response=m.Booking,
    idempotent=False,
    inferred="whether the server deduplicates a renderId",
)
LOGISTICS_UPDATE_DOMESTIC_LOGISTICS: Endpoint[
    m.UpdateDomesticLogisticsRequest, m.Acknowledgement
] = Endpoint(
    name="logistics.update_domestic_logistics",
    path="/open/pp/logistics/updateLogisticInfo",
    auth=Signing.HEADERS_AND_QUERY,
    envelope=EnvelopeStyle.LOGISTICS,
    request=m.UpdateDomesticLogisticsRequest,
    response=m.Acknowledgement,
    idempotent=True,
    inferred="response shape (true)",
)

# -- KA: products ---------------------------------------------------------------------
PRODUCTS_SEARCH: Endpoint[m.ProductSearchRequest, m.ProductPage] = Endpoint(
    name="products.search",
    path="/alibaba/ka/product/keywords/query",
    auth=Signing.HEADERS,
    envelope=EnvelopeStyle.KA,
    request=m.ProductSearchRequest,
    response=m.ProductPage,
    idempotent=True,
    inferred="item fields beyond offerId, subject, imageUrl",
)
PRODUCTS_IMAGE_SEARCH: Endpoint[m.ImageSearchRequest, m.ProductPage] = Endpoint(
    name="products.image_search",
    path="/alibaba/ka/product/image/query",
    auth=Signing.HEADERS,
    envelope=EnvelopeStyle.KA,
    request=m.ImageSearchRequest,
    response=m.ProductPage,
    idempotent=True,
    inferred="path and response shape",
)
PRODUCTS_CATEGORY: Endpoint[m.CategoryRequest, m.Category] = Endpoint(
    name="products.category",
    path="/alibaba/ka/product/category/get",
    auth=Signing.HEADERS,
    envelope=EnvelopeStyle.KA,
    request=m.CategoryRequest,
    response=m.Category,
    idempotent=True,
    inferred="path, request and response shape",
)
PRODUCTS_DETAIL: Endpoint[m.ProductDetailRequest, m.ProductDetail] = Endpoint(
    name="products.detail",
    path="/alibaba/ka/product/detail/get",
    auth=Signing.HEADERS,
    envelope=EnvelopeStyle.KA,
    request=m.ProductDetailRequest,
    response=m.ProductDetail,
    idempotent=True,
    inferred="path and response fields beyond offerId, categoryId, subject",
)
PRODUCTS_DETAIL_MULTI: Endpoint[m.ProductDetailsRequest, m.ProductDetailList] = Endpoint(
    name="products.detail_multi",
    path="/alibaba/ka/product/detail/multi",
    auth=Signing.HEADERS,
    envelope=EnvelopeStyle.KA,
    request=m.ProductDetailsRequest,
    response=m.ProductDetailList,
    idempotent=True,
    data_key="products",
    inferred="path, request and response shape",
)
PRODUCTS_FREIGHT_ESTIMATE: Endpoint[m.ProductFreightRequest, m.ProductFreight] = Endpoint(
    name="products.freight_estimate",
    path="/alibaba/ka/product/freight/estimate",
    auth=Signing.HEADERS,
    envelope=EnvelopeStyle.KA,
    request=m.ProductFreightRequest,
    response=m.ProductFreight,
    idempotent=True,
    inferred="path, request and response shape",
)
PRODUCTS_POOL: Endpoint[m.ProductPoolRequest, m.ProductPage] = Endpoint(
    name="products.pool",
    path="/alibaba/ka/product/pool/list",
    auth=Signing.HEADERS,
    envelope=EnvelopeStyle.KA,
    request=m.ProductPoolRequest,
    response=m.ProductPage,
    idempotent=True,
    inferred="path, request and response shape",
)

# -- KA: orders -----------------------------------------------------------------------
ORDERS_PREVIEW: Endpoint[m.OrderPreviewRequest, m.OrderPreview] = Endpoint(
    name="orders.preview",
    path="/alibaba/ka/order/create/preview",
    auth=Signing.HEADERS,
    envelope=EnvelopeStyle.KA,
    request=m.OrderPreviewRequest,
    response=m.OrderPreview,
    idempotent=True,
    data_key="orders",
)
ORDERS_CREATE: Endpoint[m.CreateOrderRequest, m.CreatedOrder] = Endpoint(
    name="orders.create",
    path="/alibaba/ka/order/create",
    auth=Signing.HEADERS,
    envelope=EnvelopeStyle.KA,
    request=m.CreateOrderRequest,
    response=m.CreatedOrder,
    idempotent=False,
    inferred="response shape",
)
ORDERS_PAY: Endpoint[m.PayOrderRequest, m.Payment] = Endpoint(
    name="orders.pay",
    path="/alibaba/ka/order/pay",
    auth=Signing.HEADERS,
    envelope=EnvelopeStyle.KA,
    request=m.PayOrderRequest,
    response=m.Payment,
    idempotent=False,
    inferred="request and response shape",
)
ORDERS_LIST: Endpoint[m.OrderListRequest, m.OrderPage] = Endpoint(
    name="orders.list",
    path="/alibaba/ka/order/list",
    auth=Signing.HEADERS,
    envelope=EnvelopeStyle.KA,
    request=m.OrderListRequest,
    response=m.OrderPage,
    idempotent=True,
    inferred="path, request and response shape",
)
ORDERS_DETAIL: Endpoint[m.OrderDetailRequest, m.Order] = Endpoint(
    name="orders.detail",
    path="/alibaba/ka/order/detail",
    auth=Signing.HEADERS,
    envelope=EnvelopeStyle.KA,
    request=m.OrderDetailRequest,
    response=m.Order,
    idempotent=True,
    inferred="path and response shape",
)
ORDERS_LOGISTICS: Endpoint[m.OrderLogisticsRequest, m.OrderLogistics] = Endpoint(
    name="orders.logistics",
    path="/alibaba/ka/order/logistics",
    auth=Signing.HEADERS,
    envelope=EnvelopeStyle.KA,
    request=m.OrderLogisticsRequest,
    response=m.OrderLogistics,
    idempotent=True,
    data_key="parcels",
    inferred="path, request and response shape",
)

# -- KA: IM ---------------------------------------------------------------------------
IM_DECRYPT_OPEN_UID: Endpoint[m.DecryptOpenUidRequest, m.SellerContact] = Endpoint(
    name="im.decrypt_open_uid",
    path="/alibaba/ka/im/openuid/decrypt",
    auth=Signing.HEADERS,
    envelope=EnvelopeStyle.KA,
    request=m.DecryptOpenUidRequest,
    response=m.SellerContact,
    idempotent=True,
    inferred="response shape",
)

# -- wms (snake_case bodies) ----------------------------------------------------------
WMS_FORECAST: Endpoint[m.PackageForecastRequest, m.WmsPackage] = Endpoint(
    name="wms.forecast",
    path="/wms/package/forecast",
    auth=Signing.HEADERS,
    envelope=EnvelopeStyle.KA,
    request=m.PackageForecastRequest,
    response=m.WmsPackage,
    idempotent=False,
    inferred="request and response shape",
)
WMS_INBOUND: Endpoint[m.PackageInboundRequest, m.WmsPackage] = Endpoint(
    name="wms.inbound",
    path="/wms/package/inbound",
    auth=Signing.HEADERS,
    envelope=EnvelopeStyle.KA,
    request=m.PackageInboundRequest,
    response=m.WmsPackage,
    idempotent=False,
    inferred="response shape (the docs mark the endpoint Developing)",
)
WMS_UPDATE: Endpoint[m.PackageUpdateRequest, m.WmsPackage] = Endpoint(
    name="wms.update",
    path="/wms/package/update",
    auth=Signing.HEADERS,
    envelope=EnvelopeStyle.KA,
    request=m.PackageUpdateRequest,
    response=m.WmsPackage,
    idempotent=True,
    inferred="request and response shape",
)


ENDPOINTS: dict[str, Endpoint[Any, Any]] = {
    e.name: e
    for e in (
        ADDRESSES_LIST,
        ADDRESSES_SAVE,
        LOGISTICS_ESTIMATE_FREIGHT,
        LOGISTICS_PREVIEW_FREIGHT,
        LOGISTICS_BOOK,
        LOGISTICS_UPDATE_DOMESTIC_LOGISTICS,
        PRODUCTS_SEARCH,
        PRODUCTS_IMAGE_SEARCH,
        PRODUCTS_CATEGORY,
        PRODUCTS_DETAIL,
        PRODUCTS_DETAIL_MULTI,
        PRODUCTS_FREIGHT_ESTIMATE,
        PRODUCTS_POOL,
        ORDERS_PREVIEW,
        ORDERS_CREATE,
        ORDERS_PAY,
        ORDERS_LIST,
        ORDERS_DETAIL,
        ORDERS_LOGISTICS,
        IM_DECRYPT_OPEN_UID,
        WMS_FORECAST,
        WMS_INBOUND,
        WMS_UPDATE,
    )
}
"""Every operation by name (``"logistics.book"``)."""
