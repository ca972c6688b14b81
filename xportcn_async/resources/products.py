"""``client.products``: 1688 products (API.md §4.4)."""

from __future__ import annotations

import asyncio
import base64
import os
import sys
from collections.abc import AsyncIterator, Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, TypedDict

import attrs

from .. import endpoints
from ..errors import FieldError, ValidationError
from ..hooks import AttemptHooks
from ..models import (
    Category,
    CategoryRequest,
    ImageSearchRequest,
    ProductDetail,
    ProductDetailList,
    ProductDetailRequest,
    ProductDetailsRequest,
    ProductFreight,
    ProductFreightRequest,
    ProductPage,
    ProductPoolRequest,
    ProductSearchRequest,
    ProductSummary,
    SearchFilter,
    SearchFilters,
    SearchSort,
    SkuQuantity,
)
from ..transports import Timeout
from ._base import Resource
from ._ka import walk_pages

if sys.version_info >= (3, 11):
    from typing import Unpack
else:
    from typing_extensions import Unpack

Filters = SearchFilters | str | Iterable[SearchFilter | str]
"""Search filters: tokens (:class:`SearchFilter` members or any string), or the wire form
``"shipInToday,new7"``."""
Sort = SearchSort | tuple[str, str] | str
"""A sort: ``SearchSort("price", "asc")``, ``("price", "asc")``, or ``'{"price":"asc"}'``."""
Image = str | bytes | bytearray | memoryview | os.PathLike[str]
"""An image: an ``http(s)://`` URL, the image's bytes, or a local file path."""


def _filters(value: Filters | None) -> SearchFilters | None:
    return None if value is None else SearchFilters.coerce(value)


def _sort(value: Sort | None) -> SearchSort | None:
    if value is None:
        return None
    try:
        return SearchSort.coerce(value)
    except (ValueError, TypeError) as exc:
        raise ValidationError("search options", [FieldError("sort", str(exc))]) from None


def _price(value: Decimal | str | None) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    try:
        return Decimal(value)
    except ArithmeticError:
        raise ValidationError(
            "search options", [FieldError("price", f"not a decimal amount: {value!r}")]
        ) from None


def _text(value: int | str | None) -> str | None:
    return None if value is None else str(value)


class SearchOptions(TypedDict, total=False):
    """The search options as keyword arguments of the search methods
    (``client.products.search(..., sort=("price", "asc"))``); the fields of
    :class:`SearchQuery`, which says what each means."""

    filters: Filters | None
    sort: Sort | None
    min_price: Decimal | str | None
    max_price: Decimal | str | None
    category_id: int | str | None
    out_member_id: str | None
    country: str


@attrs.frozen(kw_only=True)
class SearchQuery:
    """What a product search (by keyword or by image) looks for, beyond its keyword or
    image: one value to keep, reuse and pass to every search method.

    ``filters``: :class:`SearchFilter` tokens (unknown strings are passed through) or the
    wire form ``"shipInToday,new7"``. ``sort``: a field and a direction, such as
    ``("price", "asc")``. ``min_price``/``max_price``: yuan. ``category_id``: a 1688
    category. ``out_member_id``: your own id for the end buyer. ``country``: the language
    of the results (``"en"``). Each is checked and normalised when the query is built.
    """

    filters: SearchFilters | None = attrs.field(default=None, converter=_filters)
    sort: SearchSort | None = attrs.field(default=None, converter=_sort)
    min_price: Decimal | None = attrs.field(default=None, converter=_price)
    max_price: Decimal | None = attrs.field(default=None, converter=_price)
    category_id: str | None = attrs.field(default=None, converter=_text)
    out_member_id: str | None = None
    country: str = "en"

    @classmethod
    def of(cls, query: SearchQuery | None, options: SearchOptions) -> SearchQuery:
        """``query`` (or the default query) with ``options`` on top."""
        if query is None:
            return cls(**options)
        return attrs.evolve(query, **options) if options else query

    def request_fields(self) -> dict[str, Any]:
        """The query as the fields of a search request (they have the same names)."""
        return attrs.asdict(self, recurse=False)


