"""Durable state: the same behaviour on both stores, restarts, and kill -9 of a real server."""

from __future__ import annotations

import inspect
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_amojo.config import Config, ConfigError
from mock_amojo.domain import Backend
from mock_amojo.http._app import create_app
from mock_amojo.http._control import state_snapshot
from mock_amojo.testing._client import AmojoClient
from mock_amojo.testing._inprocess import SyncASGITransport

from .conftest import Fake

CONFIG = Config()
CLIENT = {"id": "u-1", "name": "Ann", "profile": {"phone": "+7 915 111-22-33"}}


def incoming(msgid: str, text: str, conversation_id: str = "c-1", **extra: Any) -> dict[str, Any]:
    return {
        "timestamp": 1639609975,
        "msgid": msgid,
        "conversation_id": conversation_id,
        "sender": CLIENT,
        "message": {"type": "text", "text": text},
        **extra,
    }


def messages_by_msgid(backend: Backend) -> dict[str, dict[str, Any]]:
    return {m["msgid"]: m for m in state_snapshot(backend)["messages"]}


# -- one behaviour, two stores (the fake fixture reloads the SQLite file after each) -----


def test_conversation_state(fake: Fake) -> None:
    amojo, backend = fake.amojo, fake.backend
    assert amojo.connect(CONFIG.account_id, hook_api_version="v2").status_code == 200
    chat = amojo.create_chat("c-1", {"id": "u-1", "name": "Ann"}).json()
    first = amojo.send_message(incoming("m-1", "hello")).json()["new_message"]["msgid"]
    amojo.send_message(incoming("m-2", "<b>second</b>", reply_to={"message": {"msgid": "m-1"}}))
    bot = backend.channel(CONFIG.channel_id).bot.id
    out = amojo.send_message(
        {
            "timestamp": 1639609980,
            "msgid": "m-3",
            "conversation_id": "c-1",
            "sender": {"ref_id": bot},
            "receiver": {"id": "u-1", "name": "Ann"},
            "message": {"type": "picture", "media": "https://example.com/a.jpg", "file_name": "a.jpg", "file_size": 10},
        }
    ).json()["new_message"]["msgid"]
    assert amojo.send_message({"id": first, "message": {"type": "text", "text": "hello!"}}, event_type="edit_message").status_code == 200
    assert amojo.delivery_status(out, 1).status_code == 200
    assert amojo.delivery_status(out, -1, error_code=905, error="blocked").status_code == 200
    assert amojo.react({"conversation_id": "c-1", "id": first, "user": {"id": "u-1"}, "type": "react", "emoji": "👍"}).status_code == 200
    assert amojo.typing("c-1", "u-1").status_code == 204

    by_msgid = messages_by_msgid(backend)
    assert by_msgid["m-1"]["message"]["text"] == "hello!"
    assert by_msgid["m-1"]["edits"][0]["previous"]["text"] == "hello"
    assert by_msgid["m-1"]["reactions"][0]["emoji"] == "👍"
    assert [s["status"] for s in by_msgid["m-3"]["statuses"]] == ["sent", "delivered", "error"]
    assert by_msgid["m-3"]["statuses"][-1]["error"] == "blocked"
    state = state_snapshot(backend)
    assert [c["id"] for c in state["chats"]] == [chat["id"]]
    assert state["chats"][0]["typing"] is not None
    assert len(state["leads"]) == 1
    assert state["contacts"][0]["phone"] == "79151112233"


def test_refused_changes_leave_the_same_state(fake: Fake) -> None:
    amojo, backend = fake.amojo, fake.backend
    amojo.connect(CONFIG.account_id)
    assert amojo.send_message(incoming("m-1", "hi")).status_code == 200
    assert amojo.send_message(incoming("m-1", "again")).status_code == 400  # duplicate msgid
    # The new client is created before the unknown conversation_ref_id is noticed: a partial effect.
    other = {**incoming("m-2", "x", "c-2", conversation_ref_id="no-such-chat"), "sender": {"id": "u-2", "name": "Bob"}}
    assert amojo.send_message(other).status_code == 404
    ok = {**incoming("m-3", "y", "c-3"), "sender": {"id": "u-2", "name": "Bob"}}
    assert amojo.send_message(ok).status_code == 200
    assert messages_by_msgid(backend)["m-3"]["sender"]["client_id"] == "u-2"


