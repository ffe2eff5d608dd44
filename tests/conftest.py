"""Shared fixtures: an in-process fake on a manual clock, and a signed client for it.

``fake`` runs every test twice: state in memory, and state in SQLite (``--db``). With
SQLite the state file is reopened after the test and the reloaded state must equal the
live one, so every scenario in the suite doubles as a persistence test.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from mock_amojo import Config, ManualClock, create_app
from mock_amojo.domain import Backend
from mock_amojo.http._control import state_snapshot
from mock_amojo.testing._client import AmojoClient
from mock_amojo.testing._inprocess import SyncASGITransport

START = 1_764_000_000.0  # 2025-11-24, any fixed instant works


@dataclass
class Fake:
    """One fake amojo for a test: the app, its backend and clock, a raw and a signed client."""

    app: Starlette
    config: Config
    clock: ManualClock
    http: httpx.Client
    amojo: AmojoClient

    @property
    def backend(self) -> Backend:
        backend: Backend = self.app.state.backend
        return backend

    @property
    def scope_id(self) -> str:
        return f"{self.config.channel_id}_{self.config.account_id}"

    def state(self) -> dict[str, Any]:
        data: dict[str, Any] = self.http.get("/__mock__/state").json()
        return data


@pytest.fixture
def state_file(tmp_path: Path) -> Iterator[Path]:
    """Where a test's SQLite state lives: in RAM (/dev/shm) when there is one.

    These tests check that replay rebuilds the state, not that the disk keeps it (tests/test_store.py
    does, on a real disk); on tmpfs a store opens and closes in ~2 ms instead of ~30 ms of fsyncs.
    """
    shm = Path("/dev/shm")  # noqa: S108  # a RAM disk for throwaway test state, not a shared temp path
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path / "state.sqlite"
        return
    with tempfile.TemporaryDirectory(dir=shm, prefix="mock-amojo-test-") as folder:
        yield Path(folder) / "state.sqlite"


@pytest.fixture(params=["memory", "sqlite"])
def fake(request: pytest.FixtureRequest, state_file: Path) -> Iterator[Fake]:
    config = Config(db=str(state_file) if request.param == "sqlite" else None)
    clock = ManualClock(START)
    app = create_app(config, clock=clock)
    with httpx.Client(transport=SyncASGITransport(app), base_url="https://amojo.amocrm.com") as http:
        yield Fake(app, config, clock, http, AmojoClient(http, config.channel_id, config.channel_secret, now=clock.now))
    if app.state.store is not None:
        app.state.store.close()
        assert_reloads_equal(app)


def assert_reloads_equal(app: Starlette) -> None:
    """A server restarted on the app's state file holds exactly the app's state."""
    reloaded = create_app(app.state.config, clock=ManualClock(0))
    try:
        assert reloaded.state.store.diverged == 0
        assert state_snapshot(reloaded.state.backend) == state_snapshot(app.state.backend)
    finally:
        reloaded.state.store.close()


@pytest.fixture
def connected(fake: Fake) -> Fake:
    assert fake.amojo.connect(fake.config.account_id, hook_api_version="v2").status_code == 200
    return fake


def text_payload(msgid: str, conversation_id: str = "conv-1", user_id: str = "user-1", text: str = "hello", **extra: Any) -> dict[str, Any]:
    """A minimal valid incoming text message payload."""
    return {
        "timestamp": int(START),
        "msec_timestamp": int(START * 1000),
        "msgid": msgid,
        "conversation_id": conversation_id,
        "sender": {"id": user_id, "name": "Client"},
        "message": {"type": "text", "text": text},
        **extra,
    }


# -- a real webhook receiver on 127.0.0.1 (webhooks, operator) ------------------------------


@dataclass
class ReceivedHook:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A tiny threaded HTTP server that records every POST; ``status``, ``delay`` and ``gate`` shape its answer."""

    def __init__(self) -> None:
        self.hooks: list[ReceivedHook] = []
        self.status = 200
        self.answer = b"ok"
        self.delay = 0.0
        self.gate: threading.Event | None = None
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._cond:
                    receiver.hooks.append(ReceivedHook(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    receiver._cond.notify_all()
                if receiver.gate is not None:
                    receiver.gate.wait(10)
                if receiver.delay:
                    time.sleep(receiver.delay)
                try:
                    self.send_response(receiver.status)
                    self.send_header("Content-Length", str(len(receiver.answer)))
                    self.end_headers()
                    self.wfile.write(receiver.answer)
                except OSError:  # the fake gave up waiting (timeout) and closed the connection
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), name="webhook-receiver", daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def url(self) -> str:
        """A hook URL template, as a channel registers it."""
        return f"{self.base_url}/amojo/:scope_id"

    def wait(self, count: int, timeout: float = 5.0) -> list[ReceivedHook]:
        """The first ``count`` hooks, waiting (no sleeping) until they have arrived."""
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.hooks) >= count, timeout), f"expected {count} hooks, got {len(self.hooks)}"
            return list(self.hooks[:count])

    def close(self) -> None:
        if self.gate is not None:
            self.gate.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hooks = Receiver()
    yield hooks
    hooks.close()


def free_port() -> int:
    """A port nothing listens on (bound, then released): a webhook receiver that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
