"""Signing (API.md §2) and credentials: pure, no event loop, no network."""

from __future__ import annotations

import os
import random
import re
import string
from collections import Counter

import pytest

from xportcn_async import (
    ConfigurationError,
    Credentials,
    DefaultSigner,
    EnvelopeStyle,
    InMemoryTransport,
    Response,
    SignedParams,
    Signing,
    XportcnClient,
    signature,
)
from xportcn_async.credentials import ENV_ACCESS_KEY, ENV_ACCESS_SECRET, ENV_USER_ID

NONCE = re.compile(r"[A-Za-z0-9]{32}")
FIXED_NOW = 1732665600.123  # seconds since the epoch, with a fractional part


def fixed_clock() -> float:
    return FIXED_NOW


# -- the signature rule ------------------------------------------------------------------


def test_signature_matches_the_documented_test_vector() -> None:
    assert (
        signature(
            "ak-demo-0001",
            "1732665600000",
            "N0nceN0nceN0nceN0nceN0nceN0nce12",
            "sk-demo-secret",
        )
        == "DF94144C525D31C3312F82BF51979356"
    )


def test_signature_depends_on_every_signed_parameter() -> None:
    base = ("ak-demo-0001", "1732665600000", "N0nceN0nceN0nceN0nceN0nceN0nce12", "sk-demo-secret")
    reference = signature(*base)
    for i in range(4):
        changed = list(base)
        changed[i] += "x"
        assert signature(*changed) != reference, f"parameter {i} is not signed"


def test_signature_is_32_upper_case_hex_characters() -> None:
    assert re.fullmatch(r"[0-9A-F]{32}", signature("k", "1", "n", "s"))


# -- DefaultSigner -----------------------------------------------------------------------


def test_default_signer_sends_the_documented_headers() -> None:
    creds = Credentials("ak-demo-0001", "sk-demo-secret", "user-7")
    signed = DefaultSigner(clock=fixed_clock).sign(creds, query_signed=False)
    headers = signed.headers
    assert set(headers) == {"access-key", "timestamp", "nonce-str", "signature", "user-id"}
    assert headers["access-key"] == "ak-demo-0001"
    assert headers["timestamp"] == "1732665600123"  # milliseconds, decimal string
    assert NONCE.fullmatch(headers["nonce-str"])
    assert headers["user-id"] == "user-7"
    assert headers["signature"] == signature(
        "ak-demo-0001", headers["timestamp"], headers["nonce-str"], "sk-demo-secret"
    )
    assert signed.query == {}


def test_default_signer_never_sends_the_secret() -> None:
    creds = Credentials("ak", "sk-very-secret-value", "u")
    signed = DefaultSigner().sign(creds, query_signed=True)
    sent = [*signed.headers.values(), *signed.query.values()]
    assert not any("sk-very-secret-value" in v for v in sent)


def test_user_id_header_is_omitted_when_none_is_configured() -> None:
    signed = DefaultSigner().sign(Credentials("ak", "sk"), query_signed=False)
    assert "user-id" not in signed.headers


def test_every_signing_gets_a_new_nonce_and_signature() -> None:
    creds = Credentials("ak", "sk")
    signer = DefaultSigner(clock=fixed_clock)
    results = [signer.sign(creds, query_signed=False) for _ in range(50)]
    nonces = {r.headers["nonce-str"] for r in results}
    assert len(nonces) == 50
    assert all(NONCE.fullmatch(n) for n in nonces)
    # Same timestamp, different nonce: the signatures differ too.
    assert len({r.headers["signature"] for r in results}) == 50


def test_nonces_use_the_whole_alphanumeric_alphabet() -> None:
    # 200 nonces are 6400 characters; a generator restricted to, say, hex digits or lower
    # case would miss most of the alphabet. Missing one fair character by chance: ~1e-43.
    creds = Credentials("ak", "sk")
    signer = DefaultSigner()
    seen = set(
        "".join(signer.sign(creds, query_signed=False).headers["nonce-str"] for _ in range(200))
    )
    assert seen == set(string.ascii_letters + string.digits)