def test_reset_and_reseed(fake: Fake) -> None:
    amojo, backend = fake.amojo, fake.backend
    amojo.connect(CONFIG.account_id)
    amojo.send_message(incoming("m-1", "hi"))
    bot = backend.channel(CONFIG.channel_id).bot.id
    assert amojo.http.post("/__mock__/reset").status_code == 200
    assert state_snapshot(backend)["messages"] == []
    assert backend.channel(CONFIG.channel_id).bot.id != bot  # a reset channel is a new channel
    amojo.connect(CONFIG.account_id)
    assert amojo.send_message(incoming("m-1", "hi again")).status_code == 200


def test_control_plane_registrations(fake: Fake) -> None:
    amojo, backend = fake.amojo, fake.backend
    created = amojo.http.post("/__mock__/channels", json={"name": "Second"}).json()
    assert amojo.http.post("/__mock__/accounts", json={"name": "Shop", "users": [{"name": "Kate"}]}).status_code == 201
    assert backend.channel(created["id"]).secret == created["secret"]


# -- restarts ---------------------------------------------------------------------------


@pytest.fixture
def client_for() -> Iterator[Callable[[Any], AmojoClient]]:
    """Make in-process clients of apps; all closed after the test."""
    made: list[httpx.Client] = []

    def make(app: Any) -> AmojoClient:
        made.append(httpx.Client(transport=SyncASGITransport(app), base_url="http://amojo"))
        return AmojoClient(made[-1], CONFIG.channel_id, CONFIG.channel_secret)

    yield make
    for http in made:
        http.close()


def test_restart_keeps_state_and_ids_stay_unique(tmp_path: Path, client_for: Callable[[Any], AmojoClient]) -> None:
    config = Config(db=str(tmp_path / "state.sqlite"))
    app = create_app(config)
    amojo = client_for(app)
    amojo.connect(CONFIG.account_id, hook_api_version="v2")
    first = amojo.send_message(incoming("m-1", "before restart")).json()["new_message"]
    before = state_snapshot(app.state.backend)
    app.state.store.close()

    again = create_app(config)
    assert state_snapshot(again.state.backend) == before
    amojo = client_for(again)
    amojo.scope_id = f"{CONFIG.channel_id}_{CONFIG.account_id}"
    assert amojo.send_message(incoming("m-1", "dup")).status_code == 400  # still known after the restart
    second = amojo.send_message(incoming("m-2", "after restart")).json()["new_message"]
    assert second["msgid"] != first["msgid"]
    history = amojo.history(state_snapshot(again.state.backend)["chats"][0]["id"]).json()["messages"]
    assert [m["message"]["text"] for m in history] == ["after restart", "before restart"]
    again.state.store.close()


def test_restart_applies_a_changed_config_and_keeps_the_bot(tmp_path: Path) -> None:
    path = str(tmp_path / "state.sqlite")
    app = create_app(Config(db=path))
    bot = app.state.backend.channel(CONFIG.channel_id).bot.id
    app.state.store.close()
    again = create_app(Config(db=path, webhook_url="http://127.0.0.1:9/hook"))
    channel = again.state.backend.channel(CONFIG.channel_id)
    assert (channel.webhook_url, channel.bot.id) == ("http://127.0.0.1:9/hook", bot)
    again.state.store.close()


def test_restart_keeps_the_start_up_account_as_it_was_left(tmp_path: Path) -> None:
    # Found by the write→read invariant: every start re-registered the account as "Demo account".
    path = str(tmp_path / "state.sqlite")
    app = create_app(Config(db=path))
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://fake") as http:
        renamed = http.post("/__mock__/accounts", json={"amojo_id": CONFIG.account_id, "name": "Renamed"})
    assert renamed.status_code == 201
    app.state.webhooks.close()
    app.state.store.close()
    again = create_app(Config(db=path))
    account = again.state.backend.account(CONFIG.account_id)
    again.state.webhooks.close()
    again.state.store.close()
    assert account is not None and account.name == "Renamed"


def test_a_change_the_disk_refuses_is_not_acknowledged(tmp_path: Path, client_for: Callable[[Any], AmojoClient]) -> None:
    app = create_app(Config(db=str(tmp_path / "state.sqlite")))
    amojo = client_for(app)
    amojo.connect(CONFIG.account_id)
    app.state.store.close()  # the file is gone from under the server
    response = amojo.send_message(incoming("m-1", "lost?"))
    assert response.status_code == 503
    assert response.json()["error_type"] == "STATE_NOT_SAVED"


