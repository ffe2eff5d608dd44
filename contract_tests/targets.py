"""Where the contract suite points: the fake in process, the fake served, or real amojo.

Only this module (used by ``conftest.py``) knows how a target is built; the tests speak
HTTP to whatever it hands them. On the fake, every test gets a channel and an account
of its own (registered through the ``/__mock__`` control plane), so tests never share
state; on live amojo they share the configured channel and use unique ids instead.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from .wire import Channel

__all__ = ["LIVE_ENV", "TARGETS", "Target", "TargetUnavailable", "live_target", "open_target"]

TARGETS = ("inprocess", "served", "live")
LIVE_ENV = ("AMOJO_CHANNEL_ID", "AMOJO_CHANNEL_SECRET", "AMOJO_ACCOUNT_ID")
DEFAULT_LIVE_URL = "https://amojo.amocrm.ru"
_SERVE_START_TIMEOUT = 20.0


class TargetUnavailable(Exception):
    """The target cannot run here (e.g. live credentials absent); the message says why."""


@dataclass
class Target:
    """An amojo to test: an HTTP client at its base URL, plus how to get a fresh channel."""

    name: str
    http: httpx.Client
    #: The fake's control plane (``/__mock__``), or None on real amojo.
    control: httpx.Client | None
    live_channel: Channel | None = None
    #: URL of a webhook receiver the live channel is registered with (AMOJO_RECEIVER_URL).
    receiver_url: str | None = None
    #: Where the suite's receiver listens on live runs (AMOJO_RECEIVER_LISTEN, host:port).
    receiver_listen: tuple[str, int] = ("127.0.0.1", 0)
    #: Seconds a live run waits for a human manager's action.
    manager_wait: float = 10.0
    _closers: list[Any] = field(default_factory=list)

    @property
    def is_fake(self) -> bool:
        return self.control is not None

    def new_channel(self, *, webhook_url: str | None = None, **options: Any) -> Channel:
        """A channel for one test: freshly registered on the fake, the configured one on live."""
        if self.control is None:
            assert self.live_channel is not None
            return self.live_channel
        channel_id = str(uuid.uuid4())
        secret = secrets.token_hex(20)
        account_id = str(uuid.uuid4())
        operator_id = str(uuid.uuid4())
        name = f"contract {channel_id[:8]}"
        body: dict[str, Any] = {"id": channel_id, "secret": secret, "name": name, **options}
        if webhook_url is not None:
            body["webhook_url"] = webhook_url
        if body.get("strict"):
            body.setdefault("allowed_accounts", [account_id])
        response = self.control.post("/__mock__/channels", json=body)
        if response.status_code != 201:
            raise AssertionError(f"registering a channel failed: {response.status_code} {response.text}")
        account = {"amojo_id": account_id, "name": "Contract account", "users": [{"amojo_id": operator_id, "name": "Operator"}]}
        response = self.control.post("/__mock__/accounts", json=account)
        if response.status_code != 201:
            raise AssertionError(f"registering an account failed: {response.status_code} {response.text}")
        return Channel(channel_id, secret, account_id, name=name, operator_id=operator_id)

    # -- the CRM manager's side (webhooks) ------------------------------------------------

    def manager(self, action: str, channel: Channel, instruction: str, **fields: Any) -> dict[str, Any]:
        """Act as a CRM manager: the fake's ``/__mock__/operator/{action}``, or ask a human on live amojo."""
        if self.control is None:
            print(f"\n[contract suite] In amoCRM (account {channel.account_id}): {instruction}", flush=True)
            return {}
        response = self.control.post(f"/__mock__/operator/{action}", json={"scope_id": channel.scope_id, **fields})
        if response.status_code not in (200, 201):
            raise AssertionError(f"operator {action} failed: {response.status_code} {response.text}")
        result: dict[str, Any] = response.json()
        return result

    def state(self, scope_id: str) -> dict[str, Any]:
        """What the fake's CRM holds for a scope (chats, messages, statuses, leads)."""
        assert self.control is not None, "state is only observable on the fake"
        response = self.control.get("/__mock__/state", params={"scope_id": scope_id})
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    def close(self) -> None:
        for closer in reversed(self._closers):
            closer()
        self._closers.clear()


