"""Kept so 0.1.0 imports work; new code imports mock_amojo.testing.strategies."""

from .testing.strategies import *  # noqa: F403
from .testing.strategies import __all__ as __all__
