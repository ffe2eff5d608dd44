"""The console's routes, with the console itself loaded on the first request to one of its pages.

A start builds only these routes (paths and methods: routing, 404 and 405 answers are as the console's
own); :mod:`mock_amojo.http._console`, its views and its templates load when a page is first asked for.

>>> from mock_amojo.domain import Backend
>>> console = LazyConsole(Backend())
>>> [route.path for route in console.routes()][:2]
['/__mock__/ui', '/__mock__/ui/fragments/sidebar']
>>> console.end_streams()  # nothing opened yet: nothing to end, nothing loaded
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._control import CONTROL_PREFIX

if TYPE_CHECKING:
    from ..domain import Backend
    from ._console import Console

__all__ = ["CONSOLE_PAGES", "CONSOLE_PREFIX", "LazyConsole"]

CONSOLE_PREFIX = CONTROL_PREFIX + "/ui"
#: Each console path (under :data:`CONSOLE_PREFIX`, read with GET) and the :class:`Console` method answering it.
CONSOLE_PAGES = (
    ("", "page"),
    ("/fragments/sidebar", "sidebar_fragment"),
    ("/fragments/chats/{chat_id}", "chat_fragment"),
    ("/fragments/journal", "journal_fragment"),
    ("/fragments/webhooks", "webhooks_fragment"),
    ("/fragments/leads", "leads_fragment"),
    ("/events", "events"),
    ("/static/{name}", "static"),
)


class LazyConsole:
    """The :class:`~mock_amojo.http._console.Console` of one backend, made on the first request to a page."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._console: Console | None = None
        self._lock = threading.Lock()  # in-process apps may serve from several threads: one console, one seen-state

    @property
    def console(self) -> Console:
        if self._console is None:
            with self._lock:
                if self._console is None:
                    from ._console import Console

                    self._console = Console(self.backend)
        return self._console

    def end_streams(self) -> None:
        """End every open event stream (none is open before a page was asked for)."""
        if self._console is not None:
            self._console.end_streams()

    def routes(self) -> list[Route]:
        """The console's pages, fragments, event stream and assets."""
        return [Route(CONSOLE_PREFIX + path, self._endpoint(name), methods=["GET"]) for path, name in CONSOLE_PAGES]

    def _endpoint(self, name: str) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            handler: Callable[[Request], Awaitable[Response]] = getattr(self.console, name)
            return await handler(request)

        endpoint.__name__ = endpoint.__qualname__ = name
        return endpoint
