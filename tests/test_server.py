"""The threaded uvicorn server: a real socket on a free port, started and stopped cleanly."""

from __future__ import annotations

import socket

import httpx
import pytest

from mock_amojo import create_app
from mock_amojo.serve._server import ServerThread


def test_serves_on_a_free_port_and_releases_it() -> None:
    server = ServerThread(create_app())
    assert server.url == f"http://127.0.0.1:{server.port}" and server.port > 0
    with server:
        assert httpx.get(f"{server.url}/__mock__/health").json()["status"] == "ok"
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", server.port))


def test_two_servers_never_share_a_port() -> None:
    with ServerThread(create_app()) as one, ServerThread(create_app()) as two:
        assert one.port != two.port
