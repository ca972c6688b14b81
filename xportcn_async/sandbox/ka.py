"""KA and wms handlers (API.md §4.4–§5): products, orders, IM, warehouse packages, and the
order messages the sandbox pushes.

**Catalogue.** A fixed, seeded catalogue of 360 products in 15 leaf categories (24 each),
with SKUs, fen prices, quantity price breaks, stock, sellers and search tags. It is the
same in every sandbox and every run. The products of the docs' examples are in it
(``889512351602`` with SKU ``530ad001…``, ``706627393257``, ``951807530375``), so previewing
the docs' example order answers exactly the docs' example preview.

**Prices.** Fen. A line costs its quantity times the unit price of the matching price
break. Per seller: shipping 600 fen for the first kilogram and 300 per started kilogram
after it (free for products with free shipping); ``sumTotalPayment`` adds a 2.51 % service
fee (rounded up). Lines that cannot be ordered (unknown product or SKU, out of stock, not
enough stock, under the minimum quantity) carry a ``message``, cost nothing, and make
``create`` fail with 400.

**Orders** start ``WAITING_FOR_PAYMENT``; ``pay`` moves them to ``WAITING_FOR_SENT``.
Sandbox controls (Python, see :class:`KaState`) cancel them (``CANCEL``), change their
price, refund them, or ship them (``WAITING_FOR_RECEIVE``, a status the docs do not list,
with parcels for ``orders.logistics``). ``create`` with an ``outOrderId`` already used for
the same cart answers the same order; for another cart, 409.

**Messages.** Create, pay, cancel, price change and refund queue the §5 push for the order;
:class:`~xportcn_async.sandbox.push.MessagePusher` delivers the queue to a callback URL.

**wms** packages are kept by ``out_order_id``: ``forecast`` announces one (409 if known),
``inbound`` records its arrival and inspection (creating it if it was not forecast; 409 if
already received), ``update`` changes the fields sent (404 if unknown).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import random
import zlib
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import attrs

from ..models.ka import CHINA_TZ, parse_china_time
from . import checks as c
from .registry import SandboxError, operation
from .state import SandboxState

if TYPE_CHECKING:
    from .core import Sandbox

__all__ = [
    "CATEGORIES",
    "KaOrder",
    "KaState",
    "Product",
    "Sku",
    "WmsPackageRecord",
    "catalogue",
    "ka_state",
]

NAMESPACE = "ka"
MAX_PAGE_SIZE = 50
MAX_DETAIL_IDS = 50
SERVICE_FEE_PER_10000 = 251
"""The service fee of ``sumTotalPayment``: 2.51 % of goods and shipping, rounded up."""
FIRST_KG_FEN = 600
EXTRA_KG_FEN = 300
REMOTE_PROVINCE_FEN = 800
REMOTE_PROVINCES = ("15", "54", "63", "64", "65")  # Inner Mongolia, Tibet, Qinghai, ...
WAITING_FOR_PAYMENT = "WAITING_FOR_PAYMENT"
WAITING_FOR_SENT = "WAITING_FOR_SENT"
WAITING_FOR_RECEIVE = "WAITING_FOR_RECEIVE"
CANCEL = "CANCEL"
OUTBOX_LIMIT = 10_000
SEARCH_TAGS = (
    "shipInToday",
    "shipIn24Hours",
    "shipIn48Hours",
    "certifiedFactory",
    "totalEpScoreLv1",
    "totalEpScoreLv2",
    "totalEpScoreLv3",
    "totalEpScoreLv4",
    "noReason7DReturn",
    "new7",
    "new30",
)
SORT_FIELDS = ("price", "monthSold")

# -- the catalogue ------------------------------------------------------------------------


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
_DOCS_SPEC_ID = "530ad00177264564503ec3b848650652"
_DOCS_SKU_ID = 5736673805656
_DOCS_OPEN_OFFER_ID = "+vIWvlcT2JMpWVABRdm+WQ=="


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
    tags: frozenset[str]
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


def _open_id(*parts: object) -> str:
    digest = hashlib.md5(":".join(map(str, parts)).encode()).digest()
    return base64.b64encode(digest).decode()


def _sellers(rng: random.Random) -> list[Seller]:
    places = ("义乌", "广州", "深圳", "杭州", "泉州", "东莞", "温州", "汕头")
    return [
        Seller(
            open_uid="BBB" + _open_id("seller", n).rstrip("=").replace("+", "x").replace("/", "_"),
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


@lru_cache(maxsize=1)
def catalogue() -> dict[int, Product]:
    """The sandbox's products by ``offerId`` (built once; the same in every run)."""
    rng = random.Random("xportcn-sandbox-catalogue")
    sellers = _sellers(rng)
    products: dict[int, Product] = {}
    leaves = [cat for cat in CATEGORIES.values() if cat.is_leaf]
    index = 0
    for leaf in leaves:
        top_id = leaf.parent_id
        for _ in range(PRODUCTS_PER_LEAF):
            offer_id = (
                DOCS_OFFERS[index]
                if index < len(DOCS_OFFERS)
                else 600_000_000_000 + index * 104_729
            )
            style = rng.choice(_STYLES)
            year = rng.choice((2024, 2025))
            skus = _skus(rng, offer_id, index, top_id)
            low, high = _WEIGHT_GRAMS[top_id]
            product = Product(
                offer_id=offer_id,
                open_offer_id=_open_id("offer", offer_id),
                category_id=leaf.category_id,
                subject=f"{year}新款{style[0]}{leaf.name} 跨境外贸批发",
                subject_translated=f"{style[1]} {leaf.translated_name}, new {year}, wholesale",
                seller=sellers[rng.randrange(len(sellers))],
                skus=skus,
                min_order_quantity=rng.choice((1, 1, 1, 2, 5)),
                tags=frozenset(t for t in SEARCH_TAGS if rng.random() < 0.3),
                monthly_sales=rng.randrange(0, 20000),
                weight_grams=rng.randrange(low, high),
                free_shipping=rng.random() < 0.1,
                in_pool=index % 4 == 0,
            )
            if index == 0:  # the product of the docs' preview example
                product = attrs.evolve(
                    product,
                    open_offer_id=_DOCS_OPEN_OFFER_ID,
                    skus=(
                        attrs.evolve(
                            product.skus[0],
                            sku_id=_DOCS_SKU_ID,
                            spec_id=_DOCS_SPEC_ID,
                            price=2900,
                            consign_price=3190,
                            stock=1000,
                        ),
                        *product.skus[1:],
                    ),
                    min_order_quantity=1,
                    weight_grams=300,
                    free_shipping=False,
                )
            products[offer_id] = product
            index += 1
    return products


