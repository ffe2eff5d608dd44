"""Webhook bodies (pure builders vs schemas/) and the dispatcher: signing, one attempt, order, faults.

Deliveries go to a real HTTP receiver on 127.0.0.1 (``receiver`` in conftest).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest

from mock_amojo import Config, ConfigError, ManualClock, SequentialIds, create_app
from mock_amojo.crm._operator import Operator
from mock_amojo.domain import Backend, Scope
from mock_amojo.serve._server import ServerThread
from mock_amojo.testing._inprocess import SyncASGITransport
from mock_amojo.webhooks import (
    Delivery,
    WebhookDispatcher,
    WebhookFaults,
    WebhookTimeout,
    encode_body,
    message_hook_v1,
    message_hook_v2,
    reaction_hook,
    typing_hook,
    webhook_url,
)
from mock_amojo.wire import parse_connect, parse_content, parse_create_chat, parse_disconnect
from mock_amojo.wire._signing import sign_webhook, verify_webhook
from mock_amojo.wire._validation import load_schemas

from .conftest import START, Receiver, free_port

SECRET = "f2d7f8704eff95087ed45b23ba99c0b5aac8278e"
SCHEMAS = load_schemas()
TEXT = {"type": "text", "text": "hi"}


@dataclass
class World:
    backend: Backend
    scope: Scope
    dispatcher: WebhookDispatcher
    operator: Operator

    def reply(self, text: str = "hi", conversation_id: str = "c1", **kwargs: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.operator.reply(
            self.scope.id, conversation_id=conversation_id, message={"type": "text", "text": text}, **kwargs
        )
        return result


def make_world(url: str | None, *, mode: str = "sync", version: str = "v2", timeout: float = 5.0, client: str = "httpx") -> World:
    backend = Backend(clock=ManualClock(START), ids=SequentialIds())
    channel = backend.register_channel(secret=SECRET, webhook_url=url)
    scope = backend.connect(channel.id, parse_connect({"account_id": "acc-1", "hook_api_version": version}))
    for n in (1, 2):
        backend.create_chat(
            scope.id,
            parse_create_chat(
                {"conversation_id": f"c{n}", "user": {"id": f"u{n}", "name": "Ann", "profile": {"phone": "+1 415 742 8548"}}}
            ),
        )
    dispatcher = WebhookDispatcher(backend, timeout=timeout, mode=mode, out_of_order_wait=0.05, client=client)  # type: ignore[arg-type]
    return World(backend, scope, dispatcher, Operator(backend, dispatcher))


@pytest.fixture
def world(receiver: Receiver) -> Iterator[World]:
    built = make_world(receiver.url)
    yield built
    built.dispatcher.close()


#: Async hooks go out through either client (sync ones always through httpx's): both must record the same.
CLIENTS = ["httpx", "lean"]


@pytest.fixture(params=CLIENTS)
def async_world(receiver: Receiver, request: pytest.FixtureRequest) -> Iterator[World]:
    built = make_world(receiver.url, mode="async", client=request.param)
    yield built
    built.dispatcher.close()


def bodies(receiver: Receiver, count: int) -> list[Any]:
    return [orjson.loads(h.body) for h in receiver.wait(count)]


# -- pure builders -------------------------------------------------------------------------

MESSAGES: list[dict[str, Any]] = [
    {"type": "text", "text": "Привет 👍 / ok"},
    {"type": "picture", "text": "cap", "media": "https://x/p.jpg", "thumbnail": "https://x/t.jpg", "file_name": "p.jpg", "file_size": 10},
    {"type": "file", "media": "https://x/f.pdf", "file_name": "f.pdf", "file_size": 99},
    {"type": "video", "media": "https://x/v.mp4", "file_name": "v.mp4", "file_size": 1, "media_group_id": "g-1"},
    {"type": "voice", "media": "https://x/v.ogg"},
    {"type": "audio", "media": "https://x/a.mp3"},
    {"type": "sticker", "media": "https://x/s.webp"},
    {"type": "location", "location": {"lon": 1.5, "lat": -2.25}},
    {"type": "contact", "contact": {"name": "Support", "phone": "+78001234567"}},
    {
        "type": "text",
        "text": "menu",
        "markup": {
            "mode": "inline",
            "list_message": {
                "body": "Pick",
                "button": "Open",
                "sections": [{"title": "A", "rows": [{"callback_data": "1", "title": "One"}]}],
            },
        },
    },
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: m["type"] + ("-list" if "markup" in m else ""))
def test_v2_message_body_validates(message: dict[str, Any]) -> None:
    built = make_world(None)
    sent = built.backend.operator_reply(built.scope.id, conversation_id="c1", message=parse_content(message))
    chat = built.backend.chat_of(sent)
    body = message_hook_v2(built.scope, chat, sent, time=int(START))
    SCHEMAS.validate("webhook_v2_message.json", body)
    inner = body["message"]["message"]
    assert inner["type"] == message["type"]
    assert inner["tag"] == ""
    for name in ("location", "contact", "markup", "media_group_id"):
        assert inner.get(name) == message.get(name)
    assert inner["media"] == message.get("media", "")
    assert isinstance(inner["file_size"], int)


def test_write_first_body_has_no_client_ids_and_carries_the_source() -> None:
    built = make_world(None)
    sent = built.backend.operator_initiate(built.scope.id, phone="+7 916 123-45-67", message=parse_content(TEXT), source="78001234567")
    body = message_hook_v2(built.scope, built.backend.chat_of(sent), sent, time=int(START))
    SCHEMAS.validate("webhook_v2_message.json", body)
    assert body["message"]["conversation"] == {"id": sent.chat_id}
    assert body["message"]["receiver"] == {"id": sent.receiver.id, "phone": "79161234567", "email": ""} if sent.receiver else False
    assert body["message"]["source"] == {"external_id": "78001234567"}


def test_v1_body_is_flat_and_validates() -> None:
    built = make_world(None, version="v1")
    sent = built.backend.operator_reply(built.scope.id, conversation_id="c1", message=parse_content(MESSAGES[1]))
    body = message_hook_v1(built.backend.chat_of(sent), sent)
    SCHEMAS.validate("webhook_v1_message.json", body)
    assert body == {
        "receiver": "u1",
        "conversation_id": "c1",
        "type": "picture",
        "text": "cap",
        "media": "https://x/p.jpg",
        "thumbnail": "https://x/t.jpg",
        "file_name": "p.jpg",
        "file_size": 10,
        "msec_timestamp": int(START * 1000),
    }


def test_typing_and_reaction_bodies_validate() -> None:
    built = make_world(None)
    chat = built.backend.operator_typing(built.scope.id, conversation_id="c1")
    typing = typing_hook(built.scope, chat, "user-x", expired_at=int(START) + 5, time=int(START))
    SCHEMAS.validate("webhook_v2_typing.json", typing)
    sent = built.backend.operator_reply(built.scope.id, conversation_id="c1", message=parse_content(TEXT))
    for kind, emoji in (("react", "😍"), ("unreact", None)):
        body = reaction_hook(built.scope, chat, sent, "user-x", type=kind, emoji=emoji, time=int(START))
        SCHEMAS.validate("webhook_v2_reaction.json", body)
        assert ("emoji" in body["action"]["reaction"]) is (kind == "react")


def test_encoding_is_compact_utf8() -> None:
    assert encode_body({"a": "Привет/👍", "b": [1, 2]}) == '{"a":"Привет/👍","b":[1,2]}'.encode()
    assert webhook_url("http://h/x/:scope_id?s=:scope_id", "c_a") == "http://h/x/c_a?s=c_a"


# -- delivery ------------------------------------------------------------------------------


def test_sync_delivery_is_signed_and_recorded(world: World, receiver: Receiver) -> None:
    result = world.reply("Привет 👍")
    assert result["delivery"]["outcome"] == "delivered"
    (hook,) = receiver.hooks
    assert hook.path == f"/amojo/{world.scope.id}"
    assert hook.headers["content-type"] == "application/json"
    assert hook.headers["x-signature"] == sign_webhook(SECRET, hook.body)
    assert "Привет 👍".encode() in hook.body
    assert b" " not in hook.body.replace("Привет 👍".encode(), b"")
    (delivery,) = world.dispatcher.deliveries(world.scope.id, "c1")
    assert delivery.raw == hook.body
    assert delivery.attempted_at == START
    assert delivery.latency_ms is not None


def test_non_200_is_failed_and_not_retried(async_world: World, receiver: Receiver) -> None:
    receiver.status = 500
    first = async_world.reply("one")
    async_world.reply("two")
    # One lane per chat: a retry of "one" would reach the receiver before "two".
    assert [b["message"]["message"]["text"] for b in bodies(receiver, 2)] == ["one", "two"]
    delivery = async_world.dispatcher.wait_for(lambda d: d.id == first["delivery"]["id"])
    assert delivery.outcome == "failed"
    assert delivery.status_code == 500
    assert "only 200" in delivery.error
    async_world.dispatcher.flush()
    assert len(receiver.hooks) == 2


def test_a_receiver_that_echoes_the_secret_has_it_redacted_from_the_record(world: World, receiver: Receiver) -> None:
    receiver.status = 401
    receiver.answer = f"bad signature: expected HMAC-SHA1({SECRET.upper()}, body)".encode()
    world.reply("hi")
    (delivery,) = world.dispatcher.deliveries(world.scope.id, "c1")
    assert delivery.response_body.startswith("bad signature: expected HMAC-SHA1(<redacted")
    assert SECRET not in orjson.dumps(delivery.as_dict()).decode().lower()


@pytest.mark.parametrize("client", CLIENTS)
def test_receiver_down_is_recorded_as_failed(client: str) -> None:
    built = make_world(f"http://127.0.0.1:{free_port()}/hooks", mode="async", client=client)
    try:
        result = built.reply()
        # Sent in the background (a refused connection can fail within microseconds, even before the call answers).
        assert result["delivery"]["outcome"] in ("pending", "failed")
        delivery = built.dispatcher.wait_for(lambda d: d.id == result["delivery"]["id"])
        assert delivery.outcome == "failed"
        assert delivery.status_code is None
        assert "Connect" in delivery.error
    finally:
        built.dispatcher.close()


@pytest.mark.parametrize("client", CLIENTS)
def test_slow_receiver_times_out_once(receiver: Receiver, client: str) -> None:
    # 1 s: long enough for a loaded CI machine to hand the hook over first.
    built = make_world(receiver.url, mode="async", timeout=1.0, client=client)
    receiver.gate = threading.Event()
    try:
        result = built.reply()
        assert result["delivery"]["outcome"] == "pending"
        delivery = built.dispatcher.wait_for(lambda d: d.id == result["delivery"]["id"])
        assert delivery.outcome == "failed"
        assert delivery.error.startswith("timeout")
        # Once: no second attempt. The receiver saw it at most once (a loaded machine may not have read it in time).
        assert len(built.dispatcher.deliveries()) == 1 and len(receiver.hooks) <= 1
    finally:
        receiver.gate.set()
        built.dispatcher.close()


def test_hooks_of_a_chat_keep_their_order(async_world: World, receiver: Receiver) -> None:
    texts = [f"m{i}" for i in range(25)]
    for text in texts:
        async_world.reply(text)
    assert [b["message"]["message"]["text"] for b in bodies(receiver, len(texts))] == texts
    async_world.dispatcher.flush()
    assert [d.outcome for d in async_world.dispatcher.deliveries()] == ["delivered"] * len(texts)


def test_no_webhook_url_or_v1_limits_are_skipped_with_a_reason(receiver: Receiver) -> None:
    silent = make_world(None)
    assert "no webhook_url" in silent.reply()["delivery"]["error"]
    v1 = make_world(receiver.url, version="v1")
    where = {"type": "location", "location": {"lon": 37.6, "lat": 55.7}}
    location = v1.operator.reply(v1.scope.id, conversation_id="c1", message=where)
    assert location["delivery"]["outcome"] == "skipped"
    assert "v1 has no message type 'location'" in location["delivery"]["error"]
    first = v1.operator.initiate(v1.scope.id, phone="79161234567", message=TEXT)
    assert "chat started from the CRM" in first["delivery"]["error"]
    text = v1.reply("flat")
    assert text["delivery"]["outcome"] == "delivered"
    (hook,) = receiver.hooks
    SCHEMAS.validate("webhook_v1_message.json", orjson.loads(hook.body))


@pytest.mark.parametrize("kind", ["voice", "audio", "sticker"])
def test_v1_scopes_get_voice_audio_and_sticker_hooks(receiver: Receiver, kind: str) -> None:
    """amoCRM's EN webhooks-format page (amocrm.com/developers/content/chats/chat-webhooks, «Webhook v1») lists text,
    file, video, picture, voice, audio and sticker; the RU reference names four. The fake sends the longer list."""
    v1 = make_world(receiver.url, version="v1")
    sent = v1.operator.reply(v1.scope.id, conversation_id="c1", message={"type": kind, "media": f"https://x/{kind}.ogg"})
    assert sent["delivery"]["outcome"] == "delivered"
    (hook,) = receiver.hooks
    body = orjson.loads(hook.body)
    SCHEMAS.validate("webhook_v1_message.json", body)
    assert (body["type"], body["media"], body["conversation_id"]) == (kind, f"https://x/{kind}.ogg", "c1")
    v1.dispatcher.close()
    v1.dispatcher.close()


def test_hooks_queued_before_a_disconnect_are_skipped(async_world: World, receiver: Receiver) -> None:
    receiver.gate = threading.Event()
    async_world.reply("in flight")
    receiver.wait(1)
    queued = async_world.reply("queued")
    async_world.backend.disconnect(async_world.scope.channel_id, parse_disconnect({"account_id": "acc-1"}))
    receiver.gate.set()
    delivery = async_world.dispatcher.wait_for(lambda d: d.id == queued["delivery"]["id"])
    assert delivery.outcome == "skipped"
    assert "disconnected" in delivery.error
    assert len(receiver.hooks) == 1


# -- faults --------------------------------------------------------------------------------


def test_tampered_signature_and_stale_time(world: World, receiver: Receiver) -> None:
    result = world.reply(faults={"tamper_signature": True, "stale_time": 3600})
    (hook,) = receiver.hooks
    assert not verify_webhook(SECRET, hook.body, hook.headers["x-signature"])
    assert orjson.loads(hook.body)["time"] == int(START) - 3600
    assert result["delivery"]["faults"] == ["tamper_signature", "stale_time"]


def test_duplicate_sends_the_same_signed_body_twice(world: World, receiver: Receiver) -> None:
    result = world.reply(faults=WebhookFaults(duplicate=True))
    first, second = receiver.hooks
    assert first.body == second.body
    assert first.headers["x-signature"] == second.headers["x-signature"] == sign_webhook(SECRET, first.body)
    original, copy = world.dispatcher.deliveries()
    assert copy.duplicate_of == original.id == result["delivery"]["id"]


def test_out_of_order_goes_after_the_next_hook_of_the_chat(world: World, receiver: Receiver) -> None:
    held = world.reply("first", faults={"out_of_order": True})
    assert held["delivery"]["outcome"] == "pending"
    assert receiver.hooks == []
    world.reply("second")
    assert [b["message"]["message"]["text"] for b in bodies(receiver, 2)] == ["second", "first"]


def test_out_of_order_hook_alone_is_sent_after_a_wait(async_world: World, receiver: Receiver) -> None:
    async_world.reply("alone", faults={"out_of_order": True, "delay": 0.01})
    delivery = async_world.dispatcher.wait_for(timeout=5)
    assert delivery.outcome == "delivered"
    assert delivery.faults == ["delay", "out_of_order"]


def test_channel_faults_apply_until_cleared(world: World, receiver: Receiver) -> None:
    world.dispatcher.set_faults(WebhookFaults(stale_time=60), world.scope.channel_id)
    world.reply()
    world.dispatcher.clear_faults(world.scope.channel_id)
    world.reply()
    assert [b["time"] for b in bodies(receiver, 2)] == [int(START) - 60, int(START)]


def test_faults_control_plane(receiver: Receiver) -> None:
    config = Config(webhook_url=receiver.url, hook_api_version="v2")
    app = create_app(config, clock=ManualClock(START), webhook_mode="sync")
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://amojo") as http:
        assert http.get("/__mock__/faults").json() == {"faults": {}}
        set_ = http.put("/__mock__/faults", json={"channel_id": config.channel_id, "faults": {"duplicate": True}})
        assert set_.status_code == 200
        assert set_.json()["faults"][config.channel_id]["duplicate"] is True
        assert http.put("/__mock__/faults", json={"channel_id": "nope", "faults": {"duplicate": True}}).status_code == 404
        bad = http.put("/__mock__/faults", json={"faults": {"delay": -1}})
        assert bad.json()["error_type"] == "SCHEMA_VIOLATION"
        assert http.put("/__mock__/faults", json={"faults": {"tamper_signature": True}}).json()["faults"]["*"]["tamper_signature"]
        assert app.state.webhooks.faults_for(config.channel_id).active() == ["duplicate", "tamper_signature"]
        assert http.delete("/__mock__/faults", params={"channel_id": config.channel_id}).json()["faults"].keys() == {"*"}
        assert http.post("/__mock__/reset").status_code == 200
        assert http.get("/__mock__/faults").json() == {"faults": {}}


# -- waiting, listeners, lifecycle ---------------------------------------------------------


def test_wait_for_times_out_with_what_was_recorded(world: World) -> None:
    world.reply()
    with pytest.raises(WebhookTimeout, match="message delivered"):
        world.dispatcher.wait_for(lambda d: d.kind == "typing", timeout=0.01)


def test_listeners_see_every_finished_delivery_even_without_a_receiver() -> None:
    built = make_world(None)
    seen: list[Delivery] = []

    def broken(delivery: Delivery) -> None:
        raise RuntimeError("listener bug")

    built.dispatcher.add_listener(seen.append)
    built.dispatcher.add_listener(broken)
    result = built.reply("captured")
    assert [d.json()["message"]["message"]["text"] for d in seen] == ["captured"]
    assert seen[0].outcome == "skipped"
    assert result["delivery"]["outcome"] == "skipped"
    assert [str(e) for e in built.dispatcher.listener_errors] == ["listener bug"]
    built.dispatcher.remove_listener(seen.append)
    built.reply("unseen")
    assert len(seen) == 1


def test_an_attempts_outcome_is_also_read_under_its_former_name_status(world: World, receiver: Receiver) -> None:
    result = world.reply()
    assert result["delivery"]["outcome"] == result["delivery"]["status"] == "delivered"
    (delivery,) = world.dispatcher.deliveries(outcome="delivered")
    assert delivery.status == delivery.outcome == "delivered"
    assert world.dispatcher.deliveries(status="delivered") == [delivery]
    assert world.dispatcher.deliveries(outcome="failed") == world.dispatcher.deliveries(status="failed") == []


def test_the_webhook_list_filters_by_outcome_or_by_status(receiver: Receiver) -> None:
    config = Config(webhook_url=receiver.url, hook_api_version="v2")
    app = create_app(config, clock=ManualClock(START), webhook_mode="sync")
    scope_id = f"{config.channel_id}_{config.account_id}"
    app.state.backend.connect(config.channel_id, parse_connect({"account_id": config.account_id}))
    app.state.backend.create_chat(scope_id, parse_create_chat({"conversation_id": "c1", "user": {"id": "u1", "name": "Ann"}}))
    app.state.operator.reply(scope_id, conversation_id="c1", message=TEXT)
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://amojo") as http:
        for name in ("outcome", "status"):
            assert http.get("/__mock__/webhooks", params={name: "delivered"}).json()["count"] == 1
            assert http.get("/__mock__/webhooks", params={name: "failed"}).json()["count"] == 0
            bad = http.get("/__mock__/webhooks", params={name: "sent"})
            assert bad.status_code == 400
            assert f"{name}='sent' is not a webhook outcome" in bad.json()["error_description"]


def test_reset_forgets_deliveries(world: World) -> None:
    world.reply()
    world.backend.reset()
    assert world.dispatcher.deliveries() == []


def webhook_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "mock-amojo-webhooks"]


def test_in_process_worker_thread_stops_on_close(async_world: World, receiver: Receiver) -> None:
    async_world.reply()
    async_world.dispatcher.wait_for()
    assert webhook_threads()
    async_world.dispatcher.close()
    assert webhook_threads() == []
    async_world.dispatcher.close()  # idempotent


def test_served_app_sends_from_the_server_loop(receiver: Receiver) -> None:
    config = Config(webhook_url=receiver.url, hook_api_version="v2")
    app = create_app(config, clock=ManualClock(START))
    scope_id = f"{config.channel_id}_{config.account_id}"
    with ServerThread(app) as server:
        backend: Backend = app.state.backend
        backend.connect(config.channel_id, parse_connect({"account_id": config.account_id}))
        backend.create_chat(scope_id, parse_create_chat({"conversation_id": "c1", "user": {"id": "u1", "name": "Ann"}}))
        response = httpx.post(
            f"{server.url}/__mock__/operator/reply", json={"scope_id": scope_id, "conversation_id": "c1", "message": TEXT}, trust_env=False
        )
        assert response.status_code == 201
        assert app.state.webhooks.wait_for().outcome == "delivered"
        assert webhook_threads() == []  # no private thread: the server's loop sent it
    assert app.state.webhooks.deliveries()[0].status == "delivered"


def test_bad_modes_are_refused() -> None:
    with pytest.raises(ValueError, match="async' or 'sync"):
        WebhookDispatcher(Backend(), mode="later")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="webhook_mode"):
        Config(webhook_mode="later")


def test_sync_close_sends_a_still_held_hook(receiver: Receiver) -> None:
    built = make_world(receiver.url)
    held = built.reply("held", faults={"out_of_order": True})
    assert receiver.hooks == []
    built.dispatcher.close()
    assert [b["message"]["message"]["text"] for b in bodies(receiver, 1)] == ["held"]
    assert built.dispatcher.wait_for(lambda d: d.id == held["delivery"]["id"]).outcome == "delivered"


@pytest.mark.parametrize(("mode", "client"), [("sync", "httpx"), ("async", "httpx"), ("async", "lean")])
def test_only_the_start_of_a_receivers_answer_is_kept(receiver: Receiver, mode: str, client: str) -> None:
    receiver.answer = b"x" * 1_000_000
    built = make_world(receiver.url, mode=mode, client=client)
    try:
        result = built.reply()
        delivery = built.dispatcher.wait_for(lambda d: d.id == result["delivery"]["id"])
        assert delivery.outcome == "delivered"
        assert delivery.response_body == "x" * 2048
    finally:
        built.dispatcher.close()


def test_async_code_waits_with_wait_for_async(async_world: World, receiver: Receiver) -> None:
    result = async_world.reply("awaited")
    delivery = asyncio.run(async_world.dispatcher.wait_for_async(lambda d: d.id == result["delivery"]["id"]))
    assert delivery.outcome == "delivered"


def test_wait_for_refuses_to_block_the_sending_loop(async_world: World, receiver: Receiver) -> None:
    def blocking_listener(delivery: Delivery) -> None:
        async_world.dispatcher.wait_for(timeout=0.01)

    async_world.dispatcher.add_listener(blocking_listener)
    async_world.reply()
    async_world.dispatcher.flush()
    assert [type(e) for e in async_world.dispatcher.listener_errors] == [RuntimeError]
    assert "wait_for_async" in str(async_world.dispatcher.listener_errors[0])


@pytest.mark.parametrize("status", [201, 204, 301, 404])
def test_only_200_counts_as_delivered(world: World, receiver: Receiver, status: int) -> None:
    receiver.status = status
    receiver.answer = b"" if status == 204 else b"ok"
    delivery = world.reply()["delivery"]
    assert (delivery["outcome"], delivery["status_code"]) == ("failed", status)
    assert len(receiver.hooks) == 1  # a redirect is not followed, nothing is retried


def test_mode_can_switch_to_async_on_a_served_app(receiver: Receiver) -> None:
    config = Config(webhook_url=receiver.url, hook_api_version="v2")
    app = create_app(config, clock=ManualClock(START), webhook_mode="sync")
    scope_id = f"{config.channel_id}_{config.account_id}"
    with ServerThread(app):
        backend: Backend = app.state.backend
        backend.connect(config.channel_id, parse_connect({"account_id": config.account_id}))
        backend.create_chat(scope_id, parse_create_chat({"conversation_id": "c1", "user": {"id": "u1", "name": "Ann"}}))
        app.state.webhooks.mode = "async"
        app.state.operator.reply(scope_id, conversation_id="c1", message=TEXT)
        assert app.state.webhooks.wait_for().outcome == "delivered"
        assert webhook_threads() == []  # sent from the server's loop, not a private worker


# -- which client sends: an explicit choice, never a guess -------------------------------------


@pytest.mark.parametrize("served", [False, True], ids=["in-process", "ServerThread"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_hooks_of_a_fake_in_a_test_go_through_httpx_so_respx_mocks_see_them(mode: str, served: bool) -> None:
    import respx

    config = Config(webhook_url="http://receiver.test/hooks/:scope_id", hook_api_version="v2")
    app = create_app(config, clock=ManualClock(START), webhook_mode=mode)  # type: ignore[arg-type]
    scope_id = f"{config.channel_id}_{config.account_id}"
    server = ServerThread(app).start() if served else None
    try:
        with respx.mock(assert_all_called=True) as mock:
            route = mock.post(f"http://receiver.test/hooks/{scope_id}").respond(200, text="ok")
            app.state.backend.connect(config.channel_id, parse_connect({"account_id": config.account_id}))
            app.state.backend.create_chat(scope_id, parse_create_chat({"conversation_id": "c1", "user": {"id": "u1", "name": "Ann"}}))
            sent = app.state.operator.reply(scope_id, conversation_id="c1", message=TEXT)
            delivery = app.state.webhooks.wait_for(lambda d: d.id == sent["delivery"]["id"])
            assert (delivery.outcome, delivery.response_body) == ("delivered", "ok")
            (call,) = route.calls
            assert call.request.content == delivery.raw
            assert call.request.headers["x-signature"] == sign_webhook(config.channel_secret, delivery.raw)
    finally:
        if server is not None:
            server.stop()
        app.state.webhooks.close()


def test_the_lean_client_is_chosen_explicitly_and_nothing_patched_in_httpx_changes_it(receiver: Receiver) -> None:
    import respx

    config = Config(webhook_url=receiver.url, hook_api_version="v2", webhook_client="lean")
    app = create_app(config, clock=ManualClock(START))
    scope_id = f"{config.channel_id}_{config.account_id}"
    try:
        with respx.mock(assert_all_called=False) as mock:
            trap = mock.route().respond(500)  # would catch the hook if it went through httpx
            app.state.backend.connect(config.channel_id, parse_connect({"account_id": config.account_id}))
            app.state.backend.create_chat(scope_id, parse_create_chat({"conversation_id": "c1", "user": {"id": "u1", "name": "Ann"}}))
            sent = app.state.operator.reply(scope_id, conversation_id="c1", message=TEXT)
            assert app.state.webhooks.wait_for(lambda d: d.id == sent["delivery"]["id"]).outcome == "delivered"
            assert not trap.called
        (hook,) = receiver.hooks
        assert hook.headers["user-agent"] == "mock-amojo-webhooks"
    finally:
        app.state.webhooks.close()


def test_the_webhook_client_setting_is_checked_and_auto_is_resolved_in_one_place(tmp_path: Any) -> None:
    from mock_amojo.config import load_config
    from mock_amojo.webhooks import choose_client

    assert Config().webhook_client == "auto"
    assert load_config(env={"MOCK_AMOJO_WEBHOOK_CLIENT": "lean"}).webhook_client == "lean"
    toml = tmp_path / "mock-amojo.toml"
    toml.write_text('webhook-client = "httpx"\n', encoding="utf-8")
    assert load_config(file=toml).webhook_client == "httpx"
    with pytest.raises(ConfigError, match="webhook_client: auto, lean or httpx, got 'fast'"):
        load_config(overrides={"webhook_client": "fast"})
    assert [choose_client(s, serve=True) for s in ("auto", "lean", "httpx")] == ["lean", "lean", "httpx"]
    assert [choose_client(s, serve=False) for s in ("auto", "lean", "httpx")] == ["httpx", "lean", "httpx"]
    assert create_app().state.webhooks.client == "httpx"
    with pytest.raises(ValueError, match="'lean' or 'httpx'"):
        WebhookDispatcher(Backend(), client="requests")  # type: ignore[arg-type]


def test_serving_does_not_import_httpx() -> None:
    # A fifth of `mock-amojo serve`'s start-up was importing httpx for hooks the lean client sends.
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from mock_amojo.http._app import create_app\n"
        "import mock_amojo.cli\n"
        "create_app()\n"
        "print(sorted(m for m in ('httpx', 'httpcore') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/hooks", "http://[::1/hooks"])
def test_a_webhook_url_no_client_can_use_still_ends_as_a_failed_attempt(mode: str, client: str, url: str) -> None:
    # Both URLs start with http:// and were taken; the hook then stayed pending forever (async) or raised out of the reply (sync).
    built = make_world(url, mode=mode, client=client)
    try:
        result = built.reply()
        delivery = built.dispatcher.wait_for(lambda d: d.id == result["delivery"]["id"], timeout=5)
        assert delivery.outcome == "failed"
        assert delivery.error
    finally:
        built.dispatcher.close()
