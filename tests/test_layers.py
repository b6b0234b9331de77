"""Imports run one way: drivers → core → protocol (and transports know nothing of ledgers).

The ``native`` build guard imports nothing of ours; ``protocol/__init__.py`` imports it first.

Read from the source with ``ast``: every ``import`` and ``from … import`` of every module, at
any depth (a function-local import counts too).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

ALLOWED: dict[str, tuple[str, ...]] = {
    "protocol": ("protocol",),
    "node.core": ("protocol", "node.core"),
    "node.drivers": ("protocol", "node.core", "node.drivers", "transports"),
    "transports": ("protocol", "transports"),
    "simulations": ("protocol", "node.core", "transports", "simulations"),
}
"""What each layer may import from this project (anything else of ours is a violation)."""
HOOKS: dict[str, tuple[str, ...]] = {"protocol": ("native",), "node": ("protocol",)}
"""What a package's ``__init__.py`` imports to run the compiled-module guard first."""
OURS = ("native", "protocol", "node", "transports", "simulations", "benchmarks", "tests")


def _layer(module: str) -> str | None:
    for layer in sorted(ALLOWED, key=len, reverse=True):
        if module == layer or module.startswith(layer + "."):
            return layer
    return None


def _modules() -> list[tuple[str, Path]]:
    out = []
    for package in ("native", "protocol", "node", "transports", "simulations"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out.append((name, path))
    return out


def _imports(module: str, path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: list[str] = []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the package
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                names.append(".".join([*base, *([node.module] if node.module else [])]))
            elif node.module:
                names.append(node.module)
    return [name for name in names if name.split(".")[0] in OURS]


@pytest.mark.parametrize(("module", "path"), _modules(), ids=[m for m, _ in _modules()])
def test_imports_run_one_way(module: str, path: Path) -> None:
    imports = _imports(module, path)
    if module in HOOKS:
        assert imports == list(HOOKS[module]), f"{module} imports {imports}"
        return
    layer = _layer(module)
    if layer is None:  # the native guard
        assert not imports, f"{module} imports {imports}"
        return
    for name in imports:
        target = _layer(name)
        assert target in ALLOWED[layer], f"{module} imports {name} ({target or 'outside'})"


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` outside ``if TYPE_CHECKING:`` blocks (imports for types only)."""
    out: list[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and ast.unparse(node.test) in (
            "TYPE_CHECKING",
            "typing.TYPE_CHECKING",
        ):
            stack.extend(node.orelse)
            continue
        out.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return out


def test_the_core_never_imports_a_driver_or_io() -> None:
    forbidden = ("socket", "sqlite3", "trio", "time", "random", "asyncio", "threading", "os")
    for module, path in _modules():
        if _layer(module) != "node.core":
            continue
        tree = ast.parse(path.read_text())
        for node in _runtime_nodes(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                )
                for name in names:
                    assert name.split(".")[0] not in forbidden, f"{module} imports {name}"
