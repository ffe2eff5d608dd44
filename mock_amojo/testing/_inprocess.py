"""In-process transports: an httpx client talks to the fake's ASGI app with no socket.

``httpx.ASGITransport`` serves async clients; :class:`SyncASGITransport` does the same for
sync ``httpx.Client`` by running the app on a private event loop — in the calling thread
when it has no loop running, else on a helper thread.

>>> import httpx
>>> from mock_amojo import create_app
>>> with httpx.Client(transport=SyncASGITransport(create_app()), base_url="http://amojo") as client:
...     client.get("/__mock__/health").json()["status"]
'ok'

:class:`InProcessRouting` goes one step further: while it is active, *any* httpx client —
sync or async, made anywhere in the code under test — that calls an amojo host is served
by the app, and every other host goes to the network as usual:

>>> with InProcessRouting(create_app()):
...     httpx.get("https://amojo.amocrm.com/__mock__/health").json()["status"]
'ok'

``requests`` and ``aiohttp`` clients are routed the same way when ``responses`` / ``aioresponses`` are
installed (``_inprocess_requests``, ``_inprocess_aiohttp``).
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib
import importlib.util
import inspect
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterable, MutableMapping
from types import TracebackType
from typing import Any, ClassVar

import httpx
import respx
from respx.mocks import HTTPXMocker
from respx.models import AllMockedAssertionError, PassThrough

from ..wire._endpoints import AMOJO_HOSTS

__all__ = ["AMOJO_HOSTS", "InProcessRouting", "SyncASGITransport", "is_asgi"]


ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[MutableMapping[str, Any]]], Callable[[MutableMapping[str, Any]], Awaitable[None]]],
    Awaitable[None],
]


class SyncASGITransport(httpx.BaseTransport):
    """Serve sync httpx requests from an ASGI app, in process."""

    def __init__(self, app: ASGIApp, *, client: tuple[str, int] = ("127.0.0.1", 123), root_path: str = "") -> None:
        self.app = app
        self.client = client
        self.root_path = root_path
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _run(self, coro: Coroutine[Any, Any, httpx.Response]) -> httpx.Response:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            in_loop = False
        else:
            in_loop = True
        if not in_loop and threading.current_thread() is threading.main_thread():
            with self._lock:
                if self._loop is None or self._loop.is_closed():
                    self._loop = asyncio.new_event_loop()
                return self._loop.run_until_complete(coro)
        # Called from async code (or another thread): run on a dedicated loop thread instead.
        with self._lock:
            if self._thread is None:
                loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=loop.run_forever, name="mock-amojo-inprocess", daemon=True)
                self._thread.start()
                self._thread_loop = loop
        return asyncio.run_coroutine_threadsafe(coro, self._thread_loop).result()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        return self._run(self._call(request, body))

    async def _call(self, request: httpx.Request, body: bytes) -> httpx.Response:
        url = request.url
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "scheme": url.scheme,
            "path": url.path,
            "raw_path": url.raw_path.split(b"?")[0],
            "query_string": url.query,
            "server": (url.host, url.port or (443 if url.scheme == "https" else 80)),
            "client": self.client,
            "root_path": self.root_path,
        }
        sent = False
        status = 500
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return httpx.Response(status, headers=headers, content=b"".join(chunks), request=request)

    def close(self) -> None:
        # No lifespan runs in process: stop the app's webhook worker here, so no thread outlives the transport.
        webhooks = getattr(getattr(self.app, "state", None), "webhooks", None)
        if webhooks is not None:
            webhooks.close()
        with self._lock:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.close()
            if self._thread is not None:
                self._thread_loop.call_soon_threadsafe(self._thread_loop.stop)
                self._thread.join(timeout=5)
                self._thread_loop.close()
                self._thread = None


# Which kind of client made the request being routed: respx calls a route's side effect the
# same way for both, and an httpx request's stream does not tell (ByteStream is both kinds).
_ASYNC_CALL: contextvars.ContextVar[bool] = contextvars.ContextVar("mock_amojo_async_call", default=False)


class _Mocker(HTTPXMocker):
    """respx's client-level patch (``Client._transport_for_url``) with its own router list.

    Its own list keeps the fake's routing independent of an integrator's own respx mocks:
    requests the fake does not route pass through to whatever is underneath, respx included.

    A subclass of a respx class outside ``respx.mocks.__all__`` because respx's public API lacks two
    seams: a route's side effect is not told whether a sync or an async client sent the request (so
    it cannot answer the one with a response and the other with a coroutine), and a router on one
    of respx's shared mockers cannot decline a request so that it reaches the network or a router
    registered after it (declining raises ``AllMockedAssertionError`` to the caller; ``pass_through``
    skips the later routers).
    """

    name = "mock-amojo"
    targets: ClassVar[list[str]] = ["httpx._client.Client", "httpx._client.AsyncClient"]
    target_methods: ClassVar[list[str]] = ["_transport_for_url"]

    # Both set the flag explicitly: a sync call made on a worker thread that an async handler
    # spawned (Starlette's run_in_threadpool copies the context) must not look async.
    @classmethod
    def handler(cls, httpx_request: httpx.Request) -> httpx.Response:
        token = _ASYNC_CALL.set(False)
        try:
            response: httpx.Response = super().handler(httpx_request)  # type: ignore[no-untyped-call]
        except AllMockedAssertionError:
            raise _pass_through(httpx_request) from None
        finally:
            _ASYNC_CALL.reset(token)
        return response

    @classmethod
    async def async_handler(cls, httpx_request: httpx.Request) -> httpx.Response:
        token = _ASYNC_CALL.set(True)
        try:
            response: httpx.Response = await super().async_handler(httpx_request)  # type: ignore[no-untyped-call]
        except AllMockedAssertionError:
            raise _pass_through(httpx_request) from None
        finally:
            _ASYNC_CALL.reset(token)
        return response


def _pass_through(request: httpx.Request) -> PassThrough:
    """No routing serves this host: respx's transport then sends it on as if nothing were patched."""
    return PassThrough(f"mock-amojo does not serve {request.url.host}", request=request, origin=None)  # type: ignore[arg-type]


