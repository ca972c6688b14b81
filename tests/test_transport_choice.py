"""Choosing a transport: an instance, a name (``transport="reqwest"``) or
``$XPORTCN_TRANSPORT``; and how the reqwest transport reads pyreqwest's failures. (What every
transport must do over real sockets is in tests/test_transport_loopback.py.)"""

from __future__ import annotations

import sys

import pytest

from xportcn_async import (
    AiohttpTransport,
    ConfigurationError,
    ConnectionDroppedError,
    Credentials,
    HttptoolsTransport,
    InMemoryTransport,
    Request,
    RequestTimeoutError,
    ReqwestTransport,
    TransportError,
    XportcnClient,
)
from xportcn_async.transports import transport_named


@pytest.fixture(autouse=True)
def no_transport_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XPORTCN_TRANSPORT", raising=False)


async def test_the_default_is_aiohttp_built_and_closed_by_the_client(
    credentials: Credentials,
) -> None:
    client = XportcnClient(credentials)
    built = client.transport
    assert isinstance(built, AiohttpTransport)
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await built.send(Request("POST", "http://127.0.0.1:1/x", {}, b"{}"))


async def test_an_instance_is_used_as_it_is_and_left_open(credentials: Credentials) -> None:
    mine = InMemoryTransport()
    async with XportcnClient(credentials, transport=mine) as client:
        assert client.transport is mine
    assert not mine.closed


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        pytest.param("httptools", HttptoolsTransport, marks=pytest.mark.httptools),
        pytest.param("reqwest", ReqwestTransport, marks=pytest.mark.reqwest),
    ],
)
async def test_a_name_or_the_environment_chooses_a_fast_transport(
    credentials: Credentials, monkeypatch: pytest.MonkeyPatch, name: str, kind: type
) -> None:
    by_name = XportcnClient(credentials, transport=name, connection_limit=7)
    monkeypatch.setenv("XPORTCN_TRANSPORT", name)
    by_env = XportcnClient(credentials)
    explicit = XportcnClient(credentials, transport="aiohttp")  # the argument wins
    assert by_name.transport._limit == 7  # type: ignore[attr-defined]
    for client in (by_name, by_env):
        built = client.transport
        assert isinstance(built, kind)
        await client.aclose()
        with pytest.raises(RuntimeError, match="closed"):  # closed with the client
            await built.send(Request("POST", "http://127.0.0.1:1/x", {}, b"{}"))
    assert isinstance(explicit.transport, AiohttpTransport)
    await explicit.aclose()


def test_an_unknown_name_is_refused_wherever_it_comes_from(
    credentials: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigurationError, match="'httpx' is not a transport"):
        XportcnClient(credentials, transport="httpx")
    monkeypatch.setenv("XPORTCN_TRANSPORT", "requests")
    with pytest.raises(ConfigurationError, match=r"\$XPORTCN_TRANSPORT='requests'"):
        XportcnClient(credentials)


def test_reqwest_without_pyreqwest_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # Never a silent fall back to aiohttp: the user asked for the fast transport.
    monkeypatch.setitem(sys.modules, "pyreqwest.client", None)  # as if not installed
    with pytest.raises(ConfigurationError, match=r"pip install 'xportcn-async\[fast\]'"):
        ReqwestTransport()
    with pytest.raises(ConfigurationError, match=r"^transport='reqwest': .* needs pyreqwest"):
        transport_named("reqwest")
    monkeypatch.setenv("XPORTCN_TRANSPORT", "reqwest")
    with pytest.raises(
        ConfigurationError, match=r"\$XPORTCN_TRANSPORT='reqwest': .* needs pyreqwest"
    ):
        transport_named(None)


def test_httptools_without_httptools_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "httptools", None)  # as if not installed
    with pytest.raises(ConfigurationError, match=r"pip install 'xportcn-async\[fast\]'"):
        HttptoolsTransport()
    with pytest.raises(ConfigurationError, match=r"^transport='httptools': .* needs httptools"):
        transport_named("httptools")
    monkeypatch.setenv("XPORTCN_TRANSPORT", "httptools")
    with pytest.raises(
        ConfigurationError, match=r"\$XPORTCN_TRANSPORT='httptools': .* needs httptools"
    ):
        transport_named(None)


# -- pyreqwest's failures, read by their causes ------------------------------------------------

URL = "http://127.0.0.1:9/x?timestamp=1&sign=ABCDEF0123"


def _causes(*texts: str) -> dict[str, list[dict[str, str]]]:
    return {
        "causes": [{"message": f"error sending request for url ({URL})"}]
        + [{"message": t} for t in texts]
    }


@pytest.mark.reqwest
@pytest.mark.parametrize(
    ("make", "kind", "reached"),
    [
        # Class and phase disagree in pyreqwest 0.15; the causes decide.
        (lambda e: e.ConnectError("connection error", _causes("client error (Connect)", "tcp connect error")), "ConnectError", False),
        (lambda e: e.ConnectTimeoutError("connection timeout", _causes("client error (Connect)", "tcp connect error", "deadline has elapsed")), "RequestTimeoutError", False),
        (lambda e: e.ConnectError("connection error", _causes("client error (SendRequest)", "connection closed before message completed")), "ConnectionDroppedError", True),
        (lambda e: e.ConnectTimeoutError("connection timeout", _causes("operation timed out")), "RequestTimeoutError", True),
        (lambda e: e.RequestError("error sending request", _causes("request or response body error", "error reading a body from connection", "end of file before message length reached")), "ConnectionDroppedError", True),
        (lambda e: e.DecodeError("error decoding response", _causes("client error (SendRequest)", "invalid HTTP version parsed")), "TransportError", True),
        (lambda e: ValueError(f"relative URL without a base: {URL}"), "TransportError", True),
    ],
    ids=["refused", "connect-timeout", "closed-after-request", "no-reply", "truncated", "not-http", "bad-url"],
)  # fmt: skip
def test_reqwest_failures_map_on_their_causes(make, kind: str, reached: bool) -> None:  # type: ignore[no-untyped-def]
    import pyreqwest.exceptions

    from xportcn_async.transports.reqwest import _error

    error = _error(
        make(pyreqwest.exceptions), Request("POST", URL, {"signature": "ABCDEF0123"}, b"{}")
    )
    assert type(error).__name__ == kind
    assert isinstance(error, TransportError)
    assert error.may_have_reached_server is reached
    assert "ABCDEF0123" not in str(error)
    assert "127.0.0.1:9" in str(error)
    assert issubclass(RequestTimeoutError, TransportError) and issubclass(
        ConnectionDroppedError, TransportError
    )