# -- state --------------------------------------------------------------------------------


@attrs.define(eq=False)
class KaOrder:
    order_id: str
    order_no: str
    out_order_id: str | None
    cart: str
    """The order's cart (address and cargo) as canonical JSON, for ``outOrderId`` replays."""
    lines: list[dict[str, Any]]
    goods_amount: int
    shipping_fee: int
    total_amount: int
    created: float
    status: str = WAITING_FOR_PAYMENT
    pay_status: int = 1
    paid: float | None = None
    refund_amount: int = 0
    refund_status: str | None = None
    close_reason: str | None = None
    parcels: list[dict[str, Any]] = attrs.field(factory=list)

    def message_body(self) -> dict[str, Any]:
        """The order as pushed messages show it (API.md §5)."""
        return {
            "orderId": self.order_id,
            "orderNo": self.order_no,
            "orderStatus": self.status,
            "payStatus": self.pay_status,
            "totalAmount": self.total_amount,
            "shippingFee": self.shipping_fee,
            "productAmount": self.goods_amount,
            "refundAmount": self.refund_amount,
            "refundStatus": self.refund_status,
            "closeReason": self.close_reason,
            "tbCreateTime": _china_time(self.created),
            "payTime": None if self.paid is None else _china_time(self.paid),
        }

    def to_wire(self) -> dict[str, Any]:
        return {**self.message_body(), "outOrderId": self.out_order_id, "productItems": self.lines}


