"""Serving the app over TCP: uvicorn's configuration, the event loop and listener, the inline HTTP protocol, the GC policy.

``_server`` assembles them (what ``mock-amojo serve`` and :class:`ServerThread` run); the fast paths
(``_httpproto``, ``_listener``, ``_gcpolicy``) are used only where ``_server`` says they are supported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import exports

_LAZY = {
    "ServerThread": "_server",
    "uvicorn_config": "_server",
}

if TYPE_CHECKING:
    from ._server import ServerThread, uvicorn_config

__getattr__, __dir__ = exports(__name__, _LAZY)

__all__ = [
    "ServerThread",
    "uvicorn_config",
]
