"""The codec (``xportcn_async._core.codec``): an endpoint and a request in, the signed request of
each attempt out. Pure: no event loop, no network."""

from __future__ import annotations

import itertools
from typing import Any

import attrs
import pytest

from xportcn_async import Credentials, DefaultSigner, Timeout, endpoints
from xportcn_async._core import codec as codec_module
from xportcn_async._core import signing as signing_module
from xportcn_async._core.codec import Codec
from xportcn_async.signing import SignedParams, Signing

FIXED_NOW = 1732665600.123


def fixed_clock() -> float:
    return FIXED_NOW


@pytest.fixture
def fixed_nonces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both signing paths draw the same nonces, in the same order."""

    def numbered() -> Any:
        counter = itertools.count()
        return lambda length=32: f"{next(counter):0{length}d}"

    monkeypatch.setattr(codec_module, "new_nonce", numbered())
    monkeypatch.setattr(signing_module, "new_nonce", numbered())


class Wrapped:
    """A custom signer that signs like the default one: it takes the general path."""

    def __init__(self) -> None:
        self.inner = DefaultSigner(clock=fixed_clock)

    def sign(self, credentials: Credentials, *, query_signed: bool) -> SignedParams:
        return self.inner.sign(credentials, query_signed=query_signed)


@pytest.mark.parametrize("user_id", [None, "user-7"])
@pytest.mark.parametrize(
    "endpoint", [endpoints.LOGISTICS_BOOK, endpoints.ORDERS_DETAIL], ids=lambda e: e.name
)
def test_the_default_signer_fast_path_sends_what_the_signer_says(
    fixed_nonces: None, endpoint: Any, user_id: str | None
) -> None:
    """The codec signs straight into the headers when the signer is the default one; the
    request is the same, header for header and in the same order, as the one built from
    ``DefaultSigner.sign`` (the path every other signer takes)."""
    creds = Credentials("ak-demo-0001", "sk-demo-secret", user_id)
    made = {
        name: Codec(base_url="https://x.test/api", credentials=creds, signer=signer, paths={})
        for name, signer in (("fast", DefaultSigner(clock=fixed_clock)), ("general", Wrapped()))
    }
    assert made["fast"]._fast_sign and not made["general"]._fast_sign
    requests = {}
    for name, codec in made.items():
        route = codec.route(endpoint)
        requests[name] = codec.build(route, b'{"a":1}', Timeout(total=3.0))
    fast, general = requests["fast"], requests["general"]
    assert list(fast.headers.items()) == list(general.headers.items())
    assert (fast.method, fast.url, fast.body, fast.timeout) == (
        general.method,
        general.url,
        general.body,
        general.timeout,
    )
    assert fast.headers["timestamp"] == "1732665600123"
    assert fast.url.endswith(endpoint.path) != (endpoint.auth is Signing.HEADERS_AND_QUERY)


def test_a_signer_in_seconds_takes_the_general_path() -> None:
    creds = Credentials("ak", "sk")
    codec = Codec(
        base_url="https://x.test/api",
        credentials=creds,
        signer=DefaultSigner(timestamp_unit="s", clock=fixed_clock),
        paths={},
    )
    request = codec.build(codec.route(endpoints.LOGISTICS_BOOK), b"{}", Timeout())
    assert request.headers["timestamp"] == "1732665600"
    assert "timestamp=1732665600&sign=" in request.url


def test_routes_are_worked_out_once_per_endpoint_with_the_path_corrections() -> None:
    moved = attrs.evolve(endpoints.LOGISTICS_BOOK, path="/moved")
    codec = Codec(
        base_url="https://x.test/api",
        credentials=Credentials("ak", "sk"),
        signer=DefaultSigner(),
        paths={"logistics.book": moved},
    )
    route = codec.route(endpoints.LOGISTICS_BOOK)
    assert route is codec.route(endpoints.LOGISTICS_BOOK)
    assert route.url == "https://x.test/api/moved" and route.query_signed
    assert codec.route(endpoints.ORDERS_DETAIL).url.endswith(endpoints.ORDERS_DETAIL.path)
