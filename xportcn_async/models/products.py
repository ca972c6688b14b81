"""KA products (API.md §4.4): search by keyword or image, categories, details, freight, pool.

Request shapes follow the docs' examples field for field. Only the keyword search's page
shape and the detail's first fields are public; every other result shape is **inferred**:
its fields are optional, and anything else the server sends stays in ``extras``.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import attrs

from ..wire.fields import (
    extras_field,
    non_empty,
    positive,
    request_id_field,
    tolerant,
    wire_field,
)
from ..wire.types import Fen, SearchFilters, SearchSort
from .ka import page_is_last


def _image_repr(value: str | None) -> str:
    return "None" if value is None else f"<{len(value)} base64 characters>"


# -- requests -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ProductSearchRequest:
    """Keyword search (``/alibaba/ka/product/keywords/query``). ``page`` is 1-based.

    ``min_price``/``max_price`` are yuan, sent as decimal strings (``"633.69"``).
    ``out_member_id`` is your own id for the end buyer, if you pass one to Xportcn.
    """

    keyword: str = wire_field(check=non_empty)
    page: int = wire_field(default=1, wire="beginPage", check=positive)
    page_size: int = wire_field(default=20, check=positive)
    country: str = "en"
    filters: SearchFilters | None = wire_field(default=None, wire="filter")
    sort: SearchSort | None = None
    out_member_id: str | None = None
    min_price: Decimal | None = wire_field(default=None, wire="priceStart")
    max_price: Decimal | None = wire_field(default=None, wire="priceEnd")
    category_id: str | None = None
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class ImageSearchRequest:
    """Image search (``/alibaba/ka/product/image/query``): by ``image_base64`` (the image
    file, base64-encoded) or by ``image_url``. ``region`` narrows the search to part of the
    image. The keyword-search options apply too."""

    image_base64: str | None = wire_field(default=None, repr=_image_repr)
    page: int = wire_field(default=1, wire="beginPage", check=positive)
    page_size: int = wire_field(default=20, check=positive)
    country: str = "en"
    image_url: str | None = wire_field(default=None, wire="imageAddress")
    out_member_id: str | None = None
    region: str | None = None
    keyword: str | None = None
    filters: SearchFilters | None = wire_field(default=None, wire="filter")
    sort: SearchSort | None = None
    min_price: Decimal | None = wire_field(default=None, wire="priceStart")
    max_price: Decimal | None = wire_field(default=None, wire="priceEnd")
    category_id: str | None = None
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class CategoryRequest:
    """One category and its children; ``category_id`` 0 is the root (inferred)."""

    category_id: int
    country: str = "en"
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class ProductDetailRequest:
    """One product's detail (``offerId`` is an integer on the wire)."""

    offer_id: int = wire_field(check=positive)
    country: str = "en"
    out_member_id: str | None = None
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class ProductDetailsRequest:
    """Several products' details in one call (inferred shape)."""

    offer_ids: list[int] = wire_field(check=non_empty)
    country: str = "en"
    out_member_id: str | None = None
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class SkuQuantity:
    """How many of one SKU, for a freight estimate."""

    sku_id: int
    quantity: int = wire_field(wire="number", check=positive)
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class ProductFreightRequest:
    """Domestic (China) freight of a quantity of one product to a destination (inferred).

    ``to_province_code``/``to_city_code``/``to_district_code`` are Chinese administrative
    division codes; give ``sku_quantities`` to price a mix of SKUs.
    """

    offer_id: int = wire_field(check=positive)
    quantity: int = wire_field(wire="totalNum", check=positive)
    to_province_code: str | None = None
    to_city_code: str | None = None
    to_district_code: str | None = None
    to_country_code: str | None = None
    sku_quantities: list[SkuQuantity] | None = wire_field(
        default=None, wire="logisticsSkuNumModels"
    )
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class ProductPoolRequest:
    """A page of the products in your product pool (inferred shape)."""

    page: int = wire_field(default=1, wire="beginPage", check=positive)
    page_size: int = wire_field(default=20, check=positive)
    country: str = "en"
    pool_id: str | None = None
    category_id: str | None = None
    extras: dict[str, Any] = extras_field()


# -- results ---------------------------------------------------------------------------------


@tolerant
@attrs.frozen(kw_only=True)
class PriceInfo:
    """Prices of a search result, in fen (inferred)."""

    price: Fen | None = None
    consign_price: Fen | None = None
    """The dropshipping price, when the seller offers one."""
    promotion_price: Fen | None = None
    extras: dict[str, Any] = extras_field()


@tolerant
@attrs.frozen(kw_only=True)
class ProductSummary:
    """One product in a search result or the pool. ``subject`` is the Chinese title;
    ``subject_translated`` is in the requested ``country`` language."""

    offer_id: int | None = None
    category_id: int | None = None
    subject: str | None = None
    subject_translated: str | None = wire_field(default=None, wire="subjectTrans")
    image_url: str | None = None
    price_info: PriceInfo | None = None
    monthly_sales: int | None = wire_field(default=None, wire="monthSold")
    extras: dict[str, Any] = extras_field()


