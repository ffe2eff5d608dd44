"""A group of routes built on the first request whose path could be one of them.

:class:`LazyRoutes` stands in the router's list where its routes would stand: once built it answers
exactly as they would in its place (the first full match wins, else the first partial match, so 405
and 404 answers are theirs), and until a path carries one of its prefixes it builds nothing, so a
start pays neither for the routes (each compiles a regex) nor for the modules their handlers live in.

>>> from starlette.routing import Match, Route
>>> built = []
>>> def build():
...     built.append(True)
...     return [Route("/api/thing", lambda request: None, methods=["GET"])]
>>> group = LazyRoutes(("/api/",), build)
>>> group.matches({"type": "http", "path": "/__mock__/state", "method": "GET"})[0] is Match.NONE, built
(True, [])
>>> group.matches({"type": "http", "path": "/api/thing", "method": "POST"})[0] is Match.PARTIAL, built
(True, [True])
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from starlette.datastructures import URLPath
from starlette.routing import BaseRoute, Match, NoMatchFound, Route
from starlette.types import Receive, Send
from starlette.types import Scope as ASGIScope

__all__ = ["LazyRoutes", "expand_routes"]

#: The scope key carrying the inner route :meth:`LazyRoutes.matches` chose to :meth:`LazyRoutes.handle`
#: (the router merges a match's child scope into the scope between the two calls); removed before the route runs.
_CHOSEN = "mock_amojo.lazy_route"


class LazyRoutes(BaseRoute):
    """Routes whose paths all start with one of ``prefixes``, made by ``build()`` on first need.

    ``build`` runs once (under a lock: in-process apps may be called from several threads); a route
    it makes outside ``prefixes`` is a :class:`RuntimeError`, since no request would reach it.
    """

    def __init__(self, prefixes: Sequence[str], build: Callable[[], list[Route]]) -> None:
        self.prefixes = tuple(prefixes)
        self._build = build
        self._routes: list[Route] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prefixes={self.prefixes!r}, loaded={self.loaded})"

    @property
    def loaded(self) -> bool:
        return self._routes is not None

    @property
    def routes(self) -> list[Route]:
        """The routes, built now if they were not yet."""
        routes = self._routes
        if routes is None:
            with self._lock:
                if self._routes is None:
                    built = self._build()
                    stray = [route.path for route in built if not route.path.startswith(self.prefixes)]
                    if stray:
                        raise RuntimeError(f"routes {stray} are outside the prefixes {self.prefixes} that load them")
                    self._routes = built
                routes = self._routes
        return routes

    def could_match(self, scope: ASGIScope) -> bool:
        """Whether one of the routes could match ``scope``: the only test made before they are built."""
        # A route matches the path less its root_path, a tail of the path: a prefix it starts with is in the path.
        return scope["type"] == "http" and any(prefix in scope["path"] for prefix in self.prefixes)

    def routes_for(self, scope: ASGIScope) -> list[Route]:
        """The routes that could match ``scope``: none (nothing built) when its path has none of the prefixes."""
        return self.routes if self.could_match(scope) else []

    def matches(self, scope: ASGIScope) -> tuple[Match, ASGIScope]:
        partial: ASGIScope | None = None
        for route in self.routes_for(scope):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                return match, {**child_scope, _CHOSEN: route}
            if match is Match.PARTIAL and partial is None:
                partial = {**child_scope, _CHOSEN: route}
        return (Match.NONE, {}) if partial is None else (Match.PARTIAL, partial)

    async def handle(self, scope: ASGIScope, receive: Receive, send: Send) -> None:
        # Called only with the child scope of this group's own match (Router, Mount and BaseRoute.__call__ do so).
        route: Route = scope.pop(_CHOSEN)
        if scope.get("route") is self:
            scope["route"] = route  # as the router would have set it for the route itself
        await route.handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                pass
        raise NoMatchFound(name, path_params)


def expand_routes(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """Every route of ``routes`` in order, a :class:`LazyRoutes` replaced by its own (built now if not yet)."""
    for route in routes:
        if isinstance(route, LazyRoutes):
            yield from route.routes
        else:
            yield route