@attrs.define(eq=False)
class WmsPackageRecord:
    package_id: str
    out_order_id: str
    alibaba_order_id: str | None = None
    logistics_tracking_number: str | None = None
    logistics_company: str | None = None
    status: str = "FORECAST"
    quality_inspection_info: dict[str, Any] | None = None
    remark: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return {
            "package_id": self.package_id,
            "out_order_id": self.out_order_id,
            "alibaba_order_id": self.alibaba_order_id,
            "logistics_tracking_number": self.logistics_tracking_number,
            "logistics_company": self.logistics_company,
            "status": self.status,
            "quality_inspection_info": self.quality_inspection_info,
            "remark": self.remark,
        }


class KaState:
    """The sandbox's KA and wms state (``state.namespace("ka", KaState)``; get it with
    :func:`ka_state`), and the controls a test uses to move orders along.

    Pushed messages wait in :attr:`outbox` (the newest :data:`OUTBOX_LIMIT`) until a
    :class:`~xportcn_async.sandbox.push.MessagePusher` delivers them.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.orders: dict[str, KaOrder] = {}
        self.orders_by_out_id: dict[str, KaOrder] = {}
        self.packages: dict[str, WmsPackageRecord] = {}
        self.outbox: deque[dict[str, Any]] = deque(maxlen=OUTBOX_LIMIT)
        self.pushed_total = 0
        self._listeners: list[Callable[[], None]] = []
        self._order_seq = 0
        self._package_seq = 0
        self._parcel_seq = 0
        self._refund_seq = 0

    # -- ids -------------------------------------------------------------------------------

    def new_order_ids(self) -> tuple[str, str]:
        self._order_seq += 1
        day = datetime.fromtimestamp(self.clock(), CHINA_TZ).strftime("%Y%m%d")
        return f"3305{self._order_seq:015d}", f"PO{day}{self._order_seq:04d}"

    def new_package_id(self) -> str:
        self._package_seq += 1
        return f"WP{self._package_seq:08d}"

    # -- messages --------------------------------------------------------------------------

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener()`` whenever a message is queued; returns the unsubscriber."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def push(self, message_type: str, body: dict[str, Any]) -> dict[str, Any]:
        """Queue the §5 push of ``message_type`` with ``body`` (sent as a JSON string)."""
        message = {
            "messageType": message_type,
            "messageBody": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
            "messagePlatform": 1,
            "timestamp": str(int(self.clock() * 1000)),
        }
        self.outbox.append(message)
        self.pushed_total += 1
        for listener in list(self._listeners):
            listener()
        return message

    # -- controls (what the seller or buyer would do elsewhere) -------------------------------

    def order(self, order_id: str) -> KaOrder:
        try:
            return self.orders[order_id]
        except KeyError:
            raise KeyError(f"the sandbox has no KA order {order_id!r}") from None

    def cancel_order(self, order_id: str, reason: str = "buyer cancelled") -> KaOrder:
        """Cancel an unpaid order (``CANCEL``) and push ``ORDER_CANCEL``."""
        order = self.order(order_id)
        if order.status != WAITING_FOR_PAYMENT:
            raise ValueError(f"order {order_id} is {order.status}; only unpaid orders cancel")
        order.status = CANCEL
        order.close_reason = reason
        self.push("ORDER_CANCEL", order.message_body())
        return order

    def change_price(self, order_id: str, total_amount: int) -> KaOrder:
        """The seller changes an unpaid order's total (fen); pushes
        ``ORDER_BUYER_VIEW_ORDER_PRICE_MODIFY``."""
        order = self.order(order_id)
        if order.status != WAITING_FOR_PAYMENT:
            raise ValueError(f"order {order_id} is {order.status}; only unpaid prices change")
        if total_amount <= 0:
            raise ValueError(f"total_amount must be positive fen, got {total_amount}")
        order.total_amount = total_amount
        self.push("ORDER_BUYER_VIEW_ORDER_PRICE_MODIFY", order.message_body())
        return order

    def refund_order(self, order_id: str, amount: int | None = None) -> KaOrder:
        """Refund a paid order (all of it by default); pushes
        ``ORDER_BUYER_VIEW_ORDER_BUYER_REFUND``."""
        order = self.order(order_id)
        if order.pay_status != 2:
            raise ValueError(f"order {order_id} is not paid")
        refund = order.total_amount if amount is None else amount
        if not 0 < refund <= order.total_amount - order.refund_amount:
            raise ValueError(f"cannot refund {refund} fen of order {order_id}")
        self._refund_seq += 1
        order.refund_amount += refund
        order.refund_status = "REFUND_SUCCESS"
        self.push(
            "ORDER_BUYER_VIEW_ORDER_BUYER_REFUND",
            {
                "refundId": f"TQ{self._refund_seq:012d}",
                "orderId": order.order_id,
                "refundStatus": order.refund_status,
                "refundAmount": refund,
            },
        )
        return order

    def ship_order(self, order_id: str) -> KaOrder:
        """The sellers ship a paid order: one parcel per line, status
        ``WAITING_FOR_RECEIVE``."""
        order = self.order(order_id)
        if order.status != WAITING_FOR_SENT:
            raise ValueError(f"order {order_id} is {order.status}; only paid orders ship")
        for line in order.lines:
            self._parcel_seq += 1
            order.parcels.append(
                {
                    "logisticsId": f"LP{self._parcel_seq:010d}",
                    "logisticsBillNo": f"YT{7565691026000 + self._parcel_seq}",
                    "logisticsCompanyName": "圆通速递",
                    "status": "SENT",
                    "sendGoods": [
                        {"goodName": line["title"], "quantity": line["quantity"], "unit": "件"}
                    ],
                }
            )
        order.status = WAITING_FOR_RECEIVE
        return order


def ka_state(where: Sandbox | SandboxState) -> KaState:
    """The KA state of a sandbox (made on first use)."""
    state = where if isinstance(where, SandboxState) else where.state
    return state.namespace(NAMESPACE, lambda: KaState(state.clock))


def _china_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")


# -- shared request checks ----------------------------------------------------------------


def _page(body: dict[str, Any]) -> tuple[int, int]:
    page = c.integer(body, "beginPage", required=False)
    size = c.integer(body, "pageSize", required=False)
    page = 1 if page is None else page
    size = 20 if size is None else size
    if page < 1:
        raise c.bad("beginPage", f"pages are 1-based, got {page}")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise c.bad("pageSize", f"must be between 1 and {MAX_PAGE_SIZE}, got {size}")
    return page, size


def _paged(records: list[Any], page: int, size: int) -> dict[str, Any]:
    total = len(records)
    return {
        "totalRecords": total,
        "totalPage": math.ceil(total / size),
        "pageSize": size,
        "currentPage": page,
        "data": records[(page - 1) * size : page * size],
    }


def _yuan(body: dict[str, Any], key: str) -> int | None:
    """A yuan amount sent as a decimal string (or number), in fen."""
    amount = c.non_negative_decimal(body, key)
    return None if amount is None else int(amount * 100)


def _category_filter(body: dict[str, Any]) -> int | None:
    value = body.get("categoryId")
    if value is None or value == "":
        return None
    category_id = c.numeric_id(body, "categoryId")
    if category_id not in CATEGORIES:
        raise SandboxError(404, f"unknown categoryId {category_id}")
    return category_id


def _in_category(product: Product, category_id: int | None) -> bool:
    return category_id in (None, 0, product.category_id, product.top_category_id)


def _filters(body: dict[str, Any]) -> frozenset[str]:
    """The known tokens of ``filter``; unknown tokens are ignored, as a server would."""
    value = c.string(body, "filter", required=False) or ""
    return frozenset(t.strip() for t in value.split(",") if t.strip() in SEARCH_TAGS)


def _sort(body: dict[str, Any]) -> tuple[str, bool] | None:
    value = c.string(body, "sort", required=False)
    if not value:
        return None
    try:
        doc = json.loads(value)
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or len(doc) != 1:
        raise c.bad("sort", f'must be a JSON string like {{"price":"desc"}}, got {value!r}'[:200])
    ((field, direction),) = doc.items()
    if field not in SORT_FIELDS:
        raise c.bad("sort", f"the sandbox sorts by {', '.join(SORT_FIELDS)}, not {field!r}")
    if direction not in ("asc", "desc"):
        raise c.bad("sort", f"direction must be asc or desc, got {direction!r}"[:200])
    return field, direction == "desc"


def _select(products: Iterable[Product], body: dict[str, Any]) -> list[Product]:
    """Apply ``filter``, ``priceStart``/``priceEnd``, ``categoryId`` and ``sort``."""
    tags = _filters(body)
    low, high = _yuan(body, "priceStart"), _yuan(body, "priceEnd")
    category_id = _category_filter(body)
    sort = _sort(body)
    chosen = [
        p
        for p in products
        if tags <= p.tags
        and (low is None or p.price >= low)
        and (high is None or p.price <= high)
        and _in_category(p, category_id)
    ]
    if sort is not None:
        field, descending = sort
        key: Callable[[Product], int] = (
            (lambda p: p.price) if field == "price" else (lambda p: p.monthly_sales)
        )
        chosen.sort(key=key, reverse=descending)
    return chosen


# -- products -----------------------------------------------------------------------------


@operation("products.search")
def search(state: SandboxState, body: dict[str, Any]) -> Any:
    keyword = c.string(body, "keyword")
    assert keyword is not None
    page, size = _page(body)
    c.string(body, "country", required=False)
    c.string(body, "outMemberId", required=False)
    words = keyword.casefold().split()
    matches = (
        p
        for p in catalogue().values()
        if all(w in p.subject.casefold() or w in p.subject_translated.casefold() for w in words)
    )
    return _paged([p.summary() for p in _select(matches, body)], page, size)


@operation("products.image_search")
def image_search(state: SandboxState, body: dict[str, Any]) -> Any:
    encoded = c.string(body, "imageBase64", required=False)
    address = c.string(body, "imageAddress", required=False)
    page, size = _page(body)
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
    return _paged([p.summary() for p in _select(similar, body)], page, size)


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
    models = body.get("logisticsSkuNumModels")
    if models is not None:
        known = {s.sku_id for s in product.skus}
        for i, entry in enumerate(c.items(body, "logisticsSkuNumModels")):
            path = c.at("logisticsSkuNumModels", i)
            sku_id = c.integer(entry, "skuId", path)
            c.positive_int(entry, "number", path)
            if sku_id not in known:
                raise SandboxError(404, f"{c.at(path, 'skuId')}: unknown SKU {sku_id}")
    freight = _shipping(product.weight_grams * quantity, free=product.free_shipping)
    if freight and province.startswith(REMOTE_PROVINCES):
        freight += REMOTE_PROVINCE_FEN
    return {
        "offerId": product.offer_id,
        "freight": freight,
        "freePostage": product.free_shipping,
        "templateId": 10_000 + product.offer_id % 97,
    }


@operation("products.pool")
def pool(state: SandboxState, body: dict[str, Any]) -> Any:
    page, size = _page(body)
    pool_id = c.string(body, "poolId", required=False)
    if pool_id not in (None, "", "default"):
        raise SandboxError(404, f"unknown poolId {pool_id!r}; the sandbox has 'default'")
    chosen = _select((p for p in catalogue().values() if p.in_pool), body)
    return _paged([p.summary() for p in chosen], page, size)


def _shipping(grams: int, *, free: bool) -> int:
    if free:
        return 0
    kilograms = max(1, math.ceil(grams / 1000))
    return FIRST_KG_FEN + EXTRA_KG_FEN * (kilograms - 1)


# -- orders -------------------------------------------------------------------------------


def _quantity(line: dict[str, Any], path: str) -> int:
    value = line.get("quantity")
    where = c.at(path, "quantity")
    if value is None:
        raise c.bad(where, "required")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise c.bad(where, f"must be a number, got {value!r}"[:200])
    if value <= 0 or value != int(value):
        raise c.bad(where, f"must be a positive whole number, got {value!r}")
    return int(value)


@attrs.frozen
class _Preview:
    orders: list[dict[str, Any]]
    """The preview's ``data``: one entry per seller."""
    problems: list[tuple[str, str]]
    """``(cargoParamList[i], message)`` for each line that cannot be ordered."""
    quantities: dict[int, int]
    """``id(line)`` -> the quantity ordered."""


