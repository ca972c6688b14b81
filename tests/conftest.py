"""Shared fixtures for the core, client and transport tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from xportcn_async import Credentials, RetryPolicy

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