class ProductsResource(Resource):
    """Search 1688 products by keyword or image, read categories and product details,
    estimate domestic freight, and list your product pool."""

    async def search(
        self,
        keyword: str,
        query: SearchQuery | None = None,
        *,
        page: int = 1,
        page_size: int = 20,
        timeout: Timeout | float | None = None,
        hooks: AttemptHooks | None = None,
        **options: Unpack[SearchOptions],
    ) -> ProductPage:
        """One page (1-based) of the products matching ``keyword``.

        The search options (filters, sort, prices in yuan, category, ...) come as a
        :class:`SearchQuery`, as keyword arguments (:class:`SearchOptions`), or both (the
        keywords win)::

            await client.products.search("t-shirt", sort=("price", "asc"), max_price="50")
        """
        q = SearchQuery.of(query, options)
        request = ProductSearchRequest(
            keyword=keyword,
            page=page,
            page_size=page_size,
            **q.request_fields(),
        )
        return await self._client.request(
            endpoints.PRODUCTS_SEARCH, request, timeout=timeout, hooks=hooks
        )

    def iter_search(
        self,
        keyword: str,
        query: SearchQuery | None = None,
        *,
        page_size: int = 20,
        max_items: int | None = None,
        max_pages: int | None = None,
        start_page: int = 1,
        timeout: Timeout | float | None = None,
        hooks: AttemptHooks | None = None,
        **options: Unpack[SearchOptions],
    ) -> AsyncIterator[ProductSummary]:
        """Every product matching ``keyword``, page after page, one request per page::

            async for product in client.products.iter_search("t-shirt", max_items=500):
                ...

        It stops after the last page, after ``max_items`` products, or after ``max_pages``
        pages, whichever comes first. The search options are those of :meth:`search`.
        """
        q = SearchQuery.of(query, options)

        async def fetch(page: int) -> ProductPage:
            return await self.search(
                keyword, q, page=page, page_size=page_size, timeout=timeout, hooks=hooks
            )

        return walk_pages(
            fetch,
            start_page=start_page,
            page_size=page_size,
            max_items=max_items,
            max_pages=max_pages,
        )

    async def image_search(
        self,
        image: Image,
        query: SearchQuery | None = None,
        *,
        page: int = 1,
        page_size: int = 20,
        region: str | None = None,
        keyword: str | None = None,
        timeout: Timeout | float | None = None,
        hooks: AttemptHooks | None = None,
        **options: Unpack[SearchOptions],
    ) -> ProductPage:
        """One page of the products that look like ``image``.

        ``image`` is an ``http(s)://`` URL (sent as ``imageAddress``), the image's bytes, or
        the path of a local image file (either is sent base64-encoded, as ``imageBase64``).
        ``region`` narrows the search to part of the image, ``keyword`` to a word; the
        search options are those of :meth:`search`.
        """
        q = SearchQuery.of(query, options)
        loaded = await _load_image(image)
        request = ImageSearchRequest(
            image_base64=None if isinstance(loaded, str) else base64.b64encode(loaded).decode(),
            image_url=loaded if isinstance(loaded, str) else None,
            page=page,
            page_size=page_size,
            region=region,
            keyword=keyword,
            **q.request_fields(),
        )
        return await self._client.request(
            endpoints.PRODUCTS_IMAGE_SEARCH, request, timeout=timeout, hooks=hooks
        )

    def iter_image_search(
        self,
        image: Image,
        query: SearchQuery | None = None,
        *,
        page_size: int = 20,
        max_items: int | None = None,
        max_pages: int | None = None,
        start_page: int = 1,
        region: str | None = None,
        keyword: str | None = None,
        timeout: Timeout | float | None = None,
        hooks: AttemptHooks | None = None,
        **options: Unpack[SearchOptions],
    ) -> AsyncIterator[ProductSummary]:
        """Every product that looks like ``image``, page after page (see
        :meth:`iter_search`). A local file is read once."""
        q = SearchQuery.of(query, options)
        loaded: list[str | bytes] = []

        async def fetch(page: int) -> ProductPage:
            if not loaded:
                loaded.append(await _load_image(image))
            return await self.image_search(
                loaded[0],
                q,
                page=page,
                page_size=page_size,
                region=region,
                keyword=keyword,
                timeout=timeout,
                hooks=hooks,
            )

        return walk_pages(
            fetch,
            start_page=start_page,
            page_size=page_size,
            max_items=max_items,
            max_pages=max_pages,
        )

    async def category(
        self,
        category_id: int = 0,
        *,
        country: str = "en",
        timeout: Timeout | float | None = None,
        hooks: AttemptHooks | None = None,
    ) -> Category:
        """A category and its children; ``0`` (the default) is the root."""
        request = CategoryRequest(category_id=category_id, country=country)
        return await self._client.request(
            endpoints.PRODUCTS_CATEGORY, request, timeout=timeout, hooks=hooks
        )

    async def detail(
        self,
        offer_id: int,
        *,
        country: str = "en",
        out_member_id: str | None = None,
        timeout: Timeout | float | None = None,
        hooks: AttemptHooks | None = None,
    ) -> ProductDetail:
        """One product: title, images, SKUs (with the ``spec_id`` an order needs), prices."""
        request = ProductDetailRequest(
            offer_id=offer_id, country=country, out_member_id=out_member_id
        )
        return await self._client.request(
            endpoints.PRODUCTS_DETAIL, request, timeout=timeout, hooks=hooks
        )

    async def detail_multi(
        self,
        offer_ids: Iterable[int],
        *,
        country: str = "en",
        out_member_id: str | None = None,
        timeout: Timeout | float | None = None,
        hooks: AttemptHooks | None = None,
    ) -> ProductDetailList:
        """Several products in one request."""
        request = ProductDetailsRequest(
            offer_ids=list(offer_ids), country=country, out_member_id=out_member_id
        )
        return await self._client.request(
            endpoints.PRODUCTS_DETAIL_MULTI, request, timeout=timeout, hooks=hooks
        )

    async def freight_estimate(
        self,
        offer_id: int,
        quantity: int,
        *,
        to_province_code: str | None = None,
        to_city_code: str | None = None,
        to_district_code: str | None = None,
        to_country_code: str | None = None,
        sku_quantities: Mapping[int, int] | None = None,
        timeout: Timeout | float | None = None,
        hooks: AttemptHooks | None = None,
    ) -> ProductFreight:
        """The domestic (China) freight of ``quantity`` pieces of a product to a destination
        given by Chinese division codes. ``sku_quantities`` maps SKU ids to quantities when
        the pieces are a mix of SKUs."""
        request = ProductFreightRequest(
            offer_id=offer_id,
            quantity=quantity,
            to_province_code=to_province_code,
            to_city_code=to_city_code,
            to_district_code=to_district_code,
            to_country_code=to_country_code,
            sku_quantities=(
                None
                if sku_quantities is None
                else [SkuQuantity(sku_id=k, quantity=v) for k, v in sku_quantities.items()]
            ),
        )
        return await self._client.request(
            endpoints.PRODUCTS_FREIGHT_ESTIMATE, request, timeout=timeout, hooks=hooks
        )

    async def pool(
        self,
        *,
        page: int = 1,
        page_size: int = 20,
        pool_id: str | None = None,
        category_id: int | str | None = None,
        country: str = "en",
        timeout: Timeout | float | None = None,
        hooks: AttemptHooks | None = None,
    ) -> ProductPage:
        """One page (1-based) of the products in your product pool."""
        request = ProductPoolRequest(
            page=page,
            page_size=page_size,
            country=country,
            pool_id=pool_id,
            category_id=None if category_id is None else str(category_id),
        )
        return await self._client.request(
            endpoints.PRODUCTS_POOL, request, timeout=timeout, hooks=hooks
        )

    def iter_pool(
        self,
        *,
        page_size: int = 20,
        max_items: int | None = None,
        max_pages: int | None = None,
        start_page: int = 1,
        pool_id: str | None = None,
        category_id: int | str | None = None,
        country: str = "en",
        timeout: Timeout | float | None = None,
        hooks: AttemptHooks | None = None,
    ) -> AsyncIterator[ProductSummary]:
        """Every product in your pool, page after page (see :meth:`iter_search`)."""

        async def fetch(page: int) -> ProductPage:
            return await self.pool(
                page=page,
                page_size=page_size,
                pool_id=pool_id,
                category_id=category_id,
                country=country,
                timeout=timeout,
                hooks=hooks,
            )

        return walk_pages(
            fetch,
            start_page=start_page,
            page_size=page_size,
            max_items=max_items,
            max_pages=max_pages,
        )


async def _load_image(image: Any) -> str | bytes:
    """An image given as a URL (returned as it is), bytes, or a file path (read)."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
    elif isinstance(image, str) and image.lower().startswith(("http://", "https://")):
        return image
    elif isinstance(image, (str, os.PathLike)):
        path = Path(image)
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise ValidationError(
                "products.image_search request",
                [FieldError("image", f"cannot read {str(path)!r}: {exc.strerror or exc}")],
            ) from exc
    else:
        raise TypeError(
            f"image must be an http(s) URL, bytes or a file path, not {type(image).__name__}"
        )
    if not data:
        raise ValidationError(
            "products.image_search request", [FieldError("image", "the image is empty")]
        )
    return data
