"""In-process transports: an httpx client talks to the fake's ASGI app with no socket.

``httpx.ASGITransport`` serves async clients; :class:`SyncASGITransport` does the same for
sync ``httpx.Client`` by running the app on a private event loop — in the calling thread
when it has no loop running, else on a helper thread.

>>> import httpx
>>> from mock_amojo import create_app
>>> with httpx.Client(transport=SyncASGITransport(create_app()), base_url="http://amojo") as client:
...     client.get("/__mock__/health").json()["status"]
'ok'
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from typing import Any

import httpx

__all__ = ["SyncASGITransport"]

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
        with self._lock:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.close()
            if self._thread is not None:
                self._thread_loop.call_soon_threadsafe(self._thread_loop.stop)
                self._thread.join(timeout=5)
                self._thread_loop.close()
                self._thread = None