def _preview(body: dict[str, Any]) -> _Preview:
    c.string(body, "flow")
    address = c.obj(body, "addressParam")
    c.string(address, "fullName", "addressParam")
    c.string(address, "address", "addressParam")
    products = catalogue()
    groups: dict[str, dict[str, Any]] = {}
    weights: dict[str, int] = {}
    free: dict[str, bool] = {}
    problems: list[tuple[str, str]] = []
    quantities: dict[int, int] = {}
    for i, cargo in enumerate(c.items(body, "cargoParamList")):
        path = c.at("cargoParamList", i)
        offer_id = c.numeric_id(cargo, "offerId", path)
        spec_id = c.string(cargo, "specId", path, required=False)
        quantity = _quantity(cargo, path)
        product = products.get(offer_id)
        line: dict[str, Any] = {"amount": 0, "message": None, "finalUnitPrice": 0}
        message = None
        sku = None
        if product is None:
            message = "商品不存在或已下架 (the product does not exist or is off the shelf)"
        else:
            sku = next((s for s in product.skus if s.spec_id == spec_id), None)
            if sku is None and spec_id is None and len(product.skus) == 1:
                sku = product.skus[0]
            if sku is None:
                message = f"规格不存在 (no SKU with specId {spec_id!r})"
            elif sku.stock == 0:
                message = "库存不足 (this SKU is out of stock)"
            elif quantity > sku.stock:
                message = f"库存不足 (only {sku.stock} left)"
            elif quantity < product.min_order_quantity:
                message = f"低于起批量 (the minimum order is {product.min_order_quantity})"
        if sku is not None and product is not None:
            line["finalUnitPrice"] = product.unit_price(sku, quantity)
            line.update(specId=sku.spec_id, skuId=sku.sku_id)
        else:
            line.update(specId=spec_id, skuId=None)
        line.update(
            offerId=offer_id,
            openOfferId=product.open_offer_id if product else _open_id("offer", offer_id),
        )
        seller = product.seller.open_uid if product else "unknown"
        group = groups.setdefault(seller, {"orderItemTOList": []})
        if message is None and sku is not None and product is not None:
            line["amount"] = line["finalUnitPrice"] * quantity
            weights[seller] = weights.get(seller, 0) + product.weight_grams * quantity
            free[seller] = free.get(seller, True) and product.free_shipping
        else:
            line["message"] = message
            problems.append((path, str(message)))
        group["orderItemTOList"].append(line)
        quantities[id(line)] = quantity
    preview = []
    for seller, group in groups.items():
        goods = sum(line["amount"] for line in group["orderItemTOList"])
        carriage = _shipping(weights[seller], free=free[seller]) if seller in weights else 0
        payment = goods + carriage
        fee = -(-payment * SERVICE_FEE_PER_10000 // 10_000)
        preview.append(
            {
                "sumCarriage": carriage,
                "sumPayment": payment,
                "sumTotalPayment": payment + fee,
                "sumPaymentNoCarriage": goods,
                "orderItemTOList": group["orderItemTOList"],
            }
        )
    return _Preview(preview, problems, quantities)


@operation("orders.preview")
def preview_order(state: SandboxState, body: dict[str, Any]) -> Any:
    return _preview(body).orders


@operation("orders.create")
def create_order(state: SandboxState, body: dict[str, Any]) -> Any:
    ka = ka_state(state)
    result = _preview(body)
    preview, problems = result.orders, result.problems
    for key in ("message", "shopPromotionId", "tradeType"):
        c.string(body, key, required=False)
    out_order_id = c.string(body, "outOrderId", required=False) or None
    if problems:
        details = "; ".join(f"{path}: {message}" for path, message in problems)
        raise SandboxError(400, f"the order cannot be created: {details}")
    cart = json.dumps(
        [body.get("addressParam"), body.get("cargoParamList")], sort_keys=True, default=str
    )
    if out_order_id is not None and out_order_id in ka.orders_by_out_id:
        existing = ka.orders_by_out_id[out_order_id]
        if existing.cart != cart:
            raise SandboxError(
                409, f"outOrderId {out_order_id!r} is already order {existing.order_id}"
            )
        return {"orderId": existing.order_id, "totalSuccessAmount": existing.total_amount}
    products = catalogue()
    lines = []
    for group in preview:
        for line in group["orderItemTOList"]:
            product = products[line["offerId"]]
            lines.append(
                {
                    "offerId": line["offerId"],
                    "specId": line["specId"],
                    "skuId": line["skuId"],
                    "title": product.subject,
                    "imageUrl": product.image_urls()[0],
                    "quantity": result.quantities[id(line)],
                    "finalUnitPrice": line["finalUnitPrice"],
                    "amount": line["amount"],
                }
            )
    order_id, order_no = ka.new_order_ids()
    order = KaOrder(
        order_id=order_id,
        order_no=order_no,
        out_order_id=out_order_id,
        cart=cart,
        lines=lines,
        goods_amount=sum(g["sumPaymentNoCarriage"] for g in preview),
        shipping_fee=sum(g["sumCarriage"] for g in preview),
        total_amount=sum(g["sumTotalPayment"] for g in preview),
        created=state.clock(),
    )
    ka.orders[order_id] = order
    if out_order_id is not None:
        ka.orders_by_out_id[out_order_id] = order
    ka.push("ORDER_CREATE", order.message_body())
    return {"orderId": order_id, "totalSuccessAmount": order.total_amount}


def _order(state: SandboxState, body: dict[str, Any]) -> KaOrder:
    order_id = c.id_string(body, "orderId")
    order = ka_state(state).orders.get(order_id)
    if order is None:
        raise SandboxError(404, f"unknown orderId {order_id!r}")
    return order


@operation("orders.pay")
def pay_order(state: SandboxState, body: dict[str, Any]) -> Any:
    order = _order(state, body)
    if order.status == CANCEL:
        raise SandboxError(409, f"order {order.order_id} is cancelled")
    if order.pay_status != 2:
        order.pay_status = 2
        order.paid = state.clock()
        order.status = WAITING_FOR_SENT
        ka_state(state).push("ORDER_PAY_SUCCESS", order.message_body())
    return {
        "orderId": order.order_id,
        "payUrl": f"https://sandbox.xportcn.invalid/pay?orderId={order.order_id}",
    }


def _web_site(body: dict[str, Any]) -> None:
    web_site = c.string(body, "webSite", required=False)
    if web_site not in (None, "1688"):
        raise c.bad("webSite", f"must be '1688', got {web_site!r}"[:200])


@operation("orders.detail")
def order_detail(state: SandboxState, body: dict[str, Any]) -> Any:
    _web_site(body)
    return _order(state, body).to_wire()


@operation("orders.logistics")
def order_logistics(state: SandboxState, body: dict[str, Any]) -> Any:
    _web_site(body)
    return list(_order(state, body).parcels)


def _time_filter(body: dict[str, Any], key: str) -> float | None:
    value = c.string(body, key, required=False)
    if not value:
        return None
    try:
        return parse_china_time(value).timestamp()
    except ValueError:
        raise c.bad(key, f"must be 'yyyy-MM-dd HH:mm:ss', got {value!r}"[:200]) from None


@operation("orders.list")
def list_orders(state: SandboxState, body: dict[str, Any]) -> Any:
    page, size = _page(body)
    status = c.string(body, "orderStatus", required=False)
    start, end = _time_filter(body, "createStartTime"), _time_filter(body, "createEndTime")
    chosen = [
        o.to_wire()
        for o in reversed(ka_state(state).orders.values())
        if (not status or o.status == status)
        and (start is None or o.created >= start)
        and (end is None or o.created <= end)
    ]
    return _paged(chosen, page, size)


# -- IM -----------------------------------------------------------------------------------


@operation("im.decrypt_open_uid")
def decrypt_open_uid(state: SandboxState, body: dict[str, Any]) -> Any:
    open_uid = c.string(body, "openUid")
    offer_id = c.numeric_id(body, "offerId")
    assert open_uid is not None
    product = catalogue().get(offer_id)
    if product is not None and product.seller.open_uid == open_uid:
        nickname = product.seller.nickname
    else:  # any other open uid decrypts to a stable made-up seller
        nickname = f"sandbox_seller_{zlib.crc32(open_uid.encode()):08x}"
    return {
        "wangwangNick": nickname,
        "imUrl": f"https://sandbox.xportcn.invalid/im?touid={nickname}",
    }


# -- wms ----------------------------------------------------------------------------------

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


@operation("wms.forecast")
def forecast_package(state: SandboxState, body: dict[str, Any]) -> Any:
    ka = ka_state(state)
    out_order_id = c.id_string(body, "out_order_id")
    fields = _package_fields(body, required=True)
    if out_order_id in ka.packages:
        raise SandboxError(409, f"package {out_order_id!r} is already known; update it instead")
    package = WmsPackageRecord(ka.new_package_id(), out_order_id, **fields)
    ka.packages[out_order_id] = package
    return package.to_wire()


@operation("wms.inbound")
def inbound_package(state: SandboxState, body: dict[str, Any]) -> Any:
    ka = ka_state(state)
    out_order_id = c.id_string(body, "out_order_id")
    fields = _package_fields(body, required=True)
    inspection = _inspection(body)
    package = ka.packages.get(out_order_id)
    if package is None:
        package = ka.packages[out_order_id] = WmsPackageRecord(ka.new_package_id(), out_order_id)
    elif package.status == "INBOUND":
        raise SandboxError(409, f"package {out_order_id!r} was already received")
    for key, value in fields.items():
        setattr(package, key, value)
    package.quality_inspection_info = inspection
    package.status = "INBOUND"
    return package.to_wire()


@operation("wms.update")
def update_package(state: SandboxState, body: dict[str, Any]) -> Any:
    ka = ka_state(state)
    out_order_id = c.id_string(body, "out_order_id")
    fields = _package_fields(body, required=False)
    inspection = _inspection(body)
    package = ka.packages.get(out_order_id)
    if package is None:
        raise SandboxError(404, f"unknown out_order_id {out_order_id!r}: forecast it first")
    for key, value in fields.items():
        setattr(package, key, value)
    if inspection is not None:
        package.quality_inspection_info = inspection
    return package.to_wire()
