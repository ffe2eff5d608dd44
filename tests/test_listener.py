"""The served loop accepts a burst of connections at once (libuv alone takes one per loop iteration)."""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Iterator
from typing import ClassVar, cast

import pytest

from mock_amojo.serve import _listener as listener
from mock_amojo.serve._listener import EagerServer, new_event_loop

pytestmark = pytest.mark.skipif(not listener.HAVE_UVLOOP, reason="without uvloop the served loop is asyncio's own")


class _Echo(asyncio.Protocol):
    made: ClassVar[list[_Echo]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        _Echo.made.append(self)

    def data_received(self, data: bytes) -> None:
        self.transport.write(data.upper())


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    _Echo.made = []
    loop = new_event_loop()
    yield loop
    for protocol in _Echo.made:  # the server's side of each connection is the test's to close
        protocol.transport.close()
    loop.run_until_complete(asyncio.sleep(0.01))
    loop.close()


def _serve(loop: asyncio.AbstractEventLoop) -> EagerServer:
    server = loop.run_until_complete(loop.create_server(_Echo, "127.0.0.1", 0, backlog=128))
    assert isinstance(server, EagerServer)
    return server


def _iterate(loop: asyncio.AbstractEventLoop, times: int) -> None:
    for _ in range(times):
        loop.run_until_complete(asyncio.sleep(0))


def _connect(port: int, count: int) -> list[socket.socket]:
    # The kernel completes the handshake without the server's accept(): all of them wait in the backlog.
    return [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]


def test_a_burst_of_connections_is_accepted_in_a_few_loop_iterations(loop: asyncio.AbstractEventLoop) -> None:
    server = _serve(loop)
    clients = _connect(server.sockets[0].getsockname()[1], 100)
    try:
        # Measured with uvloop's own server: 3 connections started in this time, 15 in 4 times as long.
        _iterate(loop, 1)
        assert len(_Echo.made) == 100
    finally:
        for client in clients:
            client.close()
        server.close()
        loop.run_until_complete(server.wait_closed())


def test_accepted_connections_carry_data_without_nagle_delay(loop: asyncio.AbstractEventLoop) -> None:
    server = _serve(loop)
    (client,) = _connect(server.sockets[0].getsockname()[1], 1)
    try:
        _iterate(loop, 8)
        client.sendall(b"hello")
        _iterate(loop, 4)
        assert client.recv(16) == b"HELLO"
        accepted = _Echo.made[0].transport.get_extra_info("socket")
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        client.close()
        server.close()
        loop.run_until_complete(server.wait_closed())


def test_close_stops_accepting_and_frees_the_port(loop: asyncio.AbstractEventLoop) -> None:
    server = _serve(loop)
    port = server.sockets[0].getsockname()[1]
    assert server.is_serving()
    server.close()
    loop.run_until_complete(asyncio.wait_for(server.wait_closed(), 5))
    assert not server.is_serving()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)
    # Nothing holds the port: a new server can bind it.
    again = loop.run_until_complete(loop.create_server(_Echo, "127.0.0.1", port))
    again.close()


def test_a_port_in_use_is_an_os_error_at_create_time(loop: asyncio.AbstractEventLoop) -> None:
    server = _serve(loop)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(OSError) as raised:
            loop.run_until_complete(loop.create_server(_Echo, "127.0.0.1", port, reuse_address=False))
        assert raised.value.errno == errno.EADDRINUSE
    finally:
        server.close()


def test_a_given_socket_is_served_as_is(loop: asyncio.AbstractEventLoop) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = loop.run_until_complete(loop.create_server(_Echo, sock=sock))
    assert isinstance(server, EagerServer) and server.sockets == (sock,)
    (client,) = _connect(sock.getsockname()[1], 1)
    try:
        _iterate(loop, 8)
        assert len(_Echo.made) == 1
    finally:
        client.close()
        server.close()


def test_out_of_descriptors_pauses_accepting_then_resumes(loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listener, "_ACCEPT_RETRY_DELAY", 0.05)
    server = _serve(loop)
    real = server.sockets[0]

    class _Exhausted:
        """The listening socket, except that its next accept() finds the process out of descriptors."""

        failed = False

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        def accept(self) -> tuple[socket.socket, object]:
            if not self.failed:
                self.failed = True
                raise OSError(errno.EMFILE, "Too many open files")
            return real.accept()

    wrapped = _Exhausted()
    loop.remove_reader(real.fileno())
    loop.add_reader(real.fileno(), server._accept, cast(socket.socket, wrapped))
    clients = _connect(real.getsockname()[1], 3)
    try:
        _iterate(loop, 8)
        assert wrapped.failed and _Echo.made == []  # paused, not spinning on the error
        loop.run_until_complete(asyncio.sleep(0.2))
        _iterate(loop, 8)
        assert len(_Echo.made) == 3  # resumed on its own: the backlog was kept
    finally:
        for client in clients:
            client.close()
        server.close()


def test_tls_and_other_options_fall_back_to_uvloop(loop: asyncio.AbstractEventLoop) -> None:
    server = loop.run_until_complete(loop.create_server(_Echo, "127.0.0.1", 0, reuse_port=True))
    try:
        assert not isinstance(server, EagerServer)
    finally:
        server.close()
