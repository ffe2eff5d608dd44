"""Forwards to :mod:`mock_amojo.wire._limits` until :mod:`mock_amojo.clock` imports from there (it moves with the domain package)."""

from .wire._limits import MAX_MSEC_TIMESTAMP, MAX_TIMESTAMP

__all__ = ["MAX_MSEC_TIMESTAMP", "MAX_TIMESTAMP"]
