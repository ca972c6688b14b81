"""The real-services test set-up (tests/services.py): fresh databases, deselection without the
servers, and a failing run when CI requires them and they did not run."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

INNER_CONFTEST = "from tests.services import postgres_url, pytest_configure, redis_url\n"
INNER_TESTS = """
import pytest

def test_plain():
    pass

def test_needs_postgres(postgres_url):
    pass

@pytest.mark.redis
def test_marked_redis():
    pass
"""


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A separate pytest run (in a subprocess) with the services plugin and no servers set."""
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    for name in ("XPORTCN_TEST_POSTGRES_URL", "XPORTCN_TEST_REDIS_URL", "XPORTCN_REQUIRE_SERVICES"):
        monkeypatch.delenv(name, raising=False)
    pytester.makeconftest(INNER_CONFTEST)
    pytester.makepyfile(test_inner=INNER_TESTS)
    return pytester


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A 127.0.0.1 port that accepts TCP connections (and serves nothing)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def test_without_servers_the_tests_needing_them_are_deselected_with_a_message(
    inner: pytest.Pytester,
) -> None:
    result = inner.runpytest_subprocess()
    result.assert_outcomes(passed=1, deselected=2)
    result.stdout.fnmatch_lines(
        [
            "*DESELECTED 1 test(s) needing postgres: $XPORTCN_TEST_POSTGRES_URL is not set;*make services*",
            "*DESELECTED 1 test(s) needing redis: $XPORTCN_TEST_REDIS_URL is not set;*",
        ]
    )
    assert result.ret == 0


def test_a_required_service_that_is_not_set_fails_the_run(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XPORTCN_REQUIRE_SERVICES", "postgres")
    result = inner.runpytest_subprocess()
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*requires postgres, but $XPORTCN_TEST_POSTGRES_URL is not set*"])


def test_a_required_service_that_is_unreachable_fails_the_run(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    monkeypatch.setenv("XPORTCN_REQUIRE_SERVICES", "redis")
    monkeypatch.setenv("XPORTCN_TEST_REDIS_URL", f"redis://127.0.0.1:{closed_port}/0")
    result = inner.runpytest_subprocess()
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*requires redis, but $XPORTCN_TEST_REDIS_URL is unreachable*"])


def test_a_required_service_whose_tests_did_not_run_fails_the_run(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, listening_port: int
) -> None:
    monkeypatch.setenv("XPORTCN_REQUIRE_SERVICES", "redis")
    monkeypatch.setenv("XPORTCN_TEST_REDIS_URL", f"redis://127.0.0.1:{listening_port}/0")
    result = inner.runpytest_subprocess("-k", "plain")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*FAILED: no test needing redis ran*"])


def test_a_required_service_whose_tests_were_skipped_fails_the_run(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, listening_port: int
) -> None:
    inner.makepyfile(
        test_skipping="""
import pytest

@pytest.mark.redis
def test_skips():
    pytest.skip("no")
"""
    )
    monkeypatch.setenv("XPORTCN_REQUIRE_SERVICES", "redis")
    monkeypatch.setenv("XPORTCN_TEST_REDIS_URL", f"redis://127.0.0.1:{listening_port}/0")
    result = inner.runpytest_subprocess("-k", "redis or skips")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*FAILED: 1 test(s) needing redis were skipped*"])


async def _user_tables(url: str) -> list[str]:
    import asyncpg  # type: ignore[import-untyped,unused-ignore]

    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        await connection.execute("CREATE TABLE left_behind (x int)")
        return [row["tablename"] for row in rows]
    finally:
        await connection.close()


@pytest.mark.parametrize("attempt", [1, 2])
def test_each_test_gets_a_fresh_postgres_database(postgres_url: str, attempt: int) -> None:
    # Each run leaves a table behind; the other one must not see it.
    assert asyncio.run(_user_tables(postgres_url)) == []


@pytest.mark.parametrize("attempt", [1, 2])
def test_each_test_gets_an_empty_redis_database(redis_url: str, attempt: int) -> None:
    import redis

    with redis.Redis.from_url(redis_url) as client:
        assert client.dbsize() == 0
        client.set("left-behind", "1")


# -- optional dependencies: the reqwest transport's tests ------------------------------------

INNER_REQWEST_TESTS = """
import pytest

def test_plain():
    pass

@pytest.mark.reqwest
def test_needs_reqwest():
    pass
"""


def _without_pyreqwest(inner: pytest.Pytester) -> None:
    """Make the inner run believe pyreqwest is not installed."""
    inner.makeconftest(
        INNER_CONFTEST
        + "import tests.services\n"
        + "tests.services.OPTIONAL_MODULES['reqwest'] = 'no_such_module_xportcn'\n"
    )


def test_without_pyreqwest_the_reqwest_tests_are_deselected_with_a_message(
    inner: pytest.Pytester,
) -> None:
    _without_pyreqwest(inner)
    inner.makepyfile(test_inner=INNER_REQWEST_TESTS)
    result = inner.runpytest_subprocess()
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(
        ["*DESELECTED 1 test(s) needing reqwest: no_such_module_xportcn is not installed;*fast*"]
    )
    assert result.ret == 0


def test_required_reqwest_without_pyreqwest_fails_the_run(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _without_pyreqwest(inner)
    inner.makepyfile(test_inner=INNER_REQWEST_TESTS)
    monkeypatch.setenv("XPORTCN_REQUIRE_SERVICES", "reqwest")
    result = inner.runpytest_subprocess()
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*requires reqwest, but no_such_module_xportcn is not installed*"])


def test_required_reqwest_whose_tests_did_not_run_fails_the_run(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner.makepyfile(test_inner=INNER_REQWEST_TESTS)
    monkeypatch.setenv("XPORTCN_REQUIRE_SERVICES", "reqwest")
    assert inner.runpytest_subprocess().ret == pytest.ExitCode.OK
    result = inner.runpytest_subprocess("-k", "plain")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*FAILED: no test needing reqwest ran*"])
