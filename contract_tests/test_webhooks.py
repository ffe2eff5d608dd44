"""§4 Webhooks amojo sends to the integration: URL, signature, v2/v1 bodies, write-first, typing, reactions.

These rules need the CRM manager's side: on the fake the suite acts as the manager through
``/__mock__/operator/*``; on live amojo a person does what the suite prints, and hooks must
reach the suite's receiver (``AMOJO_RECEIVER_LISTEN``), so they are skipped unless
``AMOJO_RECEIVER_URL`` says one is set up.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from .expect import expect_empty, expect_json, schema_errors
from .manager import Hooked, hooked_channel
from .receiver import Receiver
from .targets import Target
from .wire import Wire, new_id, webhook_signature

rule = pytest.mark.rule
pytestmark = pytest.mark.manager_side

MEDIA: dict[str, dict[str, Any]] = {
    "text": {"type": "text", "text": "Hello from the CRM"},
    "picture": {"type": "picture", "text": "", "media": "https://example.com/a.jpg", "file_name": "a.jpg", "file_size": 1024},
    "file": {"type": "file", "media": "https://example.com/a.pdf", "file_name": "a.pdf", "file_size": 2048},
    "video": {"type": "video", "media": "https://example.com/a.mp4", "file_name": "a.mp4", "file_size": 4096},
    "voice": {"type": "voice", "media": "https://example.com/a.ogg"},
    "audio": {"type": "audio", "media": "https://example.com/a.mp3"},
    "sticker": {"type": "sticker", "media": "https://example.com/a.webp"},
}


def open_chat(hooked: Hooked) -> tuple[str, str, str]:
    """A chat the client started: (conversation_id, user_id, amojo message id of the client's message)."""
    conversation, user = new_id("conv"), new_id("user")
    sent = expect_json(hooked.wire.incoming(conversation, user, text="Hi, I have a question"), 200)
    return conversation, user, sent["new_message"]["msgid"]


def reply(hooked: Hooked, conversation: str, message: dict[str, Any]) -> dict[str, Any]:
    return hooked.target.manager(
        "reply",
        hooked.wire.channel,
        f"reply {message.get('text') or message['type']!r} in the chat {conversation}",
        conversation_id=conversation,
        message=message,
    )


def body_of(hooked: Hooked, index: int = 0, count: int = 1) -> dict[str, Any]:
    hook = hooked.wait(count)[index]
    body: dict[str, Any] = hook.json()
    return body


@rule("§4", evidence="doc")
def test_reply_hook_is_posted_to_the_scope_url_signed_over_the_raw_body(hooked: Hooked) -> None:
    """POST to the channel's URL with :scope_id replaced; X-Signature = hex HMAC-SHA1(secret, raw body)."""
    conversation, _, _ = open_chat(hooked)
    reply(hooked, conversation, MEDIA["text"])
    (hook,) = hooked.wait()
    if hooked.target.is_fake:
        assert hook.path == hooked.prefix
    assert hook.headers["x-signature"] == webhook_signature(hooked.wire.channel.secret, hook.raw)
    assert hook.headers["content-type"].startswith("application/json")


@rule("§4.1", evidence="doc")
def test_v2_reply_hook_carries_amojo_and_integration_ids(hooked: Hooked) -> None:
    """Webhook v2.0: account_id, time, and message {receiver.client_id, conversation {id, client_id}, message {id, type, text}}."""
    conversation, user, _ = open_chat(hooked)
    reply(hooked, conversation, MEDIA["text"])
    body = body_of(hooked)
    assert not schema_errors("webhook_v2_message.json", body), schema_errors("webhook_v2_message.json", body)
    assert body["account_id"] == hooked.wire.channel.account_id
    message = body["message"]
    assert message["conversation"]["client_id"] == conversation
    assert message["receiver"]["client_id"] == user
    assert message["message"]["type"] == "text"
    assert message["message"]["text"] == MEDIA["text"]["text"]
    assert message["conversation"]["id"] == hooked.wire.chat_id(conversation, user)


@rule("§4.1", evidence="doc")
@pytest.mark.parametrize("kind", list(MEDIA))
def test_every_message_type_has_its_hook(hooked: Hooked, kind: str) -> None:
    """text, picture, file, video, voice, audio, sticker: type and media carried; text may be empty for media."""
    conversation, _, _ = open_chat(hooked)
    reply(hooked, conversation, MEDIA[kind])
    body = body_of(hooked)
    assert not schema_errors("webhook_v2_message.json", body), schema_errors("webhook_v2_message.json", body)
    content = body["message"]["message"]
    assert content["type"] == kind
    if kind != "text":
        assert content["media"] == MEDIA[kind]["media"]


@rule("§4.5", evidence="doc")
def test_v1_connection_gets_the_flat_v1_hook(target: Target, receiver_server: Receiver) -> None:
    """Connected with hook_api_version v1: flat body {receiver, conversation_id, type, text, ...}, no account_id."""
    hooked = hooked_channel(target, receiver_server, "v1")
    conversation, user, _ = open_chat(hooked)
    reply(hooked, conversation, MEDIA["text"])
    body = body_of(hooked)
    assert not schema_errors("webhook_v1_message.json", body), schema_errors("webhook_v1_message.json", body)
    assert (body["receiver"], body["conversation_id"], body["text"]) == (user, conversation, MEDIA["text"]["text"])
    assert "account_id" not in body


@rule("§4.2", evidence="doc")
def test_write_first_hook_has_no_client_id_and_the_answer_links_the_chat(hooked: Hooked) -> None:
    """A CRM-initiated chat's hook lacks conversation.client_id; the client's answer with conversation_ref_id and sender.ref_id links it."""
    hooked.target.manager(
        "initiate",
        hooked.wire.channel,
        "start a chat ('write first') to +7 916 123-45-67",
        phone="+7 916 123-45-67",
        name="New client",
        message={"type": "text", "text": "Hello, we are writing first"},
    )
    body = body_of(hooked)
    message = body["message"]
    assert "client_id" not in message["conversation"]
    assert message["receiver"]["phone"] == "79161234567"
    conversation, user = new_id("conv"), new_id("user")
    answer = hooked.wire.incoming(
        conversation,
        user,
        text="Thanks, got it",
        conversation_ref_id=message["conversation"]["id"],
        sender={"id": user, "ref_id": message["receiver"]["id"], "name": "New client"},
    )
    expect_json(answer, 200, "message.response.json")
    assert hooked.wire.chat_id(conversation, user) == message["conversation"]["id"]


@rule("§4.3", evidence="doc")
def test_typing_hook_shape(hooked: Hooked) -> None:
    """action.typing {user.id, conversation {id, client_id}, expired_at = start + 5 s}."""
    conversation, _, _ = open_chat(hooked)
    hooked.target.manager("typing", hooked.wire.channel, f"start typing in the chat {conversation}", conversation_id=conversation)
    body = body_of(hooked)
    assert not schema_errors("webhook_v2_typing.json", body), schema_errors("webhook_v2_typing.json", body)
    typing = body["action"]["typing"]
    assert typing["conversation"]["client_id"] == conversation
    assert typing["expired_at"] - body["time"] == 5


@rule("§4.4", evidence="doc")
def test_reaction_hooks_react_and_unreact(hooked: Hooked) -> None:
    """action.reaction {msgid, user, conversation, type, emoji}; unreact carries no emoji."""
    conversation, _, msgid = open_chat(hooked)
    channel = hooked.wire.channel
    hooked.target.manager(
        "react", channel, f"react 😍 to the client's message in {conversation}", message_id=msgid, emoji="😍", type="react"
    )
    hooked.target.manager("react", channel, "take the reaction back", message_id=msgid, type="unreact")
    react, unreact = (h.json() for h in hooked.wait(2))
    for body in (react, unreact):
        assert not schema_errors("webhook_v2_reaction.json", body), schema_errors("webhook_v2_reaction.json", body)
        assert body["action"]["reaction"]["msgid"] == msgid
        assert body["action"]["reaction"]["conversation"]["client_id"] == conversation
    assert (react["action"]["reaction"]["type"], react["action"]["reaction"]["emoji"]) == ("react", "😍")
    assert unreact["action"]["reaction"]["type"] == "unreact"
    assert "emoji" not in unreact["action"]["reaction"]


@rule("§9", evidence="client")
def test_hook_body_is_compact_utf8_json(hooked: Hooked) -> None:
    """Separators ',' and ':', non-ASCII unescaped, no trailing newline — so re-serialising receivers verify too."""
    conversation, _, _ = open_chat(hooked)
    reply(hooked, conversation, {"type": "text", "text": "Здравствуйте! 👋 a/b"})
    (hook,) = hooked.wait()
    assert hook.raw == orjson.dumps(orjson.loads(hook.raw))
    assert "Здравствуйте! 👋 a/b".encode() in hook.raw


@rule("§4", evidence="doc")
def test_imported_messages_trigger_no_hook(hooked: Hooked) -> None:
    """Messages the integration imports itself (operator or bot sender) are not echoed back as hooks."""
    channel = hooked.wire.channel
    if channel.operator_id is None:
        pytest.skip("needs AMOJO_OPERATOR_ID on live amojo")
    conversation, user, _ = open_chat(hooked)
    imported = {
        "timestamp": 1_700_000_000,
        "msgid": new_id("msg"),
        "conversation_id": conversation,
        "sender": {"ref_id": channel.operator_id},
        "receiver": {"id": user, "name": "Contract Client"},
        "message": {"type": "text", "text": "imported"},
        "silent": True,
    }
    expect_json(hooked.wire.message(imported), 200)
    reply(hooked, conversation, {"type": "text", "text": "live reply"})
    (hook,) = hooked.wait()
    assert hook.json()["message"]["message"]["text"] == "live reply"
    assert len(hooked.receiver.received(hooked.prefix)) == 1


@rule("§4", evidence="doc")
@pytest.mark.fake_only("a receiver that answers 500 on purpose")
def test_failed_hook_is_not_retried(target: Target, receiver_server: Receiver) -> None:
    """Only 200 counts and nothing is retried: a hook answered with 500 arrives exactly once."""
    hooked = hooked_channel(target, receiver_server, fail=True)
    conversation, _, _ = open_chat(hooked)
    reply(hooked, conversation, {"type": "text", "text": "first"})
    reply(hooked, conversation, {"type": "text", "text": "second"})
    hooks = hooked.wait(2)
    assert [h.json()["message"]["message"]["text"] for h in hooks] == ["first", "second"]
    assert len(hooked.receiver.received(hooked.prefix)) == 2


@rule("§4", evidence="doc")
@pytest.mark.fake_only("disconnects and asks the fake's manager to act")
def test_no_hooks_after_disconnect(hooked: Hooked) -> None:
    """After disconnect amojo sends no hooks for the scope; after reconnecting they resume."""
    conversation, _, _ = open_chat(hooked)
    assert hooked.wire.disconnect().status_code == 200
    control = hooked.target.control
    assert control is not None
    refused = control.post(
        "/__mock__/operator/reply",
        json={"scope_id": hooked.wire.channel.scope_id, "conversation_id": conversation, "message": {"type": "text", "text": "lost"}},
    )
    assert refused.status_code == 404, refused.text
    expect_json(hooked.wire.connect(hook_api_version="v2"), 200)
    reply(hooked, conversation, {"type": "text", "text": "back"})
    (hook,) = hooked.wait()
    assert hook.json()["message"]["message"]["text"] == "back"
    assert len(hooked.receiver.received(hooked.prefix)) == 1


@rule("§4.1", evidence="doc")
def test_integration_reports_delivery_of_the_hooked_message(hooked: Hooked) -> None:
    """The hook's message.message.id is the amojo id delivery_status takes: 200, no body."""
    conversation, _, _ = open_chat(hooked)
    reply(hooked, conversation, MEDIA["text"])
    message_id = body_of(hooked)["message"]["message"]["id"]
    wire: Wire = hooked.wire
    expect_empty(wire.delivery_status(message_id, {"msgid": message_id, "delivery_status": 1}), 200)
    if hooked.target.is_fake:
        state = hooked.target.state(wire.channel.scope_id)
        (message,) = [m for m in state["messages"] if m["id"] == message_id]
        assert message["status"] == "delivered"
