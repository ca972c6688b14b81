"""Real PostgreSQL and Redis for the tests that need them (a pytest plugin, loaded by conftest).

- A test that needs PostgreSQL takes the ``postgres_url`` fixture (a fresh, empty database of
  its own, dropped afterwards); one that needs Redis takes ``redis_url`` (a flushed Redis
  database). Such tests are marked ``postgres`` / ``redis`` automatically (marking them by
  hand works too).
- The servers come from the environment: ``XPORTCN_TEST_POSTGRES_URL`` (a superuser URL that
  may create databases) and ``XPORTCN_TEST_REDIS_URL``. ``scripts/test-services.sh start``
  (``make services``) starts throwaway ones and prints these.
- Without them, the tests that need them are *deselected* (not skipped) and the run says so.
- With ``XPORTCN_REQUIRE_SERVICES=postgres,redis`` (as ``.ci/run`` sets), the run fails when a
  required server is missing or unreachable, when a test needing it was skipped, or when no
  test needing it ran at all: CI can never pass by silently not testing them.
- The same goes for optional dependencies (:data:`OPTIONAL_MODULES`): the tests of the
  ``httptools`` and ``reqwest`` transports (markers ``httptools``, ``reqwest``) need httptools
  and pyreqwest, from the ``fast`` extra (pyreqwest: Python 3.11+);
  ``XPORTCN_REQUIRE_SERVICES=...,httptools,reqwest`` makes their absence fail the run.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import socket
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit, urlunsplit

import pytest

SERVICE_URL_VARIABLES = {
    "postgres": "XPORTCN_TEST_POSTGRES_URL",
    "redis": "XPORTCN_TEST_REDIS_URL",
}
SERVICE_FIXTURES = {"postgres": "postgres_url", "redis": "redis_url"}
# Marker -> the module its tests need (installed by an extra, not started as a server).
OPTIONAL_MODULES = {"httptools": "httptools", "reqwest": "pyreqwest"}
HOW_TO_INSTALL = "install the `fast` extra (pyreqwest: Python 3.11+): `make .venv/.installed` does"
KNOWN = sorted(SERVICE_URL_VARIABLES.keys() | OPTIONAL_MODULES.keys())
REQUIRE_VARIABLE = "XPORTCN_REQUIRE_SERVICES"
HOW_TO_START = (
    'start them with `make services`, then `eval "$(scripts/test-services.sh env)"` '
    "(see docs/development.md)"
)


def _required() -> set[str]:
    names = {n.strip() for n in os.environ.get(REQUIRE_VARIABLE, "").split(",") if n.strip()}
    unknown = names - set(KNOWN)
    if unknown:
        raise pytest.UsageError(
            f"{REQUIRE_VARIABLE} names unknown services {sorted(unknown)}; known: {KNOWN}"
        )
    return names


def _url(service: str) -> str | None:
    return os.environ.get(SERVICE_URL_VARIABLES[service]) or None


def _missing(name: str) -> bool:
    if name in OPTIONAL_MODULES:
        return importlib.util.find_spec(OPTIONAL_MODULES[name]) is None
    return _url(name) is None


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), 5):
            return True
    except OSError:
        return False


def pytest_configure(config: pytest.Config) -> None:
    for service, variable in SERVICE_URL_VARIABLES.items():
        config.addinivalue_line(
            "markers", f"{service}: needs a real {service} server (${variable})"
        )
    for name, module in OPTIONAL_MODULES.items():
        config.addinivalue_line("markers", f"{name}: needs {module} (the `fast` extra)")
    config.pluginmanager.register(ServicesPlugin(_required()), "xportcn-services")


class ServicesPlugin:
    """Deselects what cannot run here, and counts what ran, for one pytest session."""

    def __init__(self, required: set[str]) -> None:
        self.required = required
        self.deselected: Counter[str] = Counter()
        self.ran: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()
        self.problems: list[str] = []

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        for service in sorted(self.required):
            if service in OPTIONAL_MODULES:
                if _missing(service):
                    pytest.exit(
                        f"{REQUIRE_VARIABLE} requires {service}, but "
                        f"{OPTIONAL_MODULES[service]} is not installed; {HOW_TO_INSTALL}",
                        returncode=pytest.ExitCode.USAGE_ERROR,
                    )
                continue
            variable = SERVICE_URL_VARIABLES[service]
            url = _url(service)
            state = "not set" if url is None else None if _reachable(url) else "unreachable"
            if state:
                pytest.exit(
                    f"{REQUIRE_VARIABLE} requires {service}, but ${variable} is {state}; "
                    + HOW_TO_START,
                    returncode=pytest.ExitCode.USAGE_ERROR,
                )

    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        for item in items:
            for service, fixture in SERVICE_FIXTURES.items():
                if fixture in getattr(item, "fixturenames", ()):
                    item.add_marker(service)
        missing = {s for s in KNOWN if _missing(s)}
        kept: list[pytest.Item] = []
        deselected: list[pytest.Item] = []
        for item in items:
            lacking = {s for s in missing if item.get_closest_marker(s) is not None}
            (deselected if lacking else kept).append(item)
            self.deselected.update(lacking)
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = kept

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for service in KNOWN:
            if service not in report.keywords:
                continue
            if report.skipped:
                self.skipped[service] += 1
            elif report.when == "call":
                self.ran[service] += 1

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if session.config.option.collectonly:
            return
        for service in sorted(self.required):
            if self.skipped[service]:
                self.problems.append(
                    f"{self.skipped[service]} test(s) needing {service} were skipped, "
                    f"but {REQUIRE_VARIABLE} requires them to run"
                )
            elif not self.ran[service]:
                self.problems.append(
                    f"no test needing {service} ran, but {REQUIRE_VARIABLE} requires them to run"
                )
        if self.problems and session.exitstatus in (
            pytest.ExitCode.OK,
            pytest.ExitCode.NO_TESTS_COLLECTED,
        ):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        for service, count in sorted(self.deselected.items()):
            why = (
                f"{OPTIONAL_MODULES[service]} is not installed; {HOW_TO_INSTALL}"
                if service in OPTIONAL_MODULES
                else f"${SERVICE_URL_VARIABLES[service]} is not set; {HOW_TO_START}"
            )
            terminalreporter.write_line(
                f"DESELECTED {count} test(s) needing {service}: {why}",
                yellow=True,
                bold=True,
            )
        for problem in self.problems:
            terminalreporter.write_line(f"FAILED: {problem}", red=True, bold=True)


def _admin(url: str, statement: str) -> None:
    """Run one statement, on a thread of its own: the caller may be inside an event loop
    (an async fixture asking for ``postgres_url``)."""

    async def run() -> None:
        import asyncpg  # type: ignore[import-untyped,unused-ignore]

        connection = await asyncpg.connect(url)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, run()).result()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database of this test's own, dropped afterwards."""
    admin = _url("postgres")
    if admin is None:  # only reachable when a test bypasses the marker deselection
        pytest.fail(f"${SERVICE_URL_VARIABLES['postgres']} is not set; {HOW_TO_START}")
    name = f"xportcn_test_{uuid.uuid4().hex[:16]}"
    _admin(admin, f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(admin)._replace(path=f"/{name}"))
    finally:
        _admin(admin, f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The URL of a Redis database emptied before and after this test."""
    import redis

    url = _url("redis")
    if url is None:
        pytest.fail(f"${SERVICE_URL_VARIABLES['redis']} is not set; {HOW_TO_START}")
    with redis.Redis.from_url(url) as client:
        client.flushdb()
        try:
            yield url
        finally:
            client.flushdb()


__all__ = ["postgres_url", "pytest_configure", "redis_url"]