def is_asgi(app: Any) -> bool:
    """An ASGI app is an async callable (Starlette, FastAPI, Quart…); a WSGI one (Flask, Django) is not."""
    call = app if inspect.isfunction(app) or inspect.ismethod(app) else getattr(app, "__call__", None)  # noqa: B004
    return inspect.iscoroutinefunction(call)


class _AppHandler:
    """Serves routed requests from one app, through the transport matching the client (sync or async)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.asgi = is_asgi(app)
        self.sync: httpx.BaseTransport = SyncASGITransport(app) if self.asgi else httpx.WSGITransport(app=app)
        self.async_ = httpx.ASGITransport(app=app, client=("127.0.0.1", 123)) if self.asgi else None

    def __call__(self, request: httpx.Request) -> httpx.Response | Coroutine[Any, Any, httpx.Response]:
        if _ASYNC_CALL.get():
            return self._serve_async(request)
        return self.sync.handle_request(request)

    async def _serve_async(self, request: httpx.Request) -> httpx.Response:
        if self.async_ is None:
            # A WSGI app blocks: serve it on a worker thread so the caller's event loop keeps running.
            await request.aread()
            return await asyncio.to_thread(self._serve_wsgi, request)
        response = await self.async_.handle_async_request(request)
        await response.aread()
        return response

    def _serve_wsgi(self, request: httpx.Request) -> httpx.Response:
        response = self.sync.handle_request(request)
        # A WSGI body is a sync stream an async client cannot read: hand over plain bytes.
        return httpx.Response(response.status_code, headers=response.headers, content=response.read(), request=request)

    def close(self) -> None:
        self.sync.close()


class InProcessRouting:
    """While active, httpx calls to the mounted hosts (any scheme and port) are served by their apps in process.

    ``InProcessRouting(app)`` mounts the fake on amojo's hosts; :meth:`mount` adds more (an
    integration's own ASGI or WSGI app, for the webhooks the fake sends). Requests to other
    hosts pass through — to the network, or to an integrator's own respx mocks. A context
    manager (sync or async); ``calls`` is respx's record of the routed calls.
    """

    def __init__(self, app: Any = None, hosts: Iterable[str] = AMOJO_HOSTS) -> None:
        self._apps: dict[str, _AppHandler] = {}
        self._handlers: dict[int, _AppHandler] = {}
        self.router = respx.MockRouter(assert_all_called=False, assert_all_mocked=True, using=_Mocker.name)
        self.route = self.router.route().mock(side_effect=self._serve)
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
            handler = self._handlers[id(app)] = _AppHandler(app)
        self._apps[host.lower()] = handler

    def unmount(self, host: str) -> None:
        self._apps.pop(host.lower(), None)

    def handler(self, host: str) -> _AppHandler | None:
        """What serves ``host`` now: None when it is not mounted or routing is paused (the requests and aiohttp routings ask)."""
        return self._apps.get(host.lower()) if self.active else None

    def _serve(self, request: httpx.Request) -> httpx.Response | Coroutine[Any, Any, httpx.Response] | None:
        handler = self._apps.get(request.url.host) if self.active else None
        # None: "not mine" — respx asks the next routing, and when none serves the request
        # _Mocker passes it through (to the network, or to the integrator's own respx mocks).
        return None if handler is None else handler(request)

    @property
    def calls(self) -> list[Any]:
        """respx calls (request, response) this routing served; passed-through ones are left out."""
        return [call for call in self.route.calls if call.optional_response is not None]

    def start(self) -> InProcessRouting:
        """Route from now on (patching httpx the first time)."""
        if not self._patched:
            self.router.start()
            self._clients = _client_routings(self)
            self._patched = True
        self.active = True
        return self

    def pause(self) -> None:
        """Stop routing but keep httpx patched (everything passes through), so the next start is free.

        respx's start/stop costs ~0.5 ms (mock patching, route snapshots): too much per test.
        """
        self.active = False
        self.router.reset()
        for client in self._clients:
            client.forget()

    def stop(self) -> None:
        """Stop routing and unpatch httpx."""
        self.active = False
        if self._patched:
            self.router.stop(quiet=True)
            for client in self._clients:
                client.stop()
            self._clients = []
            self._patched = False

    def close(self) -> None:
        """Stop routing and release the apps' transports (and their event loops)."""
        self.stop()
        for handler in self._handlers.values():
            handler.close()
        self._handlers.clear()
        self._apps.clear()

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
