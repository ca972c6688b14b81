"""The product handlers (API.md §4.4): keyword and image search, categories, details,
freight estimates and the product pool, all over the fixed
:func:`~xportcn_async.sandbox.ka.catalogue.catalogue`."""

from __future__ import annotations

import base64
import binascii
import zlib
from typing import Any

from .. import checks as c
from ..registry import SandboxError, operation
from ..state import SandboxState
from .catalogue import CATEGORIES, Product, catalogue, shipping_fee
from .paging import page_of, paged
from .search import select

__all__ = ["MAX_DETAIL_IDS", "REMOTE_PROVINCES", "REMOTE_PROVINCE_FEN"]

MAX_DETAIL_IDS = 50
REMOTE_PROVINCE_FEN = 800
"""What a freight estimate adds for a remote province (when shipping is not free)."""
REMOTE_PROVINCES = ("15", "54", "63", "64", "65")  # Inner Mongolia, Tibet, Qinghai, ...


@operation("products.search")
def search(state: SandboxState, body: dict[str, Any]) -> Any:
    keyword = c.string(body, "keyword")
    assert keyword is not None
    page, size = page_of(body)
    c.string(body, "country", required=False)
    c.string(body, "outMemberId", required=False)
    words = keyword.casefold().split()
    matches = (
        p
        for p in catalogue().values()
        if all(w in p.subject.casefold() or w in p.subject_translated.casefold() for w in words)
    )
    return paged([p.summary() for p in select(matches, body)], page, size)


@operation("products.image_search")
def image_search(state: SandboxState, body: dict[str, Any]) -> Any:
    encoded = c.string(body, "imageBase64", required=False)
    address = c.string(body, "imageAddress", required=False)
    page, size = page_of(body)
    c.string(body, "region", required=False)
    if encoded:
        try:
            image = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise c.bad("imageBase64", "is not valid base64") from None
    elif address:
        if not address.startswith(("http://", "https://")):
            raise c.bad("imageAddress", f"must be an http(s) URL, got {address!r}"[:200])
        image = address.encode()
    else:
        raise c.bad("", "send imageBase64 or imageAddress")
    # "Similar" products: a leaf category picked by the image, then a stable shuffle.
    seed = zlib.crc32(image)
    leaves = [cat for cat in CATEGORIES.values() if cat.is_leaf]
    leaf = leaves[seed % len(leaves)]
    similar = sorted(
        (p for p in catalogue().values() if p.top_category_id == leaf.parent_id),
        key=lambda p: (
            p.category_id != leaf.category_id,
            zlib.crc32(f"{seed}:{p.offer_id}".encode()),
        ),
    )
    return paged([p.summary() for p in select(similar, body)], page, size)


@operation("products.category")
def category(state: SandboxState, body: dict[str, Any]) -> Any:
    category_id = c.integer(body, "categoryId", required=False) or 0
    node = CATEGORIES.get(category_id)
    if node is None:
        raise SandboxError(404, f"unknown categoryId {category_id}")
    return {
        **node.to_wire(),
        "language": c.string(body, "country", required=False) or "en",
        "level": node.level,
        "parentCateId": node.parent_id,
        "childCategorys": [CATEGORIES[child].to_wire() for child in node.children],
    }


def _product(offer_id: int) -> Product:
    product = catalogue().get(offer_id)
    if product is None:
        raise SandboxError(404, f"unknown offerId {offer_id}")
    return product


@operation("products.detail")
def detail(state: SandboxState, body: dict[str, Any]) -> Any:
    c.string(body, "country", required=False)
    return _product(c.numeric_id(body, "offerId")).detail()


@operation("products.detail_multi")
def detail_multi(state: SandboxState, body: dict[str, Any]) -> Any:
    ids = body.get("offerIds")
    if not isinstance(ids, list) or not ids:
        raise c.bad("offerIds", "must be a non-empty array of offer ids")
    if len(ids) > MAX_DETAIL_IDS:
        raise c.bad("offerIds", f"at most {MAX_DETAIL_IDS} ids per call, got {len(ids)}")
    wanted = [c.as_numeric_id(value, c.at("offerIds", i)) for i, value in enumerate(ids)]
    products = catalogue()
    return [products[i].detail() for i in wanted if i in products]


@operation("products.freight_estimate")
def freight_estimate(state: SandboxState, body: dict[str, Any]) -> Any:
    product = _product(c.numeric_id(body, "offerId"))
    quantity = c.positive_int(body, "totalNum")
    province = c.string(body, "toProvinceCode", required=False) or ""
    if body.get("logisticsSkuNumModels") is not None:
        _check_sku_quantities(product, body)
    freight = shipping_fee(product.weight_grams * quantity, free=product.free_shipping)
    if freight and province.startswith(REMOTE_PROVINCES):
        freight += REMOTE_PROVINCE_FEN
    return {
        "offerId": product.offer_id,
        "freight": freight,
        "freePostage": product.free_shipping,
        "templateId": 10_000 + product.offer_id % 97,
    }


def _check_sku_quantities(product: Product, body: dict[str, Any]) -> None:
    """``logisticsSkuNumModels``: positive numbers of SKUs of ``product`` (404 if not)."""
    known = {s.sku_id for s in product.skus}
    for i, entry in enumerate(c.items(body, "logisticsSkuNumModels")):
        path = c.at("logisticsSkuNumModels", i)
        sku_id = c.integer(entry, "skuId", path)
        c.positive_int(entry, "number", path)
        if sku_id not in known:
            raise SandboxError(404, f"{c.at(path, 'skuId')}: unknown SKU {sku_id}")


@operation("products.pool")
def pool(state: SandboxState, body: dict[str, Any]) -> Any:
    page, size = page_of(body)
    pool_id = c.string(body, "poolId", required=False)
    if pool_id not in (None, "", "default"):
        raise SandboxError(404, f"unknown poolId {pool_id!r}; the sandbox has 'default'")
    chosen = select((p for p in catalogue().values() if p.in_pool), body)
    return paged([p.summary() for p in chosen], page, size)
