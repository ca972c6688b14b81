"""The package's import structure: no import cycles, no function-level imports, and no
module importing another module's private names.

:class:`ImportGraph` reads the source with :mod:`ast` and imports nothing, so a cycle stays
visible even where a function-level or ``if TYPE_CHECKING:`` import keeps Python from
tripping over it. Every rule is checked for each package prefix in :data:`CHECKED`; widen
that tuple (up to ``"xportcn_async"``) as more of the package is held to the rules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

import attrs
import pytest

import xportcn_async

CHECKED = ("xportcn_async",)
"""The packages held to the rules below (a module is in one when its name starts with it)."""


# -- the walker ----------------------------------------------------------------------------


@attrs.frozen
class Import:
    """One import statement's edge from ``importer`` to ``target`` (both modules of the
    walked package; imports of anything else are not recorded)."""

    importer: str
    target: str
    names: tuple[str, ...]
    """The names a ``from`` import takes from ``target`` (its submodules excluded)."""
    line: int
    function_level: bool
    """Inside a function or method (not a class body, which runs with its module): run
    late, which can hide a cycle."""
    type_checking: bool
    """Under ``if TYPE_CHECKING:``: never run, which can hide a cycle."""

    def __str__(self) -> str:
        what = f" ({', '.join(self.names)})" if self.names else ""
        return f"{self.importer}:{self.line} imports {self.target}{what}"


def in_scope(module: str, scope: str) -> bool:
    return module == scope or module.startswith(scope + ".")


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


@attrs.frozen
class ImportGraph:
    """The imports between the modules of one package, read from source."""

    packages: frozenset[str]
    """The modules that are packages (an ``__init__.py``)."""
    modules: frozenset[str]
    imports: tuple[Import, ...]

    @classmethod
    def of_package(cls, root: Path, name: str) -> ImportGraph:
        """Walk the package ``name`` whose ``__init__.py`` is in ``root``."""
        files = {_module_name(path, root, name): path for path in sorted(root.rglob("*.py"))}
        packages = frozenset(m for m, path in files.items() if path.name == "__init__.py")
        graph = cls(packages, frozenset(files), ())
        imports = [
            edge
            for module, path in files.items()
            for edge in graph._imports_of(module, ast.parse(path.read_text(), str(path)))
        ]
        return attrs.evolve(graph, imports=tuple(imports))

    # -- the rules -------------------------------------------------------------------------

    def cycles(self, scope: str) -> list[list[str]]:
        """The import cycles through a module in ``scope``: each strongly connected
        component of the graph (every kind of import counts), sorted."""
        edges: dict[str, set[str]] = {m: set() for m in self.modules}
        for edge in self.imports:
            edges[edge.importer].add(edge.target)
        return sorted(
            sorted(component)
            for component in _strongly_connected(edges)
            if (len(component) > 1 or any(m in edges[m] for m in component))
            and any(in_scope(m, scope) for m in component)
        )

    def function_level(self, scope: str) -> list[Import]:
        return [e for e in self.imports if e.function_level and in_scope(e.importer, scope)]

    def type_checking(self, scope: str) -> list[Import]:
        return [e for e in self.imports if e.type_checking and in_scope(e.importer, scope)]

    def private(self, scope: str) -> list[Import]:
        """Imports of another module's ``_private`` names, or of a ``_private`` module from
        outside the package that holds it (``a._b`` is private to ``a``)."""
        return [
            e
            for e in self.imports
            if in_scope(e.importer, scope)
            and (
                (e.target != e.importer and any(is_private(n) for n in e.names))
                or not self._may_reach(e.importer, e.target)
            )
        ]

    def _may_reach(self, importer: str, target: str) -> bool:
        parts = target.split(".")
        for i, part in enumerate(parts):
            if is_private(part) and not in_scope(importer, ".".join(parts[:i])):
                return False
        return True

    # -- reading one module ----------------------------------------------------------------

    def _imports_of(self, module: str, tree: ast.Module) -> Iterator[Import]:
        for node, function_level, type_checking in _import_nodes(tree.body, False, False):
            for target, names in self._targets(module, node):
                yield Import(module, target, names, node.lineno, function_level, type_checking)

    def _targets(
        self, module: str, node: ast.Import | ast.ImportFrom
    ) -> Iterator[tuple[str, tuple[str, ...]]]:
        """``(module imported, names taken from it)`` for the walked modules ``node``
        imports."""
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in self.modules:
                    yield alias.name, ()
            return
        base = self._resolve(module, node.module, node.level)
        names = []
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            if submodule in self.modules:  # "from . import checks": the module checks
                yield submodule, ()
            else:
                names.append(alias.name)
        if names and base in self.modules:
            yield base, tuple(names)

    def _resolve(self, module: str, name: str | None, level: int) -> str:
        if level == 0:
            return name or ""
        package = module if module in self.packages else module.rpartition(".")[0]
        for _ in range(level - 1):
            package = package.rpartition(".")[0]
        return f"{package}.{name}" if name else package


def _module_name(path: Path, root: Path, package: str) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((package, *parts))


def _import_nodes(
    nodes: Iterable[ast.AST], function_level: bool, type_checking: bool
) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool, bool]]:
    """Every import statement among ``nodes`` and below them, with where it stands. (A class
    body runs with its module; its methods, like any function, run later.)"""
    for node in nodes:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, function_level, type_checking
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield from _import_nodes(ast.iter_child_nodes(node), True, type_checking)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _import_nodes(node.body, function_level, True)
            yield from _import_nodes(node.orelse, function_level, type_checking)
        else:
            yield from _import_nodes(ast.iter_child_nodes(node), function_level, type_checking)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _strongly_connected(edges: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative (no recursion limit on long import chains)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            successor = next(successors, None)
            if successor is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    components.append(component)
            elif successor not in index:
                index[successor] = low[successor] = len(index)
                stack.append(successor)
                on_stack.add(successor)
                work.append((successor, iter(sorted(edges[successor]))))
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
    return components


# -- the rules, for the package ----------------------------------------------------------

PACKAGE = ImportGraph.of_package(Path(xportcn_async.__file__).parent, "xportcn_async")


@pytest.mark.parametrize("scope", CHECKED)
def test_no_import_cycles(scope: str) -> None:
    assert PACKAGE.cycles(scope) == []


@pytest.mark.parametrize("scope", CHECKED)
def test_no_function_level_imports(scope: str) -> None:
    assert [str(e) for e in PACKAGE.function_level(scope)] == []


@pytest.mark.parametrize("scope", CHECKED)
def test_no_type_checking_imports(scope: str) -> None:
    """An import only for the type checker is how a cycle hides; without cycles there is no
    need for one between the package's own modules."""
    assert [str(e) for e in PACKAGE.type_checking(scope)] == []


