"""The test fixtures are the docs' examples, byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import EXAMPLES_DIR

SPEC_EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "spec" / "examples"


def test_every_docs_example_is_a_fixture() -> None:
    fixtures = sorted(p.relative_to(EXAMPLES_DIR) for p in EXAMPLES_DIR.rglob("*.json"))
    assert len(fixtures) == 17


@pytest.mark.skipif(
    not SPEC_EXAMPLES.is_dir(), reason="the spec is not checked out beside the repo"
)
def test_fixtures_match_the_spec_byte_for_byte() -> None:
    spec = {p.relative_to(SPEC_EXAMPLES): p.read_bytes() for p in SPEC_EXAMPLES.rglob("*.json")}
    ours = {p.relative_to(EXAMPLES_DIR): p.read_bytes() for p in EXAMPLES_DIR.rglob("*.json")}
    assert ours == spec
