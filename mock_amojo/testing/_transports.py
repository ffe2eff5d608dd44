"""In-process transports: an httpx client talks to the fake's ASGI app with no socket.

``httpx.ASGITransport`` serves async clients; :class:`SyncASGITransport` does the same for
sync ``httpx.Client`` by running the app on a private event loop — in the calling thread
when it has no loop running, else on a helper thread.

>>> import httpx
>>> from mock_amojo import create_app
>>> with httpx.Client(transport=SyncASGITransport(create_app()), base_url="http://amojo") as client:
...     client.get("/__mock__/health").json()["status"]
'ok'

Both answer a request to one of amojo's endpoints the way the served fake does (its inline
route: the same pipeline, called once the body is read, with no ASGI round); :class:`AppHandler`
serves one app to both kinds of client, for the routing in :mod:`._inprocess`.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from typing import Any

import httpx

from ..http._exchange import reply_headers
from ..wire._endpoints import AMOJO_HOSTS

__all__ = ["AMOJO_HOSTS", "AppHandler", "SyncASGITransport", "answer_inline", "call_asgi", "is_asgi"]


ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[MutableMapping[str, Any]]], Callable[[MutableMapping[str, Any]], Awaitable[None]]],
    Awaitable[None],
]


def _scope(request: httpx.Request, client: tuple[str, int], root_path: str) -> dict[str, Any]:
    """The ASGI scope ``httpx.ASGITransport`` makes of ``request``."""
    url = request.url
    return {
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
        "client": client,
        "root_path": root_path,
    }


def answer_inline(app: Any, request: httpx.Request, client: tuple[str, int] = ("127.0.0.1", 123)) -> httpx.Response | None:
    """The answer of the app's inline route to ``request`` (its body read), or None when ASGI must serve it.

    The contract is the served fake's (:mod:`mock_amojo.serve._httpproto`): ``app.fast_route(method, path)``
    names an endpoint that answers a fully read request synchronously (``route.answer(scope, body)``),
    or None (the control plane, the console, an outage in force, middleware a user added). A body over
    the route's limit goes to ASGI too, which refuses it as it would on the wire.
    """
    fast_route = getattr(app, "fast_route", None)
    if fast_route is None:
        return None
    found = fast_route(request.method, request.url.path)
    if found is None:
        return None
    route, params = found
    body = request.content
    if len(body) > route.body_limit:
        return None
    scope = _scope(request, client, "")
    scope["path_params"] = params
    reply = route.answer(scope, body)
    return httpx.Response(reply.status, headers=reply_headers(reply), stream=httpx.ByteStream(reply.body), request=request)


async def call_asgi(app: ASGIApp, scope: MutableMapping[str, Any], body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """One request through ``app`` with its whole body: the status, headers and body it answered (500 if none)."""
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

    await app(scope, receive, send)
    return status, headers, b"".join(chunks)


class SyncASGITransport(httpx.BaseTransport):
    """Serve sync httpx requests from an ASGI app, in process."""

    def __init__(self, app: ASGIApp, *, client: tuple[str, int] = ("127.0.0.1", 123), root_path: str = "") -> None:
        self.app = app
        self.client = client
        self.root_path = root_path
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        # A root path changes what the app sees of the path: ASGI serves every request then.
        self._inline = not root_path and getattr(app, "fast_route", None) is not None

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
                loop = self._loop
            # Not under the lock: the app may call out to a worker thread that calls the app again (an OAuth callback).
            return loop.run_until_complete(coro)
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
        if self._inline:
            response = answer_inline(self.app, request, self.client)
            if response is not None:
                return response
        return self._run(self._call(request, body))

    async def _call(self, request: httpx.Request, body: bytes) -> httpx.Response:
        status, headers, content = await call_asgi(self.app, _scope(request, self.client, self.root_path), body)
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(content), request=request)

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


def is_asgi(app: Any) -> bool:
    """An ASGI app is an async callable (Starlette, FastAPI, Quart…); a WSGI one (Flask, Django) is not."""
    call = app if inspect.isfunction(app) or inspect.ismethod(app) else getattr(app, "__call__", None)  # noqa: B004
    return inspect.iscoroutinefunction(call)


class AppHandler:
    """Serves routed requests from one app (ASGI or WSGI), to sync and to async clients."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.asgi = is_asgi(app)
        self.sync: httpx.BaseTransport = SyncASGITransport(app) if self.asgi else httpx.WSGITransport(app=app)
        self.async_ = httpx.ASGITransport(app=app, client=("127.0.0.1", 123)) if self.asgi else None
        self._inline = self.asgi and getattr(app, "fast_route", None) is not None

    def serve(self, request: httpx.Request) -> httpx.Response:
        """A sync client's request."""
        return self.sync.handle_request(request)

    async def serve_async(self, request: httpx.Request) -> httpx.Response:
        """An async client's request; the answer's body is read."""
        if self.async_ is None:
            # A WSGI app blocks: serve it on a worker thread so the caller's event loop keeps running.
            await request.aread()
            return await asyncio.to_thread(self._serve_wsgi, request)
        response = None
        if self._inline:
            await request.aread()
            response = answer_inline(self.app, request)
        if response is None:
            response = await self.async_.handle_async_request(request)
        await response.aread()
        return response

    def _serve_wsgi(self, request: httpx.Request) -> httpx.Response:
        response = self.sync.handle_request(request)
        # A WSGI body is a sync stream an async client cannot read: hand over plain bytes.
        return httpx.Response(response.status_code, headers=response.headers, content=response.read(), request=request)

    def close(self) -> None:
        self.sync.close()