def test_every_position_of_a_nonce_varies() -> None:
    # A fixed prefix or suffix would make nonces guessable there (chance of one position
    # showing a single character in 200 fair nonces: ~1e-357).
    creds = Credentials("ak", "sk")
    nonces = [
        DefaultSigner().sign(creds, query_signed=False).headers["nonce-str"] for _ in range(200)
    ]
    assert all(len({n[i] for n in nonces}) > 1 for i in range(32))


def test_nonce_characters_are_equally_likely(monkeypatch: pytest.MonkeyPatch) -> None:
    # Over a uniform random source (seeded here, so the counts are always the same), every
    # character comes up equally often; mapping all 256 byte values onto 62 characters would
    # favour eight of them by a quarter.
    monkeypatch.setattr(os, "urandom", random.Random(7).randbytes)
    creds = Credentials("ak", "sk")
    counts = Counter(
        "".join(
            DefaultSigner().sign(creds, query_signed=False).headers["nonce-str"]
            for _ in range(6200)
        )
    )
    assert len(counts) == 62
    assert max(counts.values()) / min(counts.values()) < 1.15


def test_timestamp_unit_can_be_switched_to_seconds() -> None:
    creds = Credentials("ak", "sk")
    signed = DefaultSigner(timestamp_unit="s", clock=fixed_clock).sign(creds, query_signed=True)
    assert signed.headers["timestamp"] == "1732665600"
    assert signed.query["timestamp"] == "1732665600"
    assert signed.headers["signature"] == signature(
        "ak", "1732665600", signed.headers["nonce-str"], "sk"
    )


def test_default_timestamp_is_the_current_time_in_milliseconds() -> None:
    ticks = iter([1000.0, 1000.5])
    signer = DefaultSigner(clock=lambda: next(ticks))
    creds = Credentials("ak", "sk")
    assert signer.sign(creds, query_signed=False).headers["timestamp"] == "1000000"
    assert signer.sign(creds, query_signed=False).headers["timestamp"] == "1000500"


def test_query_signed_endpoints_get_the_same_timestamp_and_signature_in_the_query() -> None:
    creds = Credentials("ak", "sk")
    signed = DefaultSigner(clock=fixed_clock).sign(creds, query_signed=True)
    assert signed.query == {
        "timestamp": signed.headers["timestamp"],
        "sign": signed.headers["signature"],
    }


# -- a custom signer ---------------------------------------------------------------------


class RecordingSigner:
    """A user's own signing rule."""

    def __init__(self) -> None:
        self.calls: list[tuple[Credentials, bool]] = []

    def sign(self, credentials: Credentials, *, query_signed: bool) -> SignedParams:
        self.calls.append((credentials, query_signed))
        query = {"ts": "1", "mysign": "CUSTOM"} if query_signed else {}
        return SignedParams({"x-my-sign": "CUSTOM", "access-key": credentials.access_key}, query)


async def test_a_custom_signer_replaces_the_default_one() -> None:
    creds = Credentials("ak", "sk")
    signer = RecordingSigner()
    ok_l = Response.json({"errorCode": 200, "errorMsg": None, "success": True, "data": 1})
    ok_k = Response.json({"code": 200, "msg": "ok", "data": []})
    transport = InMemoryTransport(script=[ok_l, ok_k])
    async with XportcnClient(creds, transport=transport, signer=signer) as client:
        await client.call(
            "/open/pp/logistics/x",
            {},
            auth=Signing.HEADERS_AND_QUERY,
            envelope=EnvelopeStyle.LOGISTICS,
        )
        await client.addresses.list()

    assert [q for _, q in signer.calls] == [True, False]
    assert all(c is creds for c, _ in signer.calls)
    q_call, h_call = transport.calls
    assert q_call.headers["x-my-sign"] == "CUSTOM"
    assert "signature" not in q_call.headers and "nonce-str" not in q_call.headers
    assert q_call.url.endswith("/open/pp/logistics/x?ts=1&mysign=CUSTOM")
    assert h_call.headers["x-my-sign"] == "CUSTOM"
    assert "?" not in h_call.url


