"""Shared fixtures for the core, client and transport tests."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import traceback
import warnings
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from xportcn_async import (
    BookingRequest,
    Credentials,
    EstimateFreightRequest,
    Response,
    RetryPolicy,
    XportcnClient,
    from_wire,
)
from xportcn_async.models import (
    CreatedOrder,
    CreateOrderRequest,
    OrderAddress,
    OrderItem,
    PlacedOrder,
)
from xportcn_async.transports import (
    AiohttpTransport,
    HttptoolsTransport,
    ReqwestTransport,
    Transport,
)

# Real PostgreSQL and Redis (fixtures `postgres_url`, `redis_url`; markers `postgres`, `redis`):
# see tests/services.py. Without the servers those tests are deselected, and the run says so.
from .services import postgres_url as postgres_url
from .services import pytest_configure as pytest_configure
from .services import redis_url as redis_url

pytest_plugins = ("pytester",)

# Hypothesis runs derandomized (the same examples every run) unless HYPOTHESIS_PROFILE says
# otherwise, so that `make test` and CI are deterministic; `HYPOTHESIS_PROFILE=explore` searches
# afresh with more examples.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# The docs' wire examples, copied byte for byte from the spec (<root>/../shared/spec/examples;
# tests/test_fixtures.py checks that the copy matches whenever the spec is beside the repo).
EXAMPLES_DIR = Path(__file__).resolve().parent / "fixtures" / "examples"

ACCESS_KEY = "ak-test-0001"
# Long and distinctive, so that a leak is easy to spot in any text.
ACCESS_SECRET = "sk-TOP-SECRET-do-not-leak-7f3a9c"
USER_ID = "user-42"


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    """The API examples (byte-for-byte wire payloads from the docs)."""
    if not (EXAMPLES_DIR / "logistics").is_dir():
        pytest.fail(f"API examples not found at {EXAMPLES_DIR}", pytrace=False)
    return EXAMPLES_DIR


@pytest.fixture
def credentials() -> Credentials:
    return Credentials(ACCESS_KEY, ACCESS_SECRET, USER_ID)


@pytest.fixture
def fast_retry() -> RetryPolicy:
    """Real retries with delays too short to slow the suite down."""
    return RetryPolicy(max_retries=3, initial_delay=0.001, max_delay=0.002)


# -- the docs' examples as values ----------------------------------------------------------


@pytest.fixture
def booking_request(examples_dir: Path) -> BookingRequest:
    """The docs' ``orderBookingFreight`` request."""
    wire = json.loads((examples_dir / "logistics/orderBookingFreight.request.json").read_text())
    return from_wire(wire, BookingRequest)


@pytest.fixture
def booking_response(examples_dir: Path) -> bytes:
    """The docs' ``orderBookingFreight`` reply, as bytes."""
    return (examples_dir / "logistics/orderBookingFreight.response.json").read_bytes()


@pytest.fixture
def booking_ok(booking_response: bytes) -> Response:
    """The docs' ``orderBookingFreight`` reply, as a transport response."""
    return Response(200, {"content-type": "application/json"}, booking_response)


@pytest.fixture
def estimate_request(examples_dir: Path) -> EstimateFreightRequest:
    """The docs' ``itemLogisticsPrice`` request."""
    wire = json.loads((examples_dir / "logistics/itemLogisticsPrice.request.json").read_text())
    return from_wire(wire, EstimateFreightRequest)


# -- helpers for the secret and resource checks ----------------------------------------------


def exception_texts(err: BaseException) -> list[str]:
    """Everything printable about ``err`` and every exception reachable from it through
    ``__cause__``, ``__context__`` and ``.cause``, and its formatted traceback: where a
    leaked secret would show."""
    texts = ["".join(traceback.format_exception(err))]
    seen: set[int] = set()
    todo: list[BaseException | None] = [err]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        texts += [str(e), repr(e), repr(vars(e)), repr(e.args)]
        todo += [e.__cause__, e.__context__, getattr(e, "cause", None)]
    return texts


def unclosed_reports(run: Callable[[], Coroutine[Any, Any, None]]) -> list[str]:
    """Run ``run`` in a fresh loop; return every "Unclosed ..." report (loop exception
    handler or ``ResourceWarning``) made meanwhile or at garbage collection."""
    reports: list[str] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(
            lambda _loop, ctx: reports.append(str(ctx.get("message")))
        )
        await run()
        gc.collect()
        await asyncio.sleep(0)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(main())
        gc.collect()
    reports += [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    return [r for r in reports if "nclosed" in r]


# Every real transport, for the tests that hold for all of them: the fast ones are marked
# `httptools` and `reqwest` (they need the `fast` extra: deselected without it, required in CI,
# see tests/services.py).
TRANSPORTS = [
    "aiohttp",
    pytest.param("httptools", marks=pytest.mark.httptools),
    pytest.param("reqwest", marks=pytest.mark.reqwest),
]
TRANSPORT_CLASSES: dict[str, Callable[..., Transport]] = {
    "aiohttp": AiohttpTransport,
    "httptools": HttptoolsTransport,
    "reqwest": ReqwestTransport,
}


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    """The name of each real transport in turn (``XportcnClient(transport=name)``)."""
    name: str = request.param
    return name


@pytest.fixture
def make_transport(transport: str) -> Callable[..., Transport]:
    """Builds the transport under test with the given options (``limit``,
    ``max_response_size``)."""
    return TRANSPORT_CLASSES[transport]


async def pay_one_order_and_create_another(
    client: XportcnClient,
) -> tuple[PlacedOrder, CreatedOrder]:
    """The sandbox order flow the push tests share: one order placed and paid, a second one
    only created (the tests then cancel, reprice or refund them)."""
    address = OrderAddress(full_name="Warehouse", mobile="13500000000", address="1 Road")
    line = OrderItem(offer_id=889512351602, spec_id="530ad00177264564503ec3b848650652", quantity=2)
    paid = await client.orders.preview_and_create(CreateOrderRequest(address=address, items=[line]))
    assert paid.order_id is not None
    await client.orders.pay(paid.order_id)
    created = await client.orders.create(CreateOrderRequest(address=address, items=[line]))
    assert created.order_id is not None
    return paid, created
