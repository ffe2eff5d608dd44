"""Shared fixtures: an in-process fake on a manual clock, and a signed client for it.

``fake`` runs every test twice: state in memory, and state in SQLite (``--db``). With
SQLite the state file is reopened after the test and the reloaded state must equal the
live one, so every scenario in the suite doubles as a persistence test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from mock_amojo import Config, ManualClock, create_app
from mock_amojo.client import AmojoClient
from mock_amojo.control import state_snapshot
from mock_amojo.inprocess import SyncASGITransport
from mock_amojo.models import Backend

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


@pytest.fixture(params=["memory", "sqlite"])
def fake(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Fake]:
    config = Config(db=str(tmp_path / "state.sqlite") if request.param == "sqlite" else None)
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
