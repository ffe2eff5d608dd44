"""A package's public names, imported on first use (PEP 562).

Every layer package exports through it: loading one module of a layer (say the signer) must not
load the whole layer (the schema compiler, the app), and the pytest plugin must stay cheap to load.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any


def load(package: str, table: Mapping[str, str], name: str, namespace: dict[str, Any]) -> Any:
    """``name`` from the module ``table`` places it in (relative to ``package``), cached in ``namespace``."""
    module = table.get(name)
    if module is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", package), name)
    namespace[name] = value
    return value
