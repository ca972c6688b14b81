"""The sandbox's catalogue: a fixed, seeded set of 360 products in 15 leaf categories (24
each), with SKUs, fen prices, quantity price breaks, stock, sellers and search tags, and
the two price rules every KA handler shares (price breaks, shipping).

It is the same in every sandbox and every run: the products are drawn from an RNG with a
fixed seed, in a fixed order. The products of the docs' examples are in it
(``889512351602`` with SKU ``530ad001…``, ``706627393257``, ``951807530375``), so previewing
the docs' example order answers exactly the docs' example preview.
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
from functools import lru_cache
from typing import Any

import attrs

from ...models import SearchFilter

__all__ = [
    "CATEGORIES",
    "DOCS_OFFERS",
    "EXTRA_KG_FEN",
    "FIRST_KG_FEN",
    "Category",
    "Product",
    "Seller",
    "Sku",
    "catalogue",
    "open_id",
    "shipping_fee",
]

FIRST_KG_FEN = 600
"""Shipping per seller: 600 fen for the first kilogram ..."""
EXTRA_KG_FEN = 300
"""... and 300 fen per started kilogram after it."""

# -- categories ---------------------------------------------------------------------------


@attrs.frozen
class Category:
    category_id: int
    name: str
    translated_name: str
    parent_id: int
    children: tuple[int, ...] = ()

    @property
    def is_leaf(self) -> bool:
        return not self.children

    @property
    def level(self) -> int:
        return 0 if self.category_id == 0 else (1 if self.parent_id == 0 else 2)

    def to_wire(self) -> dict[str, Any]:
        return {
            "categoryId": self.category_id,
            "chineseName": self.name,
            "translatedName": self.translated_name,
            "leaf": self.is_leaf,
        }


_TREE: tuple[tuple[int, str, str, tuple[tuple[int, str, str], ...]], ...] = (
    (1001, "服装", "Apparel", ((100101, "T恤", "T-shirt"), (100102, "连衣裙", "Dress"), (100103, "卫衣", "Hoodie"))),
    (1002, "鞋靴", "Shoes", ((100201, "男鞋", "Men's shoes"), (100202, "运动鞋", "Sneakers"), (100203, "拖鞋", "Slippers"))),
    (1003, "箱包", "Bags", ((100301, "双肩包", "Backpack"), (100302, "手提包", "Handbag"))),
    (1004, "家居", "Home", ((100401, "收纳盒", "Storage box"), (100402, "抱枕", "Cushion"), (100403, "马克杯", "Mug"))),
    (1005, "数码配件", "Phone accessories", ((100501, "手机壳", "Phone case"), (100502, "数据线", "Charging cable"))),
    (1006, "玩具", "Toys", ((100601, "毛绒玩具", "Plush toy"), (100602, "积木", "Building blocks"))),
)  # fmt: skip


def _categories() -> dict[int, Category]:
    out = {0: Category(0, "全部类目", "All categories", 0, tuple(t[0] for t in _TREE))}
    for top_id, name, translated, leaves in _TREE:
        out[top_id] = Category(top_id, name, translated, 0, tuple(leaf[0] for leaf in leaves))
        for leaf_id, leaf_name, leaf_translated in leaves:
            out[leaf_id] = Category(leaf_id, leaf_name, leaf_translated, top_id)
    return out


CATEGORIES: dict[int, Category] = _categories()
"""Category id -> category; 0 is the root."""

# -- products -----------------------------------------------------------------------------


@attrs.frozen
class Seller:
    open_uid: str
    nickname: str


@attrs.frozen
class Sku:
    sku_id: int
    spec_id: str
    price: int
    consign_price: int
    stock: int
    attributes: tuple[tuple[str, str, str, str], ...]
    """``(name, translated name, value, translated value)`` per attribute."""

    def to_wire(self) -> dict[str, Any]:
        return {
            "skuId": self.sku_id,
            "specId": self.spec_id,
            "price": self.price,
            "consignPrice": self.consign_price,
            "amountOnSale": self.stock,
            "skuAttributes": [
                {
                    "attributeId": 3216 if name == "颜色" else 450,
                    "attributeName": name,
                    "attributeNameTrans": name_en,
                    "value": value,
                    "valueTrans": value_en,
                }
                for name, name_en, value, value_en in self.attributes
            ],
        }


@attrs.frozen
class Product:
    offer_id: int
    open_offer_id: str
    category_id: int
    subject: str
    subject_translated: str
    seller: Seller
    skus: tuple[Sku, ...]
    min_order_quantity: int
    tags: frozenset[SearchFilter]
    monthly_sales: int
    weight_grams: int
    free_shipping: bool
    in_pool: bool

    @property
    def price(self) -> int:
        return min(s.price for s in self.skus)

    @property
    def top_category_id(self) -> int:
        return CATEGORIES[self.category_id].parent_id

    def unit_price(self, sku: Sku, quantity: int) -> int:
        """The price break for ``quantity``: 5 % off from 50 pieces, 10 % off from 200."""
        if quantity >= 200:
            return sku.price * 90 // 100
        if quantity >= 50:
            return sku.price * 95 // 100
        return sku.price

    def image_urls(self) -> list[str]:
        return [f"https://sandbox.xportcn.invalid/img/{self.offer_id}-{n}.jpg" for n in (1, 2, 3)]

    def summary(self) -> dict[str, Any]:
        return {
            "offerId": self.offer_id,
            "categoryId": self.category_id,
            "subject": self.subject,
            "subjectTrans": self.subject_translated,
            "imageUrl": self.image_urls()[0],
            "priceInfo": {
                "price": self.price,
                "consignPrice": min(s.consign_price for s in self.skus),
            },
            "monthSold": self.monthly_sales,
        }

    def detail(self) -> dict[str, Any]:
        base = self.skus[0].price
        return {
            "offerId": self.offer_id,
            "categoryId": self.category_id,
            "subject": self.subject,
            "subjectTrans": self.subject_translated,
            "description": f"<p>{self.subject_translated}. Sandbox product.</p>",
            "images": self.image_urls(),
            "productSkuInfos": [s.to_wire() for s in self.skus],
            "priceRangeList": [
                {"startQuantity": self.min_order_quantity, "price": base},
                {"startQuantity": 50, "price": base * 95 // 100},
                {"startQuantity": 200, "price": base * 90 // 100},
            ],
            "minOrderQuantity": self.min_order_quantity,
            "unit": "件",
            "sellerOpenId": self.seller.open_uid,
            "status": "published",
            "weight": self.weight_grams,
            "freePostage": self.free_shipping,
        }


def shipping_fee(grams: int, *, free: bool) -> int:
    """What one seller charges to ship ``grams`` (fen): :data:`FIRST_KG_FEN` for the first
    kilogram, :data:`EXTRA_KG_FEN` per started kilogram after it, nothing when ``free``."""
    if free:
        return 0
    kilograms = max(1, math.ceil(grams / 1000))
    return FIRST_KG_FEN + EXTRA_KG_FEN * (kilograms - 1)


def open_id(*parts: object) -> str:
    """A stable opaque id (base64 of a digest), like the API's ``openOfferId``."""
    digest = hashlib.md5(":".join(map(str, parts)).encode()).digest()
    return base64.b64encode(digest).decode()