@tolerant
@attrs.frozen(kw_only=True)
class ProductPage:
    """One page of products. ``current_page`` is 1-based; iterate it for its items."""

    total_records: int | None = None
    total_pages: int | None = wire_field(default=None, wire="totalPage")
    page_size: int | None = None
    current_page: int | None = None
    items: list[ProductSummary] = wire_field(wire="data", factory=list)
    extras: dict[str, Any] = extras_field()
    request_id: str | None = request_id_field()

    def __iter__(self) -> Iterator[ProductSummary]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def is_last(self, requested_page_size: int) -> bool:
        """Whether no page follows this one."""
        return page_is_last(
            current_page=self.current_page,
            total_pages=self.total_pages,
            count=len(self.items),
            page_size=requested_page_size,
        )


@tolerant
@attrs.frozen(kw_only=True)
class SubCategory:
    category_id: int | None = None
    name: str | None = wire_field(default=None, wire="chineseName")
    translated_name: str | None = None
    is_leaf: bool | None = wire_field(default=None, wire="leaf")
    extras: dict[str, Any] = extras_field()


@tolerant
@attrs.frozen(kw_only=True)
class Category:
    """A product category (inferred shape). ``name`` is Chinese."""

    category_id: int | None = None
    name: str | None = wire_field(default=None, wire="chineseName")
    translated_name: str | None = None
    language: str | None = None
    is_leaf: bool | None = wire_field(default=None, wire="leaf")
    level: int | None = None
    parent_id: int | None = wire_field(default=None, wire="parentCateId")
    children: list[SubCategory] = wire_field(wire="childCategorys", factory=list)
    extras: dict[str, Any] = extras_field()
    request_id: str | None = request_id_field()


@tolerant
@attrs.frozen(kw_only=True)
class SkuAttribute:
    """One attribute of a SKU, such as colour or size."""

    attribute_id: int | None = None
    attribute_name: str | None = None
    attribute_name_translated: str | None = wire_field(default=None, wire="attributeNameTrans")
    value: str | None = None
    value_translated: str | None = wire_field(default=None, wire="valueTrans")
    image_url: str | None = wire_field(default=None, wire="skuImageUrl")
    extras: dict[str, Any] = extras_field()


@tolerant
@attrs.frozen(kw_only=True)
class ProductSku:
    """One SKU. Order it by ``spec_id`` (the ``specId`` of an order's cargo line)."""

    sku_id: int | None = None
    spec_id: str | None = None
    price: Fen | None = None
    consign_price: Fen | None = None
    stock: int | None = wire_field(default=None, wire="amountOnSale")
    attributes: list[SkuAttribute] = wire_field(wire="skuAttributes", factory=list)
    extras: dict[str, Any] = extras_field()


@tolerant
@attrs.frozen(kw_only=True)
class PriceRange:
    """A quantity price break: from ``start_quantity`` pieces, ``price`` each."""

    start_quantity: int | None = None
    price: Fen | None = None
    extras: dict[str, Any] = extras_field()


@tolerant
@attrs.frozen(kw_only=True)
class ProductDetail:
    """A product. ``offer_id``, ``category_id`` and ``subject`` are documented; the rest of
    the shape is inferred (everything else the server sends is in ``extras``)."""

    offer_id: int | None = None
    category_id: int | None = None
    subject: str | None = None
    subject_translated: str | None = wire_field(default=None, wire="subjectTrans")
    description: str | None = None
    images: list[str] = wire_field(factory=list)
    skus: list[ProductSku] = wire_field(wire="productSkuInfos", factory=list)
    price_ranges: list[PriceRange] = wire_field(wire="priceRangeList", factory=list)
    min_order_quantity: int | None = None
    unit: str | None = None
    seller_open_id: str | None = None
    """The seller's open uid (see :meth:`~xportcn_async.resources.ImResource.decrypt_open_uid`)."""
    status: str | None = None
    weight_grams: int | None = wire_field(default=None, wire="weight")
    free_shipping: bool | None = wire_field(default=None, wire="freePostage")
    extras: dict[str, Any] = extras_field()
    request_id: str | None = request_id_field()

    def sku(self, spec_id: str) -> ProductSku | None:
        """The SKU with this ``spec_id``, if any."""
        return next((s for s in self.skus if s.spec_id == spec_id), None)


@tolerant
@attrs.frozen(kw_only=True)
class ProductDetailList:
    """The details of several products; iterate it like a list."""

    products: list[ProductDetail] = wire_field(factory=list)
    extras: dict[str, Any] = extras_field()
    request_id: str | None = request_id_field()

    def __iter__(self) -> Iterator[ProductDetail]:
        return iter(self.products)

    def __len__(self) -> int:
        return len(self.products)

    def __getitem__(self, index: int) -> ProductDetail:
        return self.products[index]


@tolerant
@attrs.frozen(kw_only=True)
class ProductFreight:
    """A domestic freight estimate, in fen (inferred shape)."""

    offer_id: int | None = None
    freight: Fen | None = None
    free_shipping: bool | None = wire_field(default=None, wire="freePostage")
    template_id: int | None = None
    extras: dict[str, Any] = extras_field()
    request_id: str | None = request_id_field()


__all__ = [
    "Category",
    "CategoryRequest",
    "ImageSearchRequest",
    "PriceInfo",
    "PriceRange",
    "ProductDetail",
    "ProductDetailList",
    "ProductDetailRequest",
    "ProductDetailsRequest",
    "ProductFreight",
    "ProductFreightRequest",
    "ProductPage",
    "ProductPoolRequest",
    "ProductSearchRequest",
    "ProductSku",
    "ProductSummary",
    "SkuAttribute",
    "SkuQuantity",
    "SubCategory",
]
