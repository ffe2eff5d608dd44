"""The amoCRM manager: /__mock__/operator/* change the state and send the hooks amojo sends.

Hooks go to a real HTTP receiver on 127.0.0.1; every test runs with state in memory and in
SQLite (reloaded and compared afterwards), like the rest of the suite.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from mock_amojo import Config, ManualClock, create_app
from mock_amojo.errors import SchemaViolation
from mock_amojo.testing._client import AmojoClient
from mock_amojo.testing._inprocess import SyncASGITransport
from mock_amojo.webhooks import WebhookDispatcher
from mock_amojo.wire._signing import verify_webhook
from mock_amojo.wire._validation import load_schemas

from .conftest import START, Fake, Receiver, assert_reloads_equal, text_payload

SCHEMAS = load_schemas()


@pytest.fixture(params=["memory", "sqlite"])
def crm(request: pytest.FixtureRequest, state_file: Path, receiver: Receiver) -> Iterator[Fake]:
    """A connected v2 scope whose channel posts hooks to ``receiver``."""
    config = Config(webhook_url=receiver.url, db=str(state_file) if request.param == "sqlite" else None)
    clock = ManualClock(START)
    app = create_app(config, clock=clock)
    with httpx.Client(transport=SyncASGITransport(app), base_url="https://amojo.amocrm.com") as http:
        fake = Fake(app, config, clock, http, AmojoClient(http, config.channel_id, config.channel_secret, now=clock.now))
        assert fake.amojo.connect(config.account_id, hook_api_version="v2").status_code == 200
        yield fake
    if app.state.store is not None:
        app.state.store.close()
        assert_reloads_equal(app)


def hooks(fake: Fake) -> WebhookDispatcher:
    dispatcher: WebhookDispatcher = fake.app.state.webhooks
    return dispatcher


def client_chat(fake: Fake, conversation_id: str = "conv-1", user_id: str = "user-1") -> str:
    response = fake.amojo.create_chat(conversation_id, {"id": user_id, "name": "Ann", "profile": {"phone": "+7 916 000-11-22"}})
    assert response.status_code == 200
    chat_id: str = response.json()["id"]
    return chat_id


def reply(fake: Fake, **body: Any) -> httpx.Response:
    return fake.http.post("/__mock__/operator/reply", json={"scope_id": fake.scope_id, **body})


def test_reply_is_stored_and_sent_as_a_signed_v2_hook(crm: Fake, receiver: Receiver) -> None:
    chat_id = client_chat(crm)
    response = reply(crm, conversation_id="conv-1", message={"type": "text", "text": "Hello! How can I help?"})
    assert response.status_code == 201
    result = response.json()
    assert result["chat_id"] == chat_id
    assert result["conversation_id"] == "conv-1"

    (hook,) = receiver.wait(1)
    assert hook.path == f"/amojo/{crm.scope_id}"
    assert hook.headers["content-type"] == "application/json"
    assert verify_webhook(crm.config.channel_secret, hook.body, hook.headers["x-signature"])
    body = orjson.loads(hook.body)
    SCHEMAS.validate("webhook_v2_message.json", body)
    assert body["account_id"] == crm.config.account_id
    assert body["time"] == int(START)
    inner = body["message"]
    assert inner["conversation"] == {"id": chat_id, "client_id": "conv-1"}
    assert inner["receiver"]["client_id"] == "user-1"
    assert inner["receiver"]["phone"] == "79160001122"
    assert inner["sender"]["id"] == result["sender_id"]
    assert inner["timestamp"] == int(START)
    assert inner["msec_timestamp"] == int(START * 1000)
    assert inner["message"]["id"] == result["message_id"]
    assert inner["message"]["text"] == "Hello! How can I help?"

    delivery = hooks(crm).wait_for(lambda d: d.message_id == result["message_id"])
    assert delivery.status == "delivered"
    assert delivery.status_code == 200
    assert delivery.raw == hook.body


def test_reply_can_name_the_chat_by_amojo_id(crm: Fake, receiver: Receiver) -> None:
    chat_id = client_chat(crm)
    assert reply(crm, chat_id=chat_id, message={"type": "text", "text": "by id"}).status_code == 201
    assert orjson.loads(receiver.wait(1)[0].body)["message"]["conversation"]["client_id"] == "conv-1"


@pytest.mark.parametrize(
    "message",
    [
        {
            "type": "picture",
            "text": "catalogue",
            "media": "https://cdn.example/p.jpg",
            "thumbnail": "https://cdn.example/p_320.jpg",
            "file_name": "p.jpg",
            "file_size": 2048,
        },
        {"type": "file", "media": "https://cdn.example/price.pdf", "file_name": "price.pdf", "file_size": 90210},
        {
            "type": "video",
            "media": "https://cdn.example/v.mp4",
            "thumbnail": "https://cdn.example/v.jpg",
            "file_name": "v.mp4",
            "file_size": 1,
        },
        {"type": "voice", "media": "https://cdn.example/v.ogg"},
        {"type": "audio", "media": "https://cdn.example/a.mp3"},
        {"type": "location", "location": {"lon": 37.6173, "lat": 55.7558}},
        {"type": "contact", "contact": {"name": "Support", "phone": "+78001234567"}},
        {
            "type": "text",
            "text": "Pick one",
            "markup": {"mode": "inline", "buttons": [[{"text": "A"}, {"text": "Site", "url": "https://example.com"}]]},
        },
        {
            "type": "text",
            "text": "Hi {{lead.name}}",
            "template": {"id": 7103, "content": "Hi {{lead.name}}", "params": [{"key": "{{lead.name}}", "value": "Ann"}]},
        },
    ],
    ids=lambda m: m["type"] + ("-markup" if "markup" in m else "-template" if "template" in m else ""),
)
def test_every_outgoing_type_reaches_the_hook_and_the_history(crm: Fake, receiver: Receiver, message: dict[str, Any]) -> None:
    chat_id = client_chat(crm)
    assert reply(crm, conversation_id="conv-1", message=message).status_code == 201
    body = orjson.loads(receiver.wait(1)[0].body)
    SCHEMAS.validate("webhook_v2_message.json", body)
    sent = body["message"]["message"]
    for name, value in message.items():
        if name not in ("thumbnail",) or message["type"] in ("picture", "video"):
            assert sent[name] == value, name
    history = crm.amojo.history(chat_id).json()
    SCHEMAS.validate("history.response.json", history)
    (item,) = history["messages"]
    assert item["message"]["type"] == message["type"]
    assert item["sender"]["id"] == body["message"]["sender"]["id"]


def test_reply_can_quote_a_message_of_the_chat(crm: Fake, receiver: Receiver) -> None:
    client_chat(crm)
    client_chat(crm, "conv-2", "user-2")
    quoted = crm.amojo.send_message(text_payload("m-1", text="Is the red one in stock?")).json()["new_message"]["msgid"]
    other = crm.amojo.send_message(text_payload("m-2", conversation_id="conv-2", user_id="user-2")).json()["new_message"]["msgid"]
    response = reply(crm, conversation_id="conv-1", message={"type": "text", "text": "Yes"}, reply_to={"message_id": quoted})
    assert response.status_code == 201
    body = orjson.loads(receiver.wait(1)[0].body)
    SCHEMAS.validate("webhook_v2_message.json", body)
    assert body["message"]["message"]["reply_to"] == {
        "message": {"id": quoted, "type": "text", "text": "Is the red one in stock?", "client_id": "m-1"}
    }

    elsewhere = reply(crm, conversation_id="conv-1", message={"type": "text", "text": "x"}, reply_to={"message_id": other})
    assert (elsewhere.status_code, elsewhere.json()["error_type"]) == (400, "INVALID_REFERENCE")
    unknown = reply(crm, conversation_id="conv-1", message={"type": "text", "text": "x"}, reply_to={"message_id": "nope"})
    assert (unknown.status_code, unknown.json()["error_type"]) == (404, "MESSAGE_NOT_FOUND")


def test_reply_is_in_history_and_state_with_its_delivery_status(crm: Fake) -> None:
    chat_id = client_chat(crm)
    result = reply(crm, conversation_id="conv-1", message={"type": "text", "text": "hi"}).json()
    (item,) = crm.amojo.history(chat_id).json()["messages"]
    assert item["delivery_status"] == {"status": "sent", "code": None, "error_code": None, "error": ""}

    assert crm.amojo.delivery_status(result["message_id"], 1).status_code == 200
    assert crm.amojo.delivery_status(result["message_id"], -1, error_code=905, error="Blocked by user").status_code == 200
    (item,) = crm.amojo.history(chat_id).json()["messages"]
    assert item["delivery_status"] == {"status": "error", "code": -1, "error_code": 905, "error": "Blocked by user"}
    (state,) = [m for m in crm.state()["messages"] if m["id"] == result["message_id"]]
    assert [s["status"] for s in state["statuses"]] == ["sent", "delivered", "error"]
    assert state["origin"] == "operator"


def test_write_first_hook_has_no_client_ids_and_the_answer_threads_into_the_chat(crm: Fake, receiver: Receiver) -> None:
    response = crm.http.post(
        "/__mock__/operator/initiate",
        json={
            "scope_id": crm.scope_id,
            "phone": "+7 916 123-45-67",
            "name": "Ivan",
            "message": {"type": "text", "text": "Hello from the CRM"},
        },
    )
    assert response.status_code == 201
    started = response.json()
    body = orjson.loads(receiver.wait(1)[0].body)
    SCHEMAS.validate("webhook_v2_message.json", body)
    inner = body["message"]
    assert "client_id" not in inner["conversation"]
    assert "client_id" not in inner["receiver"]
    assert inner["receiver"]["phone"] == "79161234567"
    assert inner["conversation"]["id"] == started["chat_id"]
    assert inner["receiver"]["id"] == started["receiver_id"]

    answer = text_payload(
        "answer-1",
        conversation_id="wa-ivan",
        user_id="wa-user-ivan",
        conversation_ref_id=inner["conversation"]["id"],
        sender={"id": "wa-user-ivan", "ref_id": inner["receiver"]["id"], "name": "Ivan"},
    )
    sent = crm.amojo.send_message(answer)
    assert sent.status_code == 200, sent.text
    assert sent.json()["new_message"]["conversation_id"] == "wa-ivan"
    history = crm.amojo.history(started["chat_id"]).json()["messages"]
    assert [m["message"]["text"] for m in history] == ["hello", "Hello from the CRM"]
    state = crm.state()
    (chat,) = [c for c in state["chats"] if c["id"] == started["chat_id"]]
    assert chat["conversation_id"] == "wa-ivan"
    assert chat["initiated_by_crm"] is True
    # The manager wrote from an existing lead: the answer opens no new incoming lead.
    assert [lead["chat_id"] for lead in state["leads"]] == [started["chat_id"]]

    # Replies now carry the linked ids.
    assert reply(crm, conversation_id="wa-ivan", message={"type": "text", "text": "Great"}).status_code == 201
    linked = orjson.loads(receiver.wait(2)[1].body)["message"]
    assert linked["conversation"] == {"id": started["chat_id"], "client_id": "wa-ivan"}
    assert linked["receiver"]["client_id"] == "wa-user-ivan"


def test_wrong_ref_ids_in_the_answer_are_refused(crm: Fake) -> None:
    started = crm.http.post(
        "/__mock__/operator/initiate", json={"scope_id": crm.scope_id, "phone": "79161234567", "message": {"type": "text", "text": "Hi"}}
    ).json()
    unknown_chat = text_payload(
        "a1",
        conversation_id="wa-1",
        conversation_ref_id="00000000-dead-beef-0000-000000000000",
        sender={"id": "u", "ref_id": started["receiver_id"], "name": "I"},
    )
    response = crm.amojo.send_message(unknown_chat)
    assert response.status_code == 404
    assert response.json()["error_type"] == "CHAT_NOT_FOUND"

    unknown_user = text_payload(
        "a2", conversation_id="wa-1", conversation_ref_id=started["chat_id"], sender={"id": "u", "ref_id": "nobody", "name": "I"}
    )
    response = crm.amojo.send_message(unknown_user)
    assert response.status_code == 404
    assert response.json()["error_type"] == "USER_NOT_FOUND"

    client_chat(crm)  # another client, user-1
    stranger = text_payload("a3", conversation_id="wa-1", conversation_ref_id=started["chat_id"], user_id="user-1")
    response = crm.amojo.send_message(stranger)
    assert response.status_code == 400
    assert response.json()["error_type"] == "INVALID_REFERENCE"
    # Nothing was linked by the refusals.
    (chat,) = [c for c in crm.state()["chats"] if c["id"] == started["chat_id"]]
    assert chat["conversation_id"] is None


def test_write_first_needs_the_channel_feature(crm: Fake) -> None:
    channel = crm.backend.register_channel(name="no write first", webhook_url=crm.config.webhook_url, write_first=False)
    amojo = AmojoClient(crm.http, channel.id, channel.secret, now=crm.clock.now)
    scope_id = amojo.connect(crm.config.account_id, hook_api_version="v2").json()["scope_id"]
    response = crm.http.post(
        "/__mock__/operator/initiate", json={"scope_id": scope_id, "phone": "79161234567", "message": {"type": "text", "text": "Hi"}}
    )
    assert response.status_code == 403
    assert response.json()["error_type"] == "WRITE_FIRST_DISABLED"


def test_typing_hook_at_most_once_per_five_seconds(crm: Fake, receiver: Receiver) -> None:
    chat_id = client_chat(crm)
    first = crm.http.post("/__mock__/operator/typing", json={"scope_id": crm.scope_id, "conversation_id": "conv-1"}).json()
    body = orjson.loads(receiver.wait(1)[0].body)
    SCHEMAS.validate("webhook_v2_typing.json", body)
    assert body["action"]["typing"]["conversation"] == {"id": chat_id, "client_id": "conv-1"}
    assert body["action"]["typing"]["expired_at"] == int(START) + 5
    assert first["expired_at"] == int(START) + 5

    crm.clock.advance(2)
    again = crm.http.post("/__mock__/operator/typing", json={"scope_id": crm.scope_id, "chat_id": chat_id}).json()
    assert again["delivery"]["status"] == "skipped"
    crm.clock.advance(4)
    later = crm.http.post("/__mock__/operator/typing", json={"scope_id": crm.scope_id, "chat_id": chat_id}).json()
    # Sent in the background: it may already have arrived by the time the call answers (a warm keep-alive connection).
    assert later["delivery"]["status"] in ("pending", "delivered")
    assert len(receiver.wait(2)) == 2


def test_react_and_unreact_hooks(crm: Fake, receiver: Receiver) -> None:
    client_chat(crm)
    incoming = crm.amojo.send_message(text_payload("m-1")).json()["new_message"]["msgid"]
    reacted = crm.http.post("/__mock__/operator/react", json={"scope_id": crm.scope_id, "message_id": incoming, "emoji": "👍"})
    assert reacted.status_code == 200
    assert [r["emoji"] for r in reacted.json()["reactions"]] == ["👍"]
    undone = crm.http.post("/__mock__/operator/react", json={"scope_id": crm.scope_id, "message_id": incoming, "type": "unreact"})
    assert undone.json()["reactions"] == []
    react_hook, unreact_hook = (orjson.loads(h.body) for h in receiver.wait(2))
    for body in (react_hook, unreact_hook):
        SCHEMAS.validate("webhook_v2_reaction.json", body)
        assert body["action"]["reaction"]["msgid"] == incoming
        assert body["action"]["reaction"]["message"]["client_id"] == "m-1"
    assert react_hook["action"]["reaction"]["emoji"] == "👍"
    assert "emoji" not in unreact_hook["action"]["reaction"]
    assert "👍".encode() in receiver.hooks[0].body  # compact UTF-8, not \\u-escaped


@pytest.mark.parametrize(
    ("path", "body", "pointer"),
    [
        ("reply", {"conversation_id": "conv-1", "message": {"type": "text"}}, "/message"),
        ("reply", {"message": {"type": "text", "text": "x"}}, "/"),
        ("reply", {"conversation_id": "conv-1", "message": {"type": "text", "text": "x"}, "faults": {"drop": True}}, "/faults"),
        ("initiate", {"phone": "no digits", "message": {"type": "text", "text": "x"}}, "/phone"),
        ("react", {"message_id": "m"}, "/"),
        ("typing", {"conversation_id": 5}, "/conversation_id"),
    ],
)
def test_bad_operator_bodies_get_schema_violation(crm: Fake, path: str, body: dict[str, Any], pointer: str) -> None:
    response = crm.http.post(f"/__mock__/operator/{path}", json={"scope_id": crm.scope_id, **body})
    assert response.status_code == 400
    error = response.json()
    assert error["error_type"] == "SCHEMA_VIOLATION"
    assert error["detail"]["pointer"].startswith(pointer)


@pytest.mark.parametrize(
    ("body", "status", "error_type"),
    [
        ({"conversation_id": "nope", "message": {"type": "text", "text": "x"}}, 404, "CHAT_NOT_FOUND"),
        ({"conversation_id": "conv-1", "user_id": "not-a-user", "message": {"type": "text", "text": "x"}}, 404, "USER_NOT_FOUND"),
        ({"scope_id": "nope_nope", "conversation_id": "conv-1", "message": {"type": "text", "text": "x"}}, 404, "SCOPE_NOT_FOUND"),
    ],
)
def test_operator_refusals_change_nothing(crm: Fake, body: dict[str, Any], status: int, error_type: str) -> None:
    client_chat(crm)
    before = crm.state()
    response = reply(crm, **body)
    assert response.status_code == status
    assert response.json()["error_type"] == error_type
    assert crm.state() == before
    assert hooks(crm).deliveries() == []


def test_webhooks_endpoint_lists_and_filters_deliveries(crm: Fake, receiver: Receiver) -> None:
    client_chat(crm, "conv-1", "user-1")
    client_chat(crm, "conv-2", "user-2")
    reply(crm, conversation_id="conv-1", message={"type": "text", "text": "one"})
    reply(crm, conversation_id="conv-2", message={"type": "text", "text": "two"})
    hooks(crm).wait_for(lambda d: orjson.loads(d.raw)["message"]["message"]["text"] == "two")
    hooks(crm).flush()
    listing = crm.http.get("/__mock__/webhooks").json()
    assert listing["count"] == 2
    only = crm.http.get("/__mock__/webhooks", params={"scope_id": crm.scope_id, "conversation_id": "conv-2"}).json()["deliveries"]
    assert [d["payload"]["message"]["message"]["text"] for d in only] == ["two"]
    (entry,) = only
    assert entry["status"] == "delivered"
    assert entry["url"] == f"{receiver.base_url}/amojo/{crm.scope_id}"
    assert verify_webhook(crm.config.channel_secret, entry["body"].encode(), entry["headers"]["X-Signature"])
    assert entry["attempted_at"] == START
    assert entry["latency_ms"] >= 0
    assert crm.http.get("/__mock__/webhooks", params={"status": "bogus"}).status_code == 400


def test_api_answers_while_the_receiver_is_still_busy(crm: Fake, receiver: Receiver) -> None:
    """Async mode: the reply returns with the hook pending while the receiver holds the request."""
    receiver.gate = threading.Event()
    client_chat(crm)
    result = reply(crm, conversation_id="conv-1", message={"type": "text", "text": "hi"}).json()
    receiver.wait(1)
    assert result["delivery"]["status"] == "pending"
    assert crm.http.get("/__mock__/health").status_code == 200
    receiver.gate.set()
    assert hooks(crm).wait_for(lambda d: d.id == result["delivery"]["id"]).status == "delivered"


def test_no_hooks_after_disconnect(crm: Fake, receiver: Receiver) -> None:
    client_chat(crm)
    operator = crm.app.state.operator
    assert crm.amojo.disconnect(crm.config.account_id).status_code == 200
    # The scope is gone for the operator too, exactly as for the API.
    response = reply(crm, conversation_id="conv-1", message={"type": "text", "text": "hi"})
    assert response.status_code == 404
    assert operator.dispatcher.deliveries() == []
    assert receiver.hooks == []


def test_python_api_matches_the_control_plane(crm: Fake, receiver: Receiver) -> None:
    client_chat(crm)
    operator = crm.app.state.operator
    result = operator.reply(crm.scope_id, conversation_id="conv-1", message={"type": "text", "text": "from python"})
    assert result["delivery"]["kind"] == "message"
    assert orjson.loads(receiver.wait(1)[0].body)["message"]["message"]["text"] == "from python"
    with pytest.raises(SchemaViolation) as refused:
        operator.reply(crm.scope_id, conversation_id="conv-1", message={"type": "text"})
    assert refused.value.detail["schema"] == "operator_reply.request.json"
