"""Typed resource methods: thin wrappers over the endpoint table."""

from ._base import Resource
from .addresses import AddressesResource
from .im import ImResource
from .logistics import LogisticsResource
from .orders import OrdersResource, PreviewRejectedError
from .products import ProductsResource, SearchOptions, SearchQuery
from .wms import WmsResource

__all__ = [
    "AddressesResource",
    "ImResource",
    "LogisticsResource",
    "OrdersResource",
    "PreviewRejectedError",
    "ProductsResource",
    "Resource",
    "SearchOptions",
    "SearchQuery",
    "WmsResource",
]