# -- building the catalogue ---------------------------------------------------------------

_STYLES = (
    ("纯棉", "Cotton"),
    ("宽松", "Loose-fit"),
    ("复古", "Vintage"),
    ("简约", "Minimalist"),
    ("韩版", "Korean-style"),
    ("加厚", "Thickened"),
    ("轻便", "Lightweight"),
    ("防水", "Waterproof"),
)
_COLOURS = (
    ("黑色", "Black"),
    ("白色", "White"),
    ("红色", "Red"),
    ("蓝色", "Blue"),
    ("灰色", "Grey"),
)
_SIZED_TOPS = {1001: ("S", "M", "L", "XL"), 1002: ("39", "40", "41", "42", "43")}
_BASE_PRICE_FEN = {1001: (1200, 4800), 1002: (2500, 9800), 1003: (1800, 8800), 1004: (300, 2500), 1005: (150, 1500), 1006: (600, 6800)}  # fmt: skip
_WEIGHT_GRAMS = {1001: (150, 400), 1002: (500, 1200), 1003: (400, 1500), 1004: (150, 900), 1005: (30, 120), 1006: (100, 1500)}  # fmt: skip
PRODUCTS_PER_LEAF = 24
DOCS_OFFERS = (889512351602, 706627393257, 951807530375)
"""The offer ids of the docs' examples: the first three products."""
_DOCS_SPEC_ID = "530ad00177264564503ec3b848650652"
_DOCS_SKU_ID = 5736673805656
_DOCS_OPEN_OFFER_ID = "+vIWvlcT2JMpWVABRdm+WQ=="


