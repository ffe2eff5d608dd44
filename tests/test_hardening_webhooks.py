"""Hardening of outgoing webhooks: slow, dead and hanging receivers never slow the API,
deliveries fail after the timeout, and 10k deliveries leave no task, lane, thread or memory behind.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from mock_amojo import Config, create_app, sign_request
from mock_amojo.serve._server import ServerThread
from mock_amojo.webhooks import WebhookDispatcher
from mock_amojo.wire import parse_connect, parse_create_chat

from .conftest import Receiver, free_port

PREFIX = "/v2/origin/custom"
TEXT = {"type": "text", "text": "Your order has shipped"}


class FastReceiver:
    """A minimal keep-alive HTTP/1.1 receiver on raw asyncio (far lighter than a threaded server): answers
    every POST with ``status`` — or never, when ``hang`` is set."""

    def __init__(self) -> None:
        self.status = 200
        self.hang = False
        self.count = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fast-receiver", daemon=True)
        self._thread.start()
        ready.wait(5)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/hooks/:scope_id"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line[15:]) for line in head.split(b"\r\n") if line[:15].lower() == b"content-length:"), 0)
                await reader.readexactly(length)
                self.count += 1
                if self.hang:
                    await reader.read()  # until the fake gives up and closes
                    return
                writer.write(b"HTTP/1.1 %d X\r\nContent-Length: 2\r\n\r\nok" % self.status)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def close(self) -> None:
        async def shut() -> None:
            assert self._server is not None
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(shut(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


@pytest.fixture
def fast_receiver() -> Iterator[FastReceiver]:
    hooks = FastReceiver()
    yield hooks
    hooks.close()


def _incoming(msgid: str, conversation: str) -> bytes:
    payload = {
        "timestamp": 1_764_000_000,
        "msgid": msgid,
        "conversation_id": conversation,
        "sender": {"id": f"user-{conversation}", "name": "Client"},
        "message": {"type": "text", "text": "hello"},
    }
    return orjson.dumps({"event_type": "new_message", "payload": payload})


def _signed_post(http: httpx.Client, config: Config, path: str, body: bytes) -> httpx.Response:
    return http.post(path, content=body, headers=sign_request(config.channel_secret, "POST", path, body))


# Both clients: httpx is what a fake in a test sends with, lean what `mock-amojo serve` sends with.
CLIENTS = pytest.mark.parametrize("client", ["lean", "httpx"])


@CLIENTS
def test_a_receiver_that_hangs_never_holds_up_the_api(receiver: Receiver, client: str) -> None:
    """While every hook hangs in the receiver, replies and amojo calls keep being answered; then hooks fail on timeout."""
    receiver.gate = threading.Event()  # the receiver holds every hook until the test lets go
    config = Config(webhook_url=receiver.url, hook_api_version="v2", webhook_timeout=30, webhook_client=client)
    app = create_app(config)
    scope_id = f"{config.channel_id}_{config.account_id}"
    dispatcher: WebhookDispatcher = app.state.webhooks
    with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=10, trust_env=False) as http:
        connect = f"{PREFIX}/{config.channel_id}/connect"
        assert _signed_post(http, config, connect, orjson.dumps({"account_id": config.account_id})).status_code == 200
        for chat in range(10):
            assert _signed_post(http, config, f"{PREFIX}/{scope_id}", _incoming(f"first-{chat}", f"c{chat}")).status_code == 200
        replies = []
        for n in range(40):
            answer = http.post("/__mock__/operator/reply", json={"scope_id": scope_id, "conversation_id": f"c{n % 10}", "message": TEXT})
            assert answer.status_code == 201
            replies.append(answer.json()["delivery"]["id"])
        # The API keeps answering while all 40 hooks are stuck in the receiver.
        for n in range(60):
            assert _signed_post(http, config, f"{PREFIX}/{scope_id}", _incoming(f"more-{n}", f"c{n % 10}")).status_code == 200
        receiver.wait(10)  # one hook per chat reached the receiver and hangs there (the others queue behind it, in order)
        pending = [d for d in dispatcher.deliveries() if d.id in replies and d.outcome == "pending"]
        assert len(pending) == 40
        receiver.gate.set()
        dispatcher.flush(timeout=20)
    assert {d.outcome for d in dispatcher.deliveries() if d.id in replies} == {"delivered"}
    assert app.state.backend.server_errors == []


@CLIENTS
def test_hanging_and_dead_receivers_end_as_failed_after_the_timeout(receiver: Receiver, client: str) -> None:
    receiver.gate = threading.Event()
    config = Config(webhook_url=receiver.url, hook_api_version="v2", webhook_timeout=0.2, webhook_client=client)
    app = create_app(config)
    backend = app.state.backend
    scope_id = f"{config.channel_id}_{config.account_id}"
    try:
        backend.connect(config.channel_id, parse_connect({"account_id": config.account_id}))
        for chat in range(5):
            backend.create_chat(scope_id, parse_create_chat({"conversation_id": f"c{chat}", "user": {"id": f"u{chat}", "name": "Ann"}}))
        hung = [app.state.operator.reply(scope_id, conversation_id=f"c{n % 5}", message=TEXT)["delivery"]["id"] for n in range(10)]
        dispatcher: WebhookDispatcher = app.state.webhooks
        dispatcher.flush(timeout=10)
        for delivery in dispatcher.deliveries():
            assert delivery.id in hung
            assert delivery.outcome == "failed" and delivery.error.startswith("timeout"), delivery
        # A receiver that is down: the connection is refused, the hook fails at once, no retry.
        backend.set_webhook_url(config.channel_id, f"http://127.0.0.1:{free_port()}/hooks")
        dead = app.state.operator.reply(scope_id, conversation_id="c0", message=TEXT)["delivery"]["id"]
        delivery = dispatcher.wait_for(lambda d: d.id == dead)
        assert delivery.outcome == "failed" and "Connect" in delivery.error
    finally:
        receiver.gate.set()
        app.state.webhooks.close()


def _loop_tasks(dispatcher: WebhookDispatcher) -> int:
    loop = dispatcher._sending.loop
    if loop is None:
        return 0

    async def count() -> int:
        return len(asyncio.all_tasks()) - 1  # not this one

    return asyncio.run_coroutine_threadsafe(count(), loop).result(5)


def test_ten_thousand_deliveries_leave_no_tasks_lanes_threads_or_memory(fast_receiver: FastReceiver) -> None:
    """5 rounds × 2,000 replies over 50 chats (delivered, refused with 500, and to a dead port), reset between rounds."""
    receiver = fast_receiver
    # The lean client: this is the load `mock-amojo serve` carries.
    config = Config(webhook_url=receiver.url, hook_api_version="v2", webhook_timeout=5, journal_size=1000, webhook_client="lean")
    app = create_app(config)
    backend = app.state.backend
    dispatcher: WebhookDispatcher = app.state.webhooks
    scope_id = f"{config.channel_id}_{config.account_id}"
    dead_url = f"http://127.0.0.1:{free_port()}/hooks"
    samples: list[tuple[int, int, int, int]] = []
    try:
        for round_ in range(5):
            backend.reset()
            backend.connect(config.channel_id, parse_connect({"account_id": config.account_id}))
            for chat in range(50):
                backend.create_chat(scope_id, parse_create_chat({"conversation_id": f"c{chat}", "user": {"id": f"u{chat}", "name": "Ann"}}))
            receiver.status = 500 if round_ == 1 else 200
            backend.set_webhook_url(config.channel_id, dead_url if round_ == 2 else receiver.url)
            for n in range(2000):
                app.state.operator.reply(scope_id, conversation_id=f"c{n % 50}", message=TEXT)
            dispatcher.flush(timeout=60)
            outcomes: dict[str, int] = {}
            for delivery in dispatcher.deliveries():
                outcomes[delivery.outcome] = outcomes.get(delivery.outcome, 0) + 1
            assert sum(outcomes.values()) == 1000  # bounded by max_deliveries, oldest dropped
            errors = {d.error for d in dispatcher.deliveries() if d.outcome == "failed"}
            assert set(outcomes) == {"failed" if round_ in (1, 2) else "delivered"}, (outcomes, errors)
            gc.collect()
            samples.append((_loop_tasks(dispatcher), len(dispatcher._sending.lanes), threading.active_count(), len(gc.get_objects())))
    finally:
        dispatcher.close()
    tasks, lanes, threads, objects = zip(*samples, strict=True)
    assert set(tasks) == {0}, samples  # every lane's drain task finished
    assert set(lanes) == {0}, samples
    assert max(threads) == min(threads), samples
    # Every round ends holding the same state (reset in between): live objects must not climb with deliveries.
    assert max(objects[1:]) - min(objects[1:]) < min(objects) * 0.02, samples
    assert backend.server_errors == []
    assert receiver.count >= 8000  # the receiver really got the hooks (round 3 went to a dead port)


def test_many_chats_with_a_hanging_receiver_stay_bounded(fast_receiver: FastReceiver) -> None:
    """500 chats each with a hook stuck at once: every one still ends (timeout), lanes and tasks drain."""
    fast_receiver.hang = True
    config = Config(webhook_url=fast_receiver.url, hook_api_version="v2", webhook_timeout=0.5, webhook_client="lean")
    app = create_app(config)
    backend = app.state.backend
    scope_id = f"{config.channel_id}_{config.account_id}"
    dispatcher: WebhookDispatcher = app.state.webhooks
    try:
        backend.connect(config.channel_id, parse_connect({"account_id": config.account_id}))
        ids: list[Any] = []
        for chat in range(500):
            backend.create_chat(scope_id, parse_create_chat({"conversation_id": f"c{chat}", "user": {"id": f"u{chat}", "name": "Ann"}}))
            ids.append(app.state.operator.reply(scope_id, conversation_id=f"c{chat}", message=TEXT)["delivery"]["id"])
        dispatcher.flush(timeout=30)
        assert {d.outcome for d in dispatcher.deliveries()} == {"failed"}
        assert len(dispatcher.deliveries()) == 500
        assert _loop_tasks(dispatcher) == 0 and dispatcher._sending.lanes == {}
    finally:
        dispatcher.close()
