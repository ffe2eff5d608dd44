"""A package's public names, imported on first use (PEP 562).

Every layer package exports through it: loading one module of a layer (say the signer) must not
load the whole layer (the schema compiler, the app), and the pytest plugin must stay cheap to load.
A package lists its names and the module each lives in, and takes its ``__getattr__`` and
``__dir__`` from :func:`exports`:

>>> import mock_amojo.wire as wire
>>> getattr_, dir_ = exports("mock_amojo.wire", {"PREFIX": "_endpoints"})
>>> getattr_("PREFIX"), "PREFIX" in vars(wire), "PREFIX" in dir_()
('/v2/origin/custom', True, True)
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["exports"]


def exports(package: str, table: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: each name of ``table`` imported from its module on first use.

    ``table`` maps a public name to the module holding it, relative to ``package`` (to its own package
    when ``package`` is a plain module); the value is then kept there, so the next use is a plain lookup.
    """
    module_ = sys.modules[package]
    namespace = vars(module_)
    # Relative to the package itself, or to the package holding a plain module.
    anchor = package if hasattr(module_, "__path__") else package.rpartition(".")[0]

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", anchor), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *table})

    return __getattr__, __dir__
