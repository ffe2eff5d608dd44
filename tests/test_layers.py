"""The package's layers: a module imports only its own layer and the ones below (docs/architecture.md).

wire (with errors, config) ← domain ← webhooks ← crm ← http ← serve ← testing; the entry points
(the package root, cli, pytest_plugin, the 0.1.0 import paths) sit on top and may import anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mock_amojo

PACKAGE = Path(mock_amojo.__file__).parent
ORDER = ("wire", "domain", "webhooks", "crm", "http", "serve", "testing", "entry")
#: Top-level modules and the layer each belongs to.
TOP_LEVEL = {
    "errors": "wire",
    "config": "wire",
    "_lazy": "wire",
    "_config_help": "wire",
    "_errors_base": "wire",
    "_errors_crm": "wire",
    **dict.fromkeys(
        (
            "__init__",
            "__main__",
            "cli",
            "_cli_parser",
            "_cli_serve",
            "_cli_commands",
            "_channel_command",
            "pytest_plugin",
            "client",
            "sandbox",
            "conformance",
            "strategies",
        ),
        "entry",
    ),
}
#: wire renders domain entities (views, webhook bodies), so it may name their types for the type checker.
TYPE_ONLY = {("wire", "domain")}


def layer_of(module: str) -> str | None:
    """The layer of ``mock_amojo.…`` module ``module``; None for a module this test does not know yet."""
    parts = module.split(".")[1:]
    if not parts:
        return "entry"
    if (parts[0] in ORDER and len(parts) > 1) or parts[0] in ("wire", "domain", "webhooks", "crm", "http", "serve", "testing"):
        return parts[0]
    return TOP_LEVEL.get(parts[0])


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(module: str, source: str, *, is_package: bool = False) -> list[tuple[str, int, bool]]:
    """(imported mock_amojo module, line, type-only) for every import in ``source``."""
    found: list[tuple[str, int, bool]] = []
    package = module if is_package else module.rpartition(".")[0]

    def visit(node: ast.AST, type_only: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, type_only)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno, type_only) for alias in node.names if alias.name.startswith("mock_amojo"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.startswith("mock_amojo"):
                for alias in node.names:
                    # "from . import _views": the module, not the package it is in.
                    sub = f"{target}.{alias.name}"
                    where = PACKAGE.parent / sub.replace(".", "/")
                    found.append((sub if where.with_suffix(".py").exists() or where.is_dir() else target, node.lineno, type_only))
        for inner in ast.iter_child_nodes(node):
            visit(inner, type_only)

    visit(ast.parse(source), False)
    return found


def violations(module: str, source: str, *, is_package: bool = False) -> list[str]:
    """Each import of ``module`` that reaches a higher layer, as ``line: importer (layer) -> imported (layer)``."""
    own = layer_of(module)
    assert own is not None, f"{module} is in no layer: add it to a layer package or to TOP_LEVEL in tests/test_layers.py"
    if own == "entry":
        return []
    found: dict[str, None] = {}
    for target, line, type_only in imports(module, source, is_package=is_package):
        theirs = layer_of(target)
        assert theirs is not None, f"{target} (imported by {module}) is in no layer"
        if target == "mock_amojo" or ORDER.index(theirs) <= ORDER.index(own) or (type_only and (own, theirs) in TYPE_ONLY):
            continue
        found[f"{line}: {module} ({own}) -> {target} ({theirs})"] = None
    return list(found)


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(PACKAGE)) for p in MODULES])
def test_no_module_imports_a_higher_layer(path: Path) -> None:
    found = violations(module_name(path), path.read_text(encoding="utf-8"), is_package=path.name == "__init__.py")
    assert not found, "a lower layer imports a higher one:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("mock_amojo.wire._views", "from ..domain import Chat"),
        ("mock_amojo.wire._views", "def f():\n    from mock_amojo.http._app import create_app"),
        ("mock_amojo.domain._clock", "from ..webhooks import WebhookDispatcher"),
        ("mock_amojo.domain.chats", "from ..http import _api"),
        ("mock_amojo.http._api", "from ..testing._sandbox import Sandbox"),
        ("mock_amojo.http._api", "if TYPE_CHECKING:\n    from ..serve._server import ServerThread"),
        ("mock_amojo.webhooks._bodies", "from ..crm import _operator"),
        ("mock_amojo.errors", "from .domain import Backend"),
    ],
)
def test_an_import_of_a_higher_layer_is_found(module: str, source: str) -> None:
    assert violations(module, source)


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("mock_amojo.wire._views", "if TYPE_CHECKING:\n    from ..domain import Chat"),
        ("mock_amojo.http._app", "from .. import __version__"),
        ("mock_amojo.testing._sandbox", "from ..serve._server import ServerThread"),
        ("mock_amojo.domain.chats", "from ..wire._limits import MAX_TIMESTAMP"),
    ],
)
def test_an_import_of_the_same_or_a_lower_layer_passes(module: str, source: str) -> None:
    assert violations(module, source) == []
