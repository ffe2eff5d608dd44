"""The CRM side of the fake: the operator (a manager answering, reacting, typing), which also sends amojo's webhooks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import exports

_LAZY = {
    "Operator": "_operator",
}

if TYPE_CHECKING:
    from ._operator import Operator

__getattr__, __dir__ = exports(__name__, _LAZY)

__all__ = [
    "Operator",
]
