"""A real uvicorn server on 127.0.0.1 in a background thread — the served mode of tests — and the uvicorn
settings it shares with ``mock-amojo serve``: which HTTP protocol serves (:func:`http_protocol`).

The socket is bound before the thread starts (port 0 picks a free port), so the URL is
known at once and two servers never race for a port (``pytest -n auto`` runs one per worker).

>>> import httpx
>>> from mock_amojo import create_app
>>> with ServerThread(create_app()) as server:
...     httpx.get(f"{server.url}/__mock__/health").json()["status"]
'ok'
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any

import uvicorn

from ..config import Config, env_setting
from ..http._guard import guarded
from ._listener import SERVE_LOOP

if TYPE_CHECKING:
    from ._tls import TlsFiles  # loaded only by a start with --tls

__all__ = ["INLINE_UVICORN", "ServerThread", "http_protocol", "inline_supported", "tls_settings", "uvicorn_config"]

#: The uvicorn releases (first and last minor, inclusive) the inline protocol is served on:
#: :mod:`mock_amojo.serve._httpproto` subclasses uvicorn's private httptools protocol, so it is used only where
#: its differential test (tests/test_served_http.py) passes. Before 0.53 uvicorn kept a connection
#: open on ``Connection: Close`` (closed only on a header reading exactly ``close``), which the inline
#: path does not copy; the last is the newest release CI has run. Widen it after that test passes on
#: a new release.
INLINE_UVICORN = ((0, 53), (0, 55))


def inline_supported(version: str) -> bool:
    """Whether the inline protocol may serve on uvicorn ``version`` (see :data:`INLINE_UVICORN`).

    >>> inline_supported("0.55.2"), inline_supported("0.52.4"), inline_supported("0.56.0"), inline_supported("1.0.0rc1")
    (True, False, False, False)
    """
    found = re.match(r"(\d+)\.(\d+)", version)
    return found is not None and INLINE_UVICORN[0] <= (int(found[1]), int(found[2])) <= INLINE_UVICORN[1]


def http_protocol(choice: str) -> tuple[type[asyncio.Protocol] | str, str | None]:
    """uvicorn's ``http`` setting for ``choice`` (:attr:`Config.http <mock_amojo.config.Config.http>`), and a
    one-line notice when ``inline`` was asked for but uvicorn's own protocol serves instead."""
    if choice == "stock":
        return "httptools", None
    version = uvicorn.__version__
    first, last = (".".join(map(str, v)) for v in INLINE_UVICORN)
    fallback = "serving on uvicorn's own httptools protocol instead (--http stock says so and silences this)"
    if not inline_supported(version):
        return "httptools", f"mock-amojo: the inline HTTP protocol is tested on uvicorn {first} to {last}.x, not {version}: {fallback}"
    try:
        from ._httpproto import InlineHttpProtocol
    except (ImportError, AttributeError) as err:  # a patch release that moved what it builds on
        return "httptools", f"mock-amojo: the inline HTTP protocol does not load on uvicorn {version} ({err}): {fallback}"
    return InlineHttpProtocol, None


def tls_settings(tls: TlsFiles | None) -> dict[str, str]:
    """uvicorn's settings for serving HTTPS with ``tls``' certificate (none for plain HTTP)."""
    return {} if tls is None else {"ssl_certfile": str(tls.cert), "ssl_keyfile": str(tls.key)}


def uvicorn_config(app: Any, *, http: str, **settings: Any) -> tuple[uvicorn.Config, str | None]:
    """The uvicorn settings ``mock-amojo serve`` and :class:`ServerThread` serve with; and :func:`http_protocol`'s notice.

    uvloop accepting connection bursts at once (:mod:`mock_amojo.serve._listener`); the ``http`` protocol; no
    proxy-header rewriting: the fake never looks at the client's address, and the wrapper would hide the app
    (and its inline routes) from the protocol. ``settings`` are further :class:`uvicorn.Config` keywords.
    Over a socket the control plane and console answer only to whom the app's config admits (:func:`~mock_amojo.http._guard.guarded`).
    """
    protocol, notice = http_protocol(http)
    app = guarded(app, settings.get("host"))
    return uvicorn.Config(app, loop=SERVE_LOOP, http=protocol, proxy_headers=False, access_log=False, **settings), notice


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
    """Serve an ASGI app over real HTTP on ``host`` from a daemon thread until :meth:`stop`.

    ``http`` is the HTTP protocol, as :attr:`Config.http <mock_amojo.config.Config.http>`: ``inline`` or
    ``stock``; by default what ``MOCK_AMOJO_HTTP`` says, else ``inline``. ``tls``: serve HTTPS with these files.
    """

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
        http: str | None = None,
        tls: TlsFiles | None = None,
    ) -> None:
        # Checked as every setting is (a ConfigError naming it), before a socket is taken.
        http = Config(http=http).http if http is not None else env_setting("http", os.environ)
        self.app = app
        self.host = host
        self._socket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port: int = self._socket.getsockname()[1]
        # The same loop and protocol as `mock-amojo serve`. lifespan "on": the app starts its webhook
        # dispatcher on this loop and stops it on exit.
        self.tls = tls
        config, notice = uvicorn_config(app, http=http, host=host, log_level=log_level, lifespan="on", **tls_settings(tls))
        if notice is not None:
            print(notice, file=sys.stderr)
        self._server = _Server(config)
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

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