def _inprocess() -> Target:
    from mock_amojo import create_app
    from mock_amojo.testing._inprocess import SyncASGITransport

    http = httpx.Client(transport=SyncASGITransport(create_app()), base_url="http://amojo.test")
    target = Target("inprocess", http, http)
    target._closers.append(http.close)
    return target


def _serve_command() -> list[str]:
    script = shutil.which("mock-amojo", path=os.path.dirname(sys.executable)) or shutil.which("mock-amojo")
    base = [script] if script else [sys.executable, "-m", "mock_amojo"]
    return [*base, "serve", "--host", "127.0.0.1", "--port", "0", "--log-level", "warning"]


def _served() -> Target:
    """A real ``mock-amojo serve`` process on a free port of 127.0.0.1; its banner names the port."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCK_AMOJO_")}
    env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(  # noqa: S603  # our own CLI, fixed arguments
        _serve_command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True
    )
    base_url: list[str] = []
    seen: list[str] = []
    found = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            if not base_url and " — fake amojo at " in line:
                base_url.append(line.rsplit(" at ", 1)[1].strip())
                found.set()
        found.set()

    reader = threading.Thread(target=read, name="mock-amojo-serve-output", daemon=True)
    reader.start()

    def stop() -> None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=5)
        if process.stdout is not None:
            process.stdout.close()

    if not found.wait(_SERVE_START_TIMEOUT) or not base_url:
        stop()
        raise TargetUnavailable("`mock-amojo serve` did not start:\n" + "".join(seen[-20:]))
    http = httpx.Client(base_url=base_url[0], timeout=10.0)
    deadline = time.monotonic() + _SERVE_START_TIMEOUT
    while True:
        try:
            if http.get("/__mock__/health").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            http.close()
            stop()
            raise TargetUnavailable(f"`mock-amojo serve` at {base_url[0]} never answered /__mock__/health")
        time.sleep(0.05)
    target = Target("served", http, http)
    target._closers += [stop, http.close]
    return target


def live_target(env: Mapping[str, str]) -> Target:
    """Real amojo from ``AMOJO_*`` env vars; :class:`TargetUnavailable` names what is missing."""
    missing = [name for name in LIVE_ENV if not env.get(name)]
    if missing:
        raise TargetUnavailable(
            f"live target needs {', '.join(missing)} (a registered channel's id and secret and a connected account's amojo_id); "
            "see docs/contract-suite.md"
        )
    channel = Channel(
        env["AMOJO_CHANNEL_ID"],
        env["AMOJO_CHANNEL_SECRET"],
        env["AMOJO_ACCOUNT_ID"],
        operator_id=env.get("AMOJO_OPERATOR_ID") or None,
    )
    http = httpx.Client(base_url=env.get("AMOJO_BASE_URL") or DEFAULT_LIVE_URL, timeout=30.0)
    host, _, port = (env.get("AMOJO_RECEIVER_LISTEN") or "127.0.0.1:8765").rpartition(":")
    target = Target(
        "live",
        http,
        None,
        live_channel=channel,
        receiver_url=env.get("AMOJO_RECEIVER_URL") or None,
        receiver_listen=(host or "127.0.0.1", int(port)),
        manager_wait=float(env.get("AMOJO_MANAGER_WAIT") or 180),
    )
    target._closers.append(http.close)
    return target


def open_target(name: str, env: Mapping[str, str] | None = None) -> Target:
    if name == "inprocess":
        return _inprocess()
    if name == "served":
        return _served()
    if name == "live":
        return live_target(os.environ if env is None else env)
    raise TargetUnavailable(f"unknown target {name!r}; choose from {', '.join(TARGETS)}")