@pytest.mark.parametrize("scope", CHECKED)
def test_no_private_imports(scope: str) -> None:
    assert [str(e) for e in PACKAGE.private(scope)] == []


LAYERS = {
    # module (and its submodules): what it must not import (nor their submodules)
    "xportcn_async.hooks": ("xportcn_async",),
    "xportcn_async._core": (
        "xportcn_async.client",
        "xportcn_async.resources",
        "xportcn_async.transports",
        "xportcn_async.hooks",
        "xportcn_async.batch",
        "xportcn_async.bulk",
        "xportcn_async.webhooks",
        "xportcn_async.sandbox",
        "xportcn_async.cli",
        "xportcn_async.commands",
    ),
    "xportcn_async.batch": (
        "xportcn_async.client",
        "xportcn_async.resources",
        "xportcn_async.bulk",
        "xportcn_async.endpoints",
        "xportcn_async.transports",
    ),
    "xportcn_async.bulk": ("xportcn_async.client", "xportcn_async.resources"),
    "xportcn_async.resources": ("xportcn_async.client",),
    "xportcn_async.transports": (
        "xportcn_async.client",
        "xportcn_async.resources",
        "xportcn_async.endpoints",
        "xportcn_async.models",
    ),
    "xportcn_async.wire": (
        "xportcn_async.models",
        "xportcn_async.client",
        "xportcn_async.resources",
        "xportcn_async.endpoints",
        "xportcn_async.transports",
        "xportcn_async.batch",
        "xportcn_async.bulk",
        "xportcn_async.webhooks",
    ),
}
"""The layers of ARCHITECTURE.md's code map: a module never imports one above it."""


def test_no_module_imports_a_layer_above_it() -> None:
    wrong = [
        str(e)
        for e in PACKAGE.imports
        for low, above in LAYERS.items()
        if in_scope(e.importer, low)
        and any(in_scope(e.target, high) and not in_scope(e.target, low) for high in above)
    ]
    assert wrong == []


MODEL_VOCABULARY = (
    "xportcn_async.wire.fields",
    "xportcn_async.wire.types",
    "xportcn_async.wire.values",
)
"""All that models may import of the package besides each other: how to declare a field and
the special types. Not the converter (nor the ``wire`` package, which builds it): a model
module declares and registers nothing."""


def test_models_are_plain_declarations() -> None:
    wrong = [
        str(e)
        for e in PACKAGE.imports
        if in_scope(e.importer, "xportcn_async.models")
        and not in_scope(e.target, "xportcn_async.models")
        and e.target not in MODEL_VOCABULARY
    ]
    assert wrong == []
    assert {e.target for e in PACKAGE.imports if in_scope(e.importer, "xportcn_async.models")} >= {
        *MODEL_VOCABULARY[:2]
    }


IO_LIBRARIES = ("aiohttp", "asyncio", "socket", "ssl", "selectors", "threading")
"""What the sans-I/O core (``xportcn_async._core``) never imports, directly or through the
package modules it imports."""


def external_imports(module: str) -> set[str]:
    """The top-level names of the libraries ``module``'s source imports (not the package's
    own modules)."""
    root = Path(xportcn_async.__file__).parent
    parts = module.split(".")[1:]
    path = root.joinpath(*parts)
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found - {"xportcn_async"}


