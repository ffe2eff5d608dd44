"""One patch of a client library (requests, aiohttp) per process, shared by every started in-process routing.

A patch made by ``aioresponses`` cannot be stacked on another (its ``autospec`` refuses to spec a mock), and
two stacked patches would each have to pass the other's hosts through: so the library is patched once,
while any routing is started, and each request asks the started routings, newest first, which serves its host.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ._inprocess import InProcessRouting
    from ._transports import AppHandler

__all__ = ["ClientRouting", "Patch", "SharedPatch"]


class Patch(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...

    def forget(self) -> None: ...


class SharedPatch:
    """The started routings of one client library and the patch that routes its requests to them."""

    def __init__(self, patch: Patch) -> None:
        self.patch = patch
        self.routings: list[InProcessRouting] = []
        self._lock = threading.Lock()

    def add(self, routing: InProcessRouting) -> None:
        with self._lock:
            if not self.routings:
                self.patch.start()
            self.routings.append(routing)

    def remove(self, routing: InProcessRouting) -> None:
        with self._lock:
            if routing in self.routings:
                self.routings.remove(routing)
                if not self.routings:
                    self.patch.stop()

    def handler(self, host: str) -> AppHandler | None:
        """What serves ``host`` now: the newest started routing that routes it."""
        for routing in reversed(self.routings):
            found = routing.handler(host)
            if found is not None:
                return found
        return None


class ClientRouting:
    """A routing's hold on a shared patch: what :class:`~mock_amojo.testing._inprocess.InProcessRouting` starts and stops."""

    def __init__(self, shared: SharedPatch, routing: InProcessRouting) -> None:
        self.shared = shared
        self.routing = routing

    def start(self) -> None:
        self.shared.add(self.routing)

    def stop(self) -> None:
        self.shared.remove(self.routing)

    def forget(self) -> None:
        """Drop the mocking library's record of the requests so far (it keeps every one; a session makes many)."""
        self.shared.patch.forget()