def _sellers(rng: random.Random) -> list[Seller]:
    places = ("义乌", "广州", "深圳", "杭州", "泉州", "东莞", "温州", "汕头")
    return [
        Seller(
            open_uid="BBB" + open_id("seller", n).rstrip("=").replace("+", "x").replace("/", "_"),
            nickname=f"{places[n % len(places)]}{rng.choice(('优品', '工厂店', '源头厂家', '贸易'))}{n:02d}",
        )
        for n in range(40)
    ]


def _skus(rng: random.Random, offer_id: int, index: int, top_id: int) -> tuple[Sku, ...]:
    low, high = _BASE_PRICE_FEN[top_id]
    base = rng.randrange(low, high, 10)
    colours = rng.sample(_COLOURS, rng.randint(1, 3))
    sizes: tuple[str | None, ...] = _SIZED_TOPS.get(top_id, (None,))
    if sizes != (None,):
        start = rng.randrange(len(sizes) - 1)
        sizes = sizes[start : start + 2]
    skus: list[Sku] = []
    for colour in colours:
        for size in sizes:
            n = len(skus)
            price = base + rng.choice((0, 0, 100, 200, -100)) if n else base
            attributes = [("颜色", "Colour", colour[0], colour[1])]
            if size is not None:
                attributes.append(("尺码", "Size", size, size))
            skus.append(
                Sku(
                    sku_id=5_000_000_000_000 + index * 10 + n,
                    spec_id=hashlib.md5(f"{offer_id}:{n}".encode()).hexdigest(),
                    price=max(price, 100),
                    consign_price=max(price, 100) * 110 // 100,
                    stock=0 if rng.random() < 0.1 else rng.randrange(50, 5000),
                    attributes=tuple(attributes),
                )
            )
    return tuple(skus)


def _product(
    rng: random.Random, sellers: list[Seller], leaf: Category, offer_id: int, index: int
) -> Product:
    """The ``index``-th product, drawn from ``rng`` (the draws' order is the catalogue)."""
    top_id = leaf.parent_id
    style = rng.choice(_STYLES)
    year = rng.choice((2024, 2025))
    skus = _skus(rng, offer_id, index, top_id)
    low, high = _WEIGHT_GRAMS[top_id]
    return Product(
        offer_id=offer_id,
        open_offer_id=open_id("offer", offer_id),
        category_id=leaf.category_id,
        subject=f"{year}新款{style[0]}{leaf.name} 跨境外贸批发",
        subject_translated=f"{style[1]} {leaf.translated_name}, new {year}, wholesale",
        seller=sellers[rng.randrange(len(sellers))],
        skus=skus,
        min_order_quantity=rng.choice((1, 1, 1, 2, 5)),
        tags=frozenset(t for t in SearchFilter if rng.random() < 0.3),
        monthly_sales=rng.randrange(0, 20000),
        weight_grams=rng.randrange(low, high),
        free_shipping=rng.random() < 0.1,
        in_pool=index % 4 == 0,
    )


def _as_docs_example(product: Product) -> Product:
    """The product of the docs' preview example: its ids, price, stock and weight."""
    sku = attrs.evolve(
        product.skus[0],
        sku_id=_DOCS_SKU_ID,
        spec_id=_DOCS_SPEC_ID,
        price=2900,
        consign_price=3190,
        stock=1000,
    )
    return attrs.evolve(
        product,
        open_offer_id=_DOCS_OPEN_OFFER_ID,
        skus=(sku, *product.skus[1:]),
        min_order_quantity=1,
        weight_grams=300,
        free_shipping=False,
    )


@lru_cache(maxsize=1)
def catalogue() -> dict[int, Product]:
    """The sandbox's products by ``offerId`` (built once; the same in every run)."""
    rng = random.Random("xportcn-sandbox-catalogue")
    sellers = _sellers(rng)
    products: dict[int, Product] = {}
    leaves = [cat for cat in CATEGORIES.values() if cat.is_leaf]
    for index in range(len(leaves) * PRODUCTS_PER_LEAF):
        offer_id = (
            DOCS_OFFERS[index] if index < len(DOCS_OFFERS) else 600_000_000_000 + index * 104_729
        )
        product = _product(rng, sellers, leaves[index // PRODUCTS_PER_LEAF], offer_id, index)
        products[offer_id] = _as_docs_example(product) if index == 0 else product
    return products
