"""The sandbox's KA and wms operations (API.md §4.4–§5): products, orders, IM, warehouse
packages, and the order messages the sandbox pushes.

One module per concern, each importing only those above it in this list:

- :mod:`.catalogue`: the fixed, seeded products, categories and sellers, and the price
  rules (price breaks, shipping);
- :mod:`.state`: orders, wms packages, the message queue, and the controls a test uses to
  move orders along (:class:`KaState`, :func:`ka_state`);
- :mod:`.paging`, :mod:`.search`: pages, and which products a search answers;
- :mod:`.preview`: pricing a cart (what ``orders.preview`` answers and ``create`` books);
- :mod:`.products`, :mod:`.orders`, :mod:`.im`, :mod:`.wms`: the handlers, registered with
  :func:`~xportcn_async.sandbox.registry.operation` when this package is imported.
"""

# The handler modules register themselves with @operation when imported.
from . import im, orders, products, wms  # noqa: F401
from .catalogue import CATEGORIES, Product, Sku, catalogue
from .state import KaOrder, KaState, WmsPackageRecord, ka_state

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
