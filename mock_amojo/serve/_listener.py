"""The served fake's event loop: uvloop, but new connections accepted all at once.

libuv (under uvloop) accepts one connection per loop iteration (libuv/libuv#3696), so a burst
of clients connecting waits for many iterations of a busy loop. asyncio's own loop accepts the
whole backlog per wake-up; this loop does the same on top of uvloop: the listening socket is
watched with ``add_reader`` and every pending connection is accepted and handed to uvloop's
transports (``connect_accepted_socket``). Measurements: ``docs/design/performance.md``.

uvicorn picks the loop by import string: ``uvicorn.Config(app, loop=SERVE_LOOP)``.

>>> import asyncio
>>> loop = new_event_loop()
>>> server = loop.run_until_complete(loop.create_server(asyncio.Protocol, "127.0.0.1", 0))
>>> isinstance(server, EagerServer) or not HAVE_UVLOOP  # plain asyncio already accepts eagerly
True
>>> server.close(); loop.run_until_complete(server.wait_closed()); loop.close()
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["HAVE_UVLOOP", "SERVE_LOOP", "EagerServer", "new_event_loop"]

try:
    import uvloop
except ImportError:  # Windows, PyPy: no uvloop; asyncio's loop accepts a whole backlog per wake-up anyway
    uvloop = None  # type: ignore[assignment]

HAVE_UVLOOP = uvloop is not None
_log = logging.getLogger("mock_amojo.serve._listener")
#: uvicorn's ``loop`` setting for this module's loop (an import string naming a loop factory).
SERVE_LOOP = "mock_amojo.serve._listener:new_event_loop"
#: Out of descriptors or memory: accepting again at once would spin; asyncio waits 1 s too.
_ACCEPT_RETRY_DELAY = 1.0
_RESOURCE_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class EagerServer(asyncio.AbstractServer):
    """Listening sockets whose pending connections are all accepted on each wake-up."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sockets: list[socket.socket],
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        backlog: int,
    ) -> None:
        self._loop = loop
        self._sockets = sockets
        self._protocol_factory = protocol_factory
        self._backlog = backlog
        self._serving = False
        self._closed = asyncio.Event()
        self._connecting: set[asyncio.Task[None]] = set()

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        return tuple(self._sockets)

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def is_serving(self) -> bool:
        return self._serving

    async def start_serving(self) -> None:
        if self._serving or self._closed.is_set():
            return
        self._serving = True
        for sock in self._sockets:
            sock.listen(self._backlog)
            self._loop.add_reader(sock.fileno(), self._accept, sock)

    async def serve_forever(self) -> None:
        await self.start_serving()
        await self._closed.wait()

    def close(self) -> None:
        """Stop accepting and close the listening sockets; open connections are the server's to end."""
        if self._closed.is_set():
            return
        for sock in self._sockets:
            if self._serving:
                self._loop.remove_reader(sock.fileno())
            sock.close()
        self._serving = False
        self._closed.set()

    async def wait_closed(self) -> None:
        await self._closed.wait()
        if self._connecting:
            await asyncio.gather(*self._connecting, return_exceptions=True)

    def _accept(self, listener: socket.socket) -> None:
        for _ in range(self._backlog):
            try:
                conn, _address = listener.accept()
            except (BlockingIOError, InterruptedError):
                return  # the backlog is empty
            except ConnectionAbortedError:
                continue  # the client gave up while queued
            except OSError as exc:
                if exc.errno not in _RESOURCE_ERRORS:
                    raise
                _log.warning("cannot accept connections (%s); trying again in %.0f s", exc.strerror, _ACCEPT_RETRY_DELAY)
                self._loop.remove_reader(listener.fileno())
                self._loop.call_later(_ACCEPT_RETRY_DELAY, self._resume, listener)
                return
            conn.setblocking(False)
            if conn.family in (socket.AF_INET, socket.AF_INET6):
                # What asyncio and uvloop do to every TCP transport: answers are not held back by Nagle.
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            task = self._loop.create_task(self._connect(conn))
            self._connecting.add(task)
            task.add_done_callback(self._connecting.discard)

    def _resume(self, listener: socket.socket) -> None:
        if self._serving:
            self._loop.add_reader(listener.fileno(), self._accept, listener)

    async def _connect(self, conn: socket.socket) -> None:
        try:
            await self._loop.connect_accepted_socket(self._protocol_factory, conn)
        except Exception:  # one connection failing to start must not stop the server
            _log.exception("could not start a connection")
            conn.close()


def _bound_sockets(host: str | Iterable[str] | None, port: int | None, reuse_address: bool | None) -> list[socket.socket]:
    """Sockets bound to every address ``host`` resolves to (all interfaces for None), as asyncio binds them."""
    hosts: list[str | None] = [host] if host is None or isinstance(host, str) else list(host)
    seen: set[tuple[Any, ...]] = set()
    sockets: list[socket.socket] = []
    try:
        for name in hosts:
            for family, kind, proto, _canon, address in socket.getaddrinfo(
                name or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            ):
                if (family, address) in seen:
                    continue
                seen.add((family, address))
                sock = socket.socket(family, kind, proto)
                sockets.append(sock)
                if reuse_address is not False:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)  # IPv4 gets its own socket
                sock.bind(address)
                sock.setblocking(False)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


if uvloop is not None:

    class _EagerLoop(uvloop.Loop):
        """uvloop with :class:`EagerServer` for plain TCP servers (TLS and the rest: uvloop's own)."""

        async def create_server(  # type: ignore[override]
            self,
            protocol_factory: Callable[[], asyncio.BaseProtocol],
            host: Any = None,  # str, a sequence of them, or None: as asyncio takes it
            port: Any = None,
            *,
            sock: Any = None,
            backlog: int = 100,
            ssl: Any = None,
            reuse_address: bool | None = None,
            start_serving: bool = True,
            **kwargs: Any,
        ) -> asyncio.AbstractServer:
            if ssl is not None or kwargs or (sock is not None and sock.family not in (socket.AF_INET, socket.AF_INET6)):
                return await super().create_server(
                    protocol_factory,
                    host,
                    port,
                    sock=sock,
                    backlog=backlog,
                    ssl=ssl,
                    reuse_address=reuse_address,
                    start_serving=start_serving,
                    **kwargs,
                )
            if sock is not None:
                sock.setblocking(False)
                sockets = [sock]
            else:
                sockets = _bound_sockets(host, port, reuse_address)
            server = EagerServer(self, sockets, protocol_factory, backlog)
            if start_serving:
                try:
                    await server.start_serving()
                except OSError:
                    server.close()
                    raise
            return server


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new event loop for the served fake: uvloop accepting eagerly, or asyncio's where uvloop is missing."""
    if uvloop is None:
        return asyncio.new_event_loop()
    return _EagerLoop()
