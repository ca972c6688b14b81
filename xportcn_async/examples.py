"""Realistic example bookings in wire format, deterministic for a seed: what
``xportcn example-orders`` prints, so that a user who installed the SDK with pip has
something to book against the sandbox (``examples/orders.jsonl`` is not in the wheel).

The addresses, names and products are made up; the item and SKU ids are those of the
sandbox's catalogue and of the docs' examples.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

DEFAULT_SEED = 20261127
"""The seed of ``examples/orders.jsonl``."""

ADDRESSES = [
    ("US", "California", "VALLEY VLG", "91607", "5818 WHITSETT AVE 401"),
    ("US", "New York", "BROOKLYN", "11201", "77 CLARK ST APT 5B"),
    ("US", "Texas", "AUSTIN", "78701", "301 CONGRESS AVE STE 200"),
    ("US", "Washington", "SEATTLE", "98101", "1420 5TH AVE"),
    ("GB", "England", "LONDON", "EC1A 1BB", "12 ST MARTIN'S LE GRAND"),
    ("GB", "Scotland", "EDINBURGH", "EH1 1YZ", "4 PRINCES ST"),
    ("DE", "Berlin", "BERLIN", "10115", "INVALIDENSTRASSE 43"),
    ("DE", "Bayern", "MÜNCHEN", "80331", "MARIENPLATZ 8"),
    ("FR", "Île-de-France", "PARIS", "75002", "18 RUE DU SENTIER"),
    ("CA", "Ontario", "TORONTO", "M5V 2T6", "290 BREMNER BLVD"),
    ("AU", "New South Wales", "SYDNEY", "2000", "1 MACQUARIE ST"),
    ("JP", "Tokyo", "SHIBUYA-KU", "150-0002", "2-21-1 SHIBUYA"),
]
FIRST = [
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Lucas",
    "Mia",
    "Ethan",
    "Sofia",
    "Mateo",
    "Hannah",
    "Leon",
    "Chloé",
    "Hugo",
    "Yuki",
    "Haruto",
    "Charlotte",
    "Jack",
]
LAST = [
    "Smith",
    "Johnson",
    "Brown",
    "Garcia",
    "Müller",
    "Schmidt",
    "Martin",
    "Bernard",
    "Wilson",
    "Taylor",
    "Sato",
    "Tanaka",
    "Nguyen",
    "Kowalski",
    "Rossi",
    "Birinbaum",
]
PRODUCTS = [
    ("2048020617114736", "413185732720", "Women's cotton T-shirt, white, M"),
    ("2048232789087639", "4970432383383", "Stainless steel water bottle 750 ml"),
    ("2048111122223333", "5123456789012", "Bluetooth earbuds with charging case"),
    ("2048555566667777", "5234567890123", "Men's running shoes, size 42"),
    ("2048999900001111", "5345678901234", "Silicone kitchen spatula set (3 pcs)"),
    ("2048123412341234", "5456789012345", "Phone case, clear, for 6.1-inch phones"),
    ("2048432143214321", "5567890123456", "Yoga mat 6 mm, purple"),
    ("2048765476547654", "5678901234567", "LED desk lamp with USB charging"),
    ("2048345634563456", "5789012345678", "Children's backpack, dinosaur print"),
    ("2048678967896789", "5890123456789", "Ceramic coffee mug 350 ml"),
]


def _upstream_ids(seed: int) -> int:
    """The first upstream order id of ``seed``'s bookings, less one. Each seed has its own
    range, so that two example files never share a booking key (a journal would take the
    second file's orders for the first's, already booked)."""
    if seed == DEFAULT_SEED:
        return 7_300_000_000  # examples/orders.jsonl
    return 8_000_000_000_000 + (seed % 1_000_000) * 1_000_000


def _booking(rng: random.Random, n: int, first_id: int) -> dict[str, object]:
    country, state, city, zip_code, street = rng.choice(ADDRESSES)
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    phone = "".join(rng.choice("0123456789") for _ in range(10))
    lines = []
    for item_id, sku_id, title in rng.sample(PRODUCTS, rng.choice([1, 1, 1, 2, 2, 3])):
        lines.append(
            {
                "itemId": item_id,
                "skuId": sku_id,
                "quantity": rng.choice([1, 1, 1, 2, 3, 5]),
                "title": title,
                "imageUrl": f"https://img.example.invalid/{item_id}/{sku_id}.jpg",
                "freightInfo": {
                    "serviceId": rng.choice(["1", "2"]),
                    "companyName": "",
                    "serviceCategory": "",
                },
            }
        )
    order: dict[str, object] = {
        "tmallOrderInfo": {"tmallOrderId": str(first_id + n)},
        "receiverAddress": {
            "country": country,
            "state": state,
            "city": city,
            "zip": zip_code,
            "address": street,
            "name": name,
            "phone": phone,
            "mobilePhone": phone,
            "email": f"{name.split()[0].lower()}.{n}@example.com",
        },
        "lineItems": lines,
    }
    if n % 7 == 0:
        order["remark"] = "Gift: please remove price tags"
    return order


def example_bookings(count: int, *, seed: int = DEFAULT_SEED) -> Iterator[dict[str, object]]:
    """``count`` bookings (wire dicts, no ``renderId``: ``book_many`` previews them); the same
    ``seed`` gives the same bookings."""
    rng = random.Random(seed)
    first_id = _upstream_ids(seed)
    for n in range(1, count + 1):
        yield _booking(rng, n, first_id)


def example_lines(count: int, *, seed: int = DEFAULT_SEED) -> Iterator[str]:
    """The JSONL lines of :func:`example_bookings`, each ending in a newline."""
    for order in example_bookings(count, seed=seed):
        yield json.dumps(order, ensure_ascii=False) + "\n"
