"""Kept so 0.1.0 imports work; new code imports from mock_amojo."""

from .testing._client import (
    AmojoClient,
)

__all__ = [
    "AmojoClient",
]
