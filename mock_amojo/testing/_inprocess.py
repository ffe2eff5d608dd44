"""In-process routing: while it is active, *any* httpx client — sync or async, made anywhere in the
code under test — that calls an amojo host is served by the app in process; every other host goes
to the network as usual. The transports it serves through are in :mod:`._transports`.

>>> from mock_amojo import create_app
>>> with InProcessRouting(create_app()):
...     httpx.get("https://amojo.amocrm.com/__mock__/health").json()["status"]
'ok'

Serving a client the code under test makes itself means changing how httpx picks a transport:
nothing public does that. respx's documented API (``respx.mock``, routes with side effects)
patches httpcore and calls a side effect the same way for sync and async clients, so it cannot
tell which kind of answer to give, and a router there cannot decline a request so that it reaches
the network *and* a respx router registered after it. httpx's public ``mounts`` are fixed when a
client is made. So in-process routing wraps the one method every httpx client asks for the transport
of a URL, ``Client._transport_for_url`` (mounts included): for a host no active routing serves it
returns what httpx would, so other hosts — and respx mocks of them — behave as if nothing were there.

``requests`` and ``aiohttp`` clients are routed the same way when ``responses`` / ``aioresponses`` are
installed (``_inprocess_requests``, ``_inprocess_aiohttp``).
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, NamedTuple

import httpx

from ..wire._endpoints import AMOJO_HOSTS
from ._transports import AppHandler, SyncASGITransport, is_asgi

__all__ = ["AMOJO_HOSTS", "ROUTED_HTTPX", "Call", "InProcessRouting", "SyncASGITransport", "is_asgi", "routing_notice"]

#: The httpx releases (first and last minor, inclusive) in-process routing is tested on: it wraps
#: ``_transport_for_url``, a private method of httpx's clients. Widen after tests/test_inprocess.py
#: passes on a new release.
ROUTED_HTTPX = ((0, 27), (0, 29))

_CLIENTS: tuple[tuple[type[Any], bool], ...] = ((httpx.Client, False), (httpx.AsyncClient, True))
_METHOD = "_transport_for_url"
_lock = threading.Lock()
#: Routings that are started (httpx stays wrapped while there is one), in start order.
_started: list[InProcessRouting] = []
#: Those of them serving now: read on every request, so replaced (never changed) under the lock.
_serving: tuple[InProcessRouting, ...] = ()
_noticed: list[str] = []


class Call(NamedTuple):
    """One request a routing served, and its answer."""

    request: httpx.Request
    response: httpx.Response


def routing_notice(version: str) -> str | None:
    """A one-line notice when httpx ``version`` is outside :data:`ROUTED_HTTPX` (routing still tries).

    >>> routing_notice("0.28.1") is None, routing_notice("0.26.0") is None, routing_notice("1.0.0") is None
    (True, False, False)
    """
    found = re.match(r"(\d+)\.(\d+)", version)
    if found is not None and ROUTED_HTTPX[0] <= (int(found[1]), int(found[2])) <= ROUTED_HTTPX[1]:
        return None
    first, last = (".".join(map(str, v)) for v in ROUTED_HTTPX)
    return f"mock-amojo: in-process routing is tested on httpx {first} to {last}.x, not {version}; if amojo calls fail, pin httpx or serve the fake (served=True)"


def _route_for(host: str) -> tuple[InProcessRouting, AppHandler] | None:
    for routing in _serving:
        handler = routing._lookup(host)
        if handler is not None:
            return routing, handler
    return None


def _wrapped(original: Callable[[Any, httpx.URL], Any], is_async: bool) -> Callable[[Any, httpx.URL], Any]:
    def _transport_for_url(client: Any, url: httpx.URL) -> Any:
        found = _route_for(url.host) if _serving else None
        if found is None:
            return original(client, url)
        return _AsyncServed(*found) if is_async else _Served(*found)

    return _transport_for_url


#: What wrapping put in place, per client class: the wrapper and what it replaced (None: inherited).
_wrappers: dict[type[Any], tuple[Callable[[Any, httpx.URL], Any], Any]] = {}


def _wrap_httpx() -> None:
    version = httpx.__version__
    for client, _ in _CLIENTS:
        if not callable(getattr(client, _METHOD, None)):
            first, last = (".".join(map(str, v)) for v in ROUTED_HTTPX)
            raise RuntimeError(
                f"mock-amojo: in-process routing cannot serve httpx {version} ({client.__name__}.{_METHOD} is gone): "
                f"pin httpx to {first}–{last}.x, or serve the fake over HTTP (served=True)"
            )
    notice = routing_notice(version)
    if notice is not None and not _noticed:
        _noticed.append(notice)
        sys.stderr.write(notice + "\n")
    for client, is_async in _CLIENTS:
        wrapper = _wrapped(getattr(client, _METHOD), is_async)
        _wrappers[client] = (wrapper, client.__dict__.get(_METHOD))
        setattr(client, _METHOD, wrapper)


def _unwrap_httpx() -> None:
    for client, (wrapper, replaced) in _wrappers.items():
        # Only our own wrapper on top comes off: whoever wrapped over it (respx's httpx mocker) puts it
        # back later, and it passes everything through while no routing serves.
        if client.__dict__.get(_METHOD) is wrapper:
            if replaced is None:
                delattr(client, _METHOD)
            else:
                setattr(client, _METHOD, replaced)
    _wrappers.clear()


def _update(routing: InProcessRouting, *, started: bool | None = None) -> None:
    global _serving
    with _lock:
        if started is True and routing not in _started:
            if not _started:
                _wrap_httpx()
            _started.append(routing)
        elif started is False and routing in _started:
            _started.remove(routing)
            if not _started:
                _unwrap_httpx()
        _serving = tuple(r for r in _started if r.active)


class _Served(httpx.BaseTransport):
    __slots__ = ("handler", "routing")

    def __init__(self, routing: InProcessRouting, handler: AppHandler) -> None:
        self.routing = routing
        self.handler = handler

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.handler.serve(request)
        self.routing.calls.append(Call(request, response))
        return response


class _AsyncServed(httpx.AsyncBaseTransport):
    __slots__ = ("handler", "routing")

    def __init__(self, routing: InProcessRouting, handler: AppHandler) -> None:
        self.routing = routing
        self.handler = handler

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.handler.serve_async(request)
        self.routing.calls.append(Call(request, response))
        return response


class InProcessRouting:
    """While active, httpx calls to the mounted hosts (any scheme and port) are served by their apps in process.

    ``InProcessRouting(app)`` mounts the fake on amojo's hosts; :meth:`mount` adds more (an
    integration's own ASGI or WSGI app, for the webhooks the fake sends). Requests to other
    hosts pass through — to the network, or to an integrator's own respx mocks. A context
    manager (sync or async); ``calls`` records the routed calls (request, response).
    """

    def __init__(self, app: Any = None, hosts: Iterable[str] = AMOJO_HOSTS) -> None:
        self._apps: dict[str, AppHandler] = {}
        #: Domains whose every subdomain an app serves (amoCRM's ``{subdomain}.amocrm.ru``): after exact hosts.
        self._domains: dict[str, AppHandler] = {}
        self._handlers: dict[int, AppHandler] = {}
        #: The calls served since the routing was made or last paused (request, response).
        self.calls: list[Call] = []
        self.active = False
        self._patched = False
        self._clients: list[Any] = []
        if app is not None:
            for host in hosts:
                self.mount(host, app)

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(self._apps)

    def mount(self, host: str, app: Any) -> None:
        """Serve ``host`` (a host name, e.g. ``bridge.test``) from ``app`` (ASGI or WSGI)."""
        handler = self._handlers.get(id(app))
        if handler is None:
            handler = self._handlers[id(app)] = AppHandler(app)
        self._apps[host.lower()] = handler

    def unmount(self, host: str) -> None:
        self._apps.pop(host.lower(), None)

    def mount_domain(self, domain: str, app: Any) -> None:
        """Serve every host under ``domain`` (``x.amocrm.ru`` for ``amocrm.ru``) from ``app``; mounted hosts win."""
        self.mount(domain, app)
        self._domains["." + domain.lower()] = self._apps.pop(domain.lower())

    def _lookup(self, host: str) -> AppHandler | None:
        found = self._apps.get(host)
        if found is None and self._domains:
            found = next((h for d, h in self._domains.items() if host.endswith(d)), None)
        return found

    def handler(self, host: str) -> AppHandler | None:
        """What serves ``host`` now: None when it is not mounted or routing is paused (the requests and aiohttp routings ask)."""
        return self._lookup(host.lower()) if self.active else None

    def start(self) -> InProcessRouting:
        """Route from now on (wrapping httpx, and patching requests and aiohttp when their mocking libraries are installed, the first time)."""
        if not self._patched:
            self._clients = _client_routings(self)
        self.active = True
        self._patched = True
        _update(self, started=True)
        return self

    def pause(self) -> None:
        """Stop routing but keep httpx wrapped (everything passes through), so the next start is free."""
        self.active = False
        self.calls = []
        _update(self)
        for client in self._clients:
            client.forget()

    def stop(self) -> None:
        """Stop routing and unwrap httpx (when no other routing is started)."""
        self.active = False
        if self._patched:
            for client in self._clients:
                client.stop()
            self._clients = []
            self._patched = False
            _update(self, started=False)

    def close(self) -> None:
        """Stop routing and release the apps' transports (and their event loops)."""
        self.stop()
        for handler in self._handlers.values():
            handler.close()
        self._handlers.clear()
        self._apps.clear()
        self._domains.clear()

    def __enter__(self) -> InProcessRouting:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    async def __aenter__(self) -> InProcessRouting:
        return self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def _client_routings(routing: InProcessRouting) -> list[Any]:
    """Started routings for the other HTTP clients whose mocking library is installed (none: those clients are not routed)."""
    started = []
    for module, library, kind in (
        ("_inprocess_requests", "responses", "RequestsRouting"),
        ("_inprocess_aiohttp", "aioresponses", "AiohttpRouting"),
    ):
        if importlib.util.find_spec(library) is not None:
            client = getattr(importlib.import_module(f"{__package__}.{module}"), kind)(routing)
            client.start()
            started.append(client)
    return started
