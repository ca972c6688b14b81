"""Pricing a cart: what ``orders.preview`` answers, and what ``orders.create`` books.

A cart is an address and ``cargoParamList`` lines. Each line is read, looked up in the
catalogue and checked (:class:`CartLine`); the lines are grouped by seller
(:class:`SellerOrder`), and each seller's order is priced (fen):

- a line costs its quantity times the unit price of the matching price break;
- shipping is charged per seller (:func:`~xportcn_async.sandbox.ka.catalogue.shipping_fee`,
  free when every orderable line of the seller ships free);
- ``sumTotalPayment`` adds a 2.51 % service fee to goods and shipping, rounded up.

Lines that cannot be ordered (unknown product or SKU, out of stock, not enough stock, under
the minimum quantity) carry a ``message``, cost nothing, and make ``create`` fail with 400.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from .. import checks as c
from .catalogue import Product, Sku, catalogue, open_id, shipping_fee

__all__ = ["SERVICE_FEE_PER_10000", "CartLine", "Preview", "SellerOrder", "preview"]

SERVICE_FEE_PER_10000 = 251
"""The service fee of ``sumTotalPayment``: 2.51 % of goods and shipping, rounded up."""
UNKNOWN_SELLER = "unknown"
"""The seller that lines of unknown products are grouped under."""


@attrs.frozen
class CartLine:
    """One ``cargoParamList`` line, read and looked up. ``problem`` says why it cannot be
    ordered; when it is ``None``, ``product`` and ``sku`` are set."""

    path: str
    """``cargoParamList[i]``, for error messages."""
    offer_id: int
    spec_id: str | None
    quantity: int
    product: Product | None
    sku: Sku | None
    problem: str | None

    @property
    def seller(self) -> str:
        return self.product.seller.open_uid if self.product is not None else UNKNOWN_SELLER

    @property
    def unit_price(self) -> int:
        """The unit price of the price break for the quantity (0 without a SKU)."""
        if self.product is None or self.sku is None:
            return 0
        return self.product.unit_price(self.sku, self.quantity)

    @property
    def amount(self) -> int:
        return 0 if self.problem is not None else self.unit_price * self.quantity

    @property
    def weight_grams(self) -> int:
        if self.problem is not None or self.product is None:
            return 0
        return self.product.weight_grams * self.quantity

    def to_wire(self) -> dict[str, Any]:
        """The line as the preview's ``orderItemTOList`` shows it."""
        return {
            "amount": self.amount,
            "message": self.problem,
            "finalUnitPrice": self.unit_price,
            "specId": self.spec_id if self.sku is None else self.sku.spec_id,
            "skuId": None if self.sku is None else self.sku.sku_id,
            "offerId": self.offer_id,
            "openOfferId": (
                self.product.open_offer_id
                if self.product is not None
                else open_id("offer", self.offer_id)
            ),
        }


@attrs.frozen
class SellerOrder:
    """The lines of one seller and what they cost: one entry of the preview's ``data``."""

    lines: tuple[CartLine, ...]

    @property
    def goods(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def carriage(self) -> int:
        orderable = [line for line in self.lines if line.problem is None]
        if not orderable:
            return 0
        free = all(line.product is not None and line.product.free_shipping for line in orderable)
        return shipping_fee(sum(line.weight_grams for line in orderable), free=free)

    @property
    def payment(self) -> int:
        return self.goods + self.carriage

    @property
    def total_payment(self) -> int:
        """:attr:`payment` and the service fee, rounded up to the fen."""
        return self.payment + -(-self.payment * SERVICE_FEE_PER_10000 // 10_000)

    def to_wire(self) -> dict[str, Any]:
        return {
            "sumCarriage": self.carriage,
            "sumPayment": self.payment,
            "sumTotalPayment": self.total_payment,
            "sumPaymentNoCarriage": self.goods,
            "orderItemTOList": [line.to_wire() for line in self.lines],
        }


@attrs.frozen
class Preview:
    """A priced cart: one order per seller, in the order the sellers first appear."""

    sellers: tuple[SellerOrder, ...]

    @property
    def lines(self) -> Iterator[CartLine]:
        return (line for seller in self.sellers for line in seller.lines)

    @property
    def problems(self) -> list[tuple[str, str]]:
        """``(cargoParamList[i], message)`` for each line that cannot be ordered."""
        return [(line.path, line.problem) for line in self.lines if line.problem is not None]

    def to_wire(self) -> list[dict[str, Any]]:
        return [seller.to_wire() for seller in self.sellers]


def preview(body: dict[str, Any]) -> Preview:
    """Check a cart (the fields ``preview`` and ``create`` share) and price it."""
    _check_address(body)
    lines = [
        _read_line(cargo, c.at("cargoParamList", i))
        for i, cargo in enumerate(c.items(body, "cargoParamList"))
    ]
    return Preview(_by_seller(lines))


def _check_address(body: dict[str, Any]) -> None:
    c.string(body, "flow")
    address = c.obj(body, "addressParam")
    c.string(address, "fullName", "addressParam")
    c.string(address, "address", "addressParam")


def _read_line(cargo: dict[str, Any], path: str) -> CartLine:
    offer_id = c.numeric_id(cargo, "offerId", path)
    spec_id = c.string(cargo, "specId", path, required=False)
    quantity = _quantity(cargo, path)
    product = catalogue().get(offer_id)
    sku = None if product is None else _find_sku(product, spec_id)
    problem = _problem(product, sku, spec_id, quantity)
    return CartLine(path, offer_id, spec_id, quantity, product, sku, problem)


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


def _find_sku(product: Product, spec_id: str | None) -> Sku | None:
    """The SKU ``spec_id`` names; without one, the only SKU of a single-SKU product."""
    sku = next((s for s in product.skus if s.spec_id == spec_id), None)
    if sku is None and spec_id is None and len(product.skus) == 1:
        return product.skus[0]
    return sku


def _problem(
    product: Product | None, sku: Sku | None, spec_id: str | None, quantity: int
) -> str | None:
    """Why a line cannot be ordered (the message the preview shows), or ``None``."""
    if product is None:
        return "商品不存在或已下架 (the product does not exist or is off the shelf)"
    if sku is None:
        return f"规格不存在 (no SKU with specId {spec_id!r})"
    if sku.stock == 0:
        return "库存不足 (this SKU is out of stock)"
    if quantity > sku.stock:
        return f"库存不足 (only {sku.stock} left)"
    if quantity < product.min_order_quantity:
        return f"低于起批量 (the minimum order is {product.min_order_quantity})"
    return None


def _by_seller(lines: list[CartLine]) -> tuple[SellerOrder, ...]:
    groups: dict[str, list[CartLine]] = {}
    for line in lines:
        groups.setdefault(line.seller, []).append(line)
    return tuple(SellerOrder(tuple(group)) for group in groups.values())