# -- credentials -------------------------------------------------------------------------


def test_credentials_repr_hides_the_secret() -> None:
    creds = Credentials("ak-visible", "sk-hidden-value", "u-1")
    for text in (repr(creds), str(creds), repr([creds]), repr({"c": creds})):
        assert "sk-hidden-value" not in text
    assert "ak-visible" in repr(creds)


def test_credentials_from_env_reads_the_three_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_ACCESS_KEY, "ak-env")
    monkeypatch.setenv(ENV_ACCESS_SECRET, "sk-env")
    monkeypatch.setenv(ENV_USER_ID, "u-env")
    assert (ENV_ACCESS_KEY, ENV_ACCESS_SECRET, ENV_USER_ID) == (
        "XPORTCN_ACCESS_KEY",
        "XPORTCN_ACCESS_SECRET",
        "XPORTCN_USER_ID",
    )
    creds = Credentials.from_env()
    assert (creds.access_key, creds.access_secret, creds.user_id) == ("ak-env", "sk-env", "u-env")


def test_credentials_from_a_mapping_and_user_id_is_optional() -> None:
    creds = Credentials.from_env({"XPORTCN_ACCESS_KEY": "ak", "XPORTCN_ACCESS_SECRET": "sk"})
    assert (creds.access_key, creds.access_secret, creds.user_id) == ("ak", "sk", None)


@pytest.mark.parametrize(
    ("environ", "missing", "present"),
    [
        ({}, ["XPORTCN_ACCESS_KEY", "XPORTCN_ACCESS_SECRET"], []),
        ({"XPORTCN_ACCESS_KEY": "ak"}, ["XPORTCN_ACCESS_SECRET"], ["XPORTCN_ACCESS_KEY"]),
        ({"XPORTCN_ACCESS_SECRET": "sk-x"}, ["XPORTCN_ACCESS_KEY"], ["XPORTCN_ACCESS_SECRET"]),
        ({"XPORTCN_ACCESS_KEY": "ak", "XPORTCN_ACCESS_SECRET": ""}, ["XPORTCN_ACCESS_SECRET"], []),
    ],
)
def test_missing_environment_variables_are_named(
    environ: dict[str, str], missing: list[str], present: list[str]
) -> None:
    with pytest.raises(ConfigurationError) as info:
        Credentials.from_env(environ)
    for name in missing:
        assert name in str(info.value)
    for name in present:
        assert name not in str(info.value)
    assert "sk-x" not in str(info.value)


def test_client_without_credentials_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XPORTCN_ACCESS_KEY", "ak-from-env")
    monkeypatch.setenv("XPORTCN_ACCESS_SECRET", "sk-from-env")
    monkeypatch.delenv("XPORTCN_USER_ID", raising=False)
    client = XportcnClient(transport=InMemoryTransport())
    assert client.credentials.access_key == "ak-from-env"


def test_client_without_credentials_or_environment_fails_clearly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("XPORTCN_ACCESS_KEY", raising=False)
    monkeypatch.delenv("XPORTCN_ACCESS_SECRET", raising=False)
    with pytest.raises(ConfigurationError, match="XPORTCN_ACCESS_KEY"):
        XportcnClient(transport=InMemoryTransport())


@pytest.mark.parametrize(("key", "secret"), [("", "sk"), ("ak", "")])
def test_empty_credentials_are_rejected(key: str, secret: str) -> None:
    with pytest.raises(ConfigurationError):
        Credentials(key, secret)
