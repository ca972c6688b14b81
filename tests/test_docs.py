"""The docs site's sources (docs/, mkdocs.yml): `make docs` builds them with `--strict`; these
tests check what the build cannot: that the API reference covers every public name, by its
public path, and that the generated endpoint table is the endpoint table."""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

import xportcn_async

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# The public modules whose names the reference documents under their own path; everything
# else is documented as an ``xportcn_async`` top-level name.
PUBLIC_MODULES = ["resources", "transports", "ratelimit", "webhooks", "sandbox"]


def documented() -> set[str]:
    """Every object named by a ``::: path`` directive of the docs pages."""
    names = set()
    for page in DOCS.rglob("*.md"):
        names.update(re.findall(r"^::: (\S+)$", page.read_text(encoding="utf-8"), re.M))
    return names


def test_every_public_name_is_in_the_api_reference() -> None:
    names = documented()
    missing = [
        f"xportcn_async.{n}" for n in xportcn_async.__all__ if f"xportcn_async.{n}" not in names
    ]
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(f"xportcn_async.{module_name}")
        for name in module.__all__:
            at_top = name in xportcn_async.__all__ and getattr(xportcn_async, name) is getattr(
                module, name
            )
            if f"{module.__name__}.{name}" not in names and not at_top:
                missing.append(f"{module.__name__}.{name}")
    assert not missing


def test_the_reference_names_objects_by_their_public_path_only() -> None:
    """A later move of a private module must not break the reference: no path goes through
    a module whose name starts with an underscore, and every path resolves today."""
    for path in documented():
        assert not any(part.startswith("_") for part in path.split(".")), path
        module_path, _, attribute = path.rpartition(".")
        module = importlib.import_module(module_path) if module_path else None
        if isinstance(module, ModuleType) and hasattr(module, attribute):
            continue
        importlib.import_module(path)  # a module documented as a whole


@pytest.fixture(scope="module")
def hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_endpoints_table_lists_every_operation_as_the_endpoint_table_has_it(
    hooks: ModuleType,
) -> None:
    page = hooks.on_page_markdown("before\n<!-- endpoints -->\nafter")
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    assert len(rows) == len(xportcn_async.ENDPOINTS)
    for row, endpoint in zip(rows, xportcn_async.ENDPOINTS.values(), strict=True):
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells == [
            f"`{endpoint.name}`",
            f"`{endpoint.path}`",
            "yes" if endpoint.idempotent else "no",
            endpoint.inferred or "—",
        ]
    assert page.startswith("before\n") and page.endswith("\nafter")
    assert "<!-- endpoints -->" in (DOCS / "inferred.md").read_text(encoding="utf-8")
