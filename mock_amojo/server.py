"""A real uvicorn server on 127.0.0.1 in a background thread — the served mode of tests.

The socket is bound before the thread starts (port 0 picks a free port), so the URL is
known at once and two servers never race for a port (``pytest -n auto`` runs one per worker).

>>> import httpx
>>> from mock_amojo import create_app
>>> with ServerThread(create_app()) as server:
...     httpx.get(f"{server.url}/__mock__/health").json()["status"]
'ok'
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType
from typing import Any

import uvicorn

from .httpproto import InlineHttpProtocol
from .listener import SERVE_LOOP

__all__ = ["ServerThread"]


class _Server(uvicorn.Server):
    """uvicorn's server, telling a waiting thread when it listens (no polling)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets)
        finally:
            self.ready.set()


class ServerThread:
    """Serve an ASGI app over real HTTP on ``host`` from a daemon thread until :meth:`stop`."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning") -> None:
        self.app = app
        self.host = host
        self._socket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port: int = self._socket.getsockname()[1]
        # The same loop and protocol as `mock-amojo serve` (uvloop accepting connection bursts at once; amojo's
        # endpoints answered inline; no proxy-header rewriting, which would hide the app from the protocol).
        # lifespan "on": the app starts its webhook dispatcher on this loop and stops it on exit.
        config = uvicorn.Config(
            app, loop=SERVE_LOOP, http=InlineHttpProtocol, proxy_headers=False, log_level=log_level, access_log=False, lifespan="on"
        )
        self._server = _Server(config)
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        except BaseException as exc:  # reported by start(); a thread has nobody else to tell
            self._failure = exc
        finally:
            self._server.ready.set()

    def start(self, timeout: float = 10.0) -> ServerThread:
        """Start serving; returns once the server accepts connections."""
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._run, name=f"mock-amojo-server-{self.port}", daemon=True)
        self._thread.start()
        if not self._server.ready.wait(timeout):
            self.stop()
            raise RuntimeError(f"mock-amojo server on {self.url} did not start within {timeout} s")
        if not self._server.started:
            self.stop()
            raise RuntimeError(f"mock-amojo server on {self.url} failed to start: {self._failure!r}")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to finish open requests and exit; wait for the thread."""
        if self._thread is not None:
            console = getattr(getattr(self.app, "state", None), "console", None)
            if console is not None:
                console.end_streams()  # an open console tab must not hold the shutdown
            self._server.should_exit = True
            self._thread.join(timeout)
            self._thread = None
        self._socket.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