def reached_from(scope: str) -> set[str]:
    """The package modules that importing ``scope``'s modules runs, ``scope`` included."""
    edges: dict[str, set[str]] = {}
    for edge in PACKAGE.imports:
        edges.setdefault(edge.importer, set()).add(edge.target)
    seen = {m for m in PACKAGE.modules if in_scope(m, scope)}
    todo = list(seen)
    while todo:
        for target in edges.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_the_core_does_no_io() -> None:
    """The core, and everything it imports from the package, imports no HTTP client, event
    loop, socket or thread library: it can be run and tested on plain values."""
    reached = reached_from("xportcn_async._core")
    assert "xportcn_async._core.codec" in reached and "xportcn_async.wire.convert" in reached
    wrong = {m: sorted(external_imports(m) & set(IO_LIBRARIES)) for m in sorted(reached)}
    assert {m: libs for m, libs in wrong.items() if libs} == {}


def test_the_io_check_sees_io() -> None:
    assert {"aiohttp", "asyncio"} <= external_imports("xportcn_async.transports.aiohttp")
    assert "asyncio" in external_imports("xportcn_async.client")


def test_the_walker_sees_the_package() -> None:
    """The rules above pass because the package is clean, not because the walker is blind:
    it finds the modules and the imports every scope relies on."""
    for scope in CHECKED:
        assert any(in_scope(m, scope) for m in PACKAGE.modules)
    edges = {(e.importer, e.target) for e in PACKAGE.imports}
    assert ("xportcn_async.sandbox", "xportcn_async.sandbox.ka") in edges  # from . import ka
    assert ("xportcn_async.sandbox.core", "xportcn_async.sandbox.web") in edges
    assert ("xportcn_async.sandbox.ka.products", "xportcn_async.sandbox.checks") in edges
    assert ("xportcn_async.client", "xportcn_async.resources") in edges
    assert ("xportcn_async.resources.logistics", "xportcn_async.bulk") in edges
    assert ("xportcn_async.bulk.booking", "xportcn_async.batch") in edges


# -- the walker, on a package made to break each rule ----------------------------------------

BROKEN = {
    "__init__.py": "",
    # a cycle hidden in a method; c imports into it, and is in no cycle
    "fn/__init__.py": "",
    "fn/a.py": "from .b import B\n",
    "fn/b.py": "class B:\n    def app(self):\n        from .a import make\n",
    "fn/c.py": "from . import a\n",
    # a cycle hidden behind TYPE_CHECKING (its else branch runs, and imports nothing here)
    "tc/__init__.py": "from .core import Core\n",
    "tc/core.py": "from . import web\n",
    "tc/web.py": (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from .core import Core\nelse:\n    import json\n"
    ),
    # a ring of five absolute imports, and a module importing itself
    **{f"ring/m{i}.py": f"import pkg.ring.m{(i + 1) % 5}\n" for i in range(5)},
    "ring/__init__.py": "",
    "me.py": "from pkg import me as myself\n",
    # private names and modules: b breaks the rules; t.x, _core.http and c keep them
    "priv/__init__.py": "",
    "priv/a.py": "_helper = 1\npublic = 2\n",
    "priv/b.py": "from .a import _helper, public\nfrom .t._base import redact\n",
    "priv/t/__init__.py": "from ._base import redact\n",
    "priv/t/_base.py": "def redact(): ...\n",
    "priv/t/x.py": "from . import _base\n",
    "priv/_core/__init__.py": "",
    "priv/_core/http.py": "from . import _wire\n",
    "priv/_core/_wire.py": "",
    "priv/c.py": "from ._core import http\nfrom .__init__ import __doc__\n",
}


@pytest.fixture
def broken(tmp_path: Path) -> ImportGraph:
    root = tmp_path / "pkg"
    for name, source in BROKEN.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return ImportGraph.of_package(root, "pkg")


@pytest.mark.parametrize(
    ("scope", "cycles"),
    [
        ("pkg.fn", [["pkg.fn.a", "pkg.fn.b"]]),
        ("pkg.fn.c", []),
        ("pkg.tc", [["pkg.tc.core", "pkg.tc.web"]]),
        ("pkg.ring", [[f"pkg.ring.m{i}" for i in range(5)]]),
        ("pkg.me", [["pkg.me"]]),
        ("pkg.priv", []),
    ],
)
def test_hidden_cycles_are_found(broken: ImportGraph, scope: str, cycles: list[list[str]]) -> None:
    assert broken.cycles(scope) == cycles


def test_function_level_and_type_checking_imports_are_found(broken: ImportGraph) -> None:
    assert [str(e) for e in broken.function_level("pkg")] == ["pkg.fn.b:3 imports pkg.fn.a (make)"]
    assert [str(e) for e in broken.type_checking("pkg")] == [
        "pkg.tc.web:3 imports pkg.tc.core (Core)"
    ]


def test_private_names_and_modules_are_found(broken: ImportGraph) -> None:
    assert [str(e) for e in broken.private("pkg")] == [
        "pkg.priv.b:1 imports pkg.priv.a (_helper, public)",
        "pkg.priv.b:2 imports pkg.priv.t._base (redact)",
    ]
