"""The CRM side of the fake: the operator (a manager answering, reacting, typing), which also sends amojo's webhooks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._lazy import load

_LAZY = {
    "Operator": "_operator",
}

if TYPE_CHECKING:
    from ._operator import Operator


def __getattr__(name: str) -> Any:
    return load(__name__, _LAZY, name, globals())


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "Operator",
]