def test_full_synchronous_mode(tmp_path: Path, client_for: Callable[[Any], AmojoClient]) -> None:
    app = create_app(Config(db=str(tmp_path / "s.sqlite"), db_synchronous="full"))
    assert client_for(app).connect(CONFIG.account_id).status_code == 200
    assert app.state.store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert app.state.store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    app.state.store.close()


def test_unusable_state_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="db: cannot use"):
        create_app(Config(db=str(tmp_path)))  # a directory
    with pytest.raises(ConfigError, match="db_synchronous"):
        Config(db_synchronous="sometimes")


def test_every_public_backend_method_is_a_recorded_change_or_read_only() -> None:
    """A method that changes state but is not a @mutation would be lost on restart."""
    read_only = {"add_seeder", "channel", "channel_for_scope", "chat", "history", "manager", "reset", "scope"}
    # The domain's read API: what readers outside the domain use instead of its collections and lock.
    read_only |= {"account", "all_chats", "channel_list", "channel_secrets", "chat_of", "connected_scopes", "display_names"}
    read_only |= {"find_channel", "find_chat", "find_scope", "lead", "message_named", "scope_of", "snapshot"}
    # amoCRM's REST side: reads and the bearer check.
    read_only |= {"authenticate", "chat_links", "crm_account", "crm_account_by_subdomain", "crm_contacts", "crm_leads", "crm_sources"}
    read_only |= {"crm_snapshot", "crm_talk", "crm_talks", "crm_unsorted", "integration", "integrations"}
    # The clock and id source a test swaps in: what a change draws from them is on its tape.
    # restore re-runs changes already recorded (the durable store's replay).
    not_state = {"use_sources", "restore"}
    public = {name for name, _ in inspect.getmembers(Backend, inspect.isfunction) if not name.startswith("_")}
    unmarked = {name for name in public if not getattr(getattr(Backend, name), "__mutation__", False)}
    assert unmarked == read_only | not_state, "decorate state-changing Backend methods with @mutation (mock_amojo.domain._changes)"


# -- kill -9 of a real server -------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(db: Path, port: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(  # our own CLI, fixed arguments
        [sys.executable, "-m", "mock_amojo", "serve", "--db", str(db), "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/__mock__/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError(f"server did not start: {process.communicate()[0]}")


def test_kill_9_mid_load_loses_no_acknowledged_message(tmp_path: Path) -> None:
    db = tmp_path / "state.sqlite"
    port = free_port()
    server = serve(db, port)
    acknowledged: list[str] = []
    stop = threading.Event()

    def load(worker: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            amojo = AmojoClient(http, CONFIG.channel_id, CONFIG.channel_secret)
            amojo.scope_id = f"{CONFIG.channel_id}_{CONFIG.account_id}"
            n = 0
            while not stop.is_set():
                msgid = f"w{worker}-{n}"
                try:
                    response = amojo.send_message(incoming(msgid, f"load {n}", conversation_id=f"c-{worker}"))
                except httpx.TransportError:
                    return  # the server died with this request in flight: not acknowledged
                if response.status_code == 200:
                    acknowledged.append(msgid)
                n += 1

    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            assert AmojoClient(http, CONFIG.channel_id, CONFIG.channel_secret).connect(CONFIG.account_id).status_code == 200
        workers = [threading.Thread(target=load, args=(w,)) for w in range(4)]
        for worker in workers:
            worker.start()
        while len(acknowledged) < 300:
            time.sleep(0.01)
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
        stop.set()
        for worker in workers:
            worker.join(timeout=10)
    finally:
        stop.set()
        if server.poll() is None:
            server.kill()
            server.wait()
        server.stdout.close()  # type: ignore[union-attr]

    restarted = serve(db, port)
    try:
        state = httpx.get(f"http://127.0.0.1:{port}/__mock__/state").json()
    finally:
        restarted.terminate()
        banner = restarted.communicate(timeout=10)[0]
    assert re.search(rf"state\s+{re.escape(str(db))}\s+\((\d+) changes restored", banner)
    kept = {m["msgid"] for m in state["messages"]}
    assert len(acknowledged) >= 300
    assert set(acknowledged) <= kept
    assert all(re.fullmatch(r"w\d-\d+", m) for m in kept)


def test_one_server_per_state_file(tmp_path: Path) -> None:
    first = create_app(Config(db=str(tmp_path / "state.sqlite")))
    with pytest.raises(ConfigError, match="in use by another mock-amojo"):
        create_app(Config(db=str(tmp_path / "state.sqlite")))
    first.state.store.close()
    create_app(Config(db=str(tmp_path / "state.sqlite"))).state.store.close()  # free again
