"""The bodies of the webhooks amojo sends (amojo-api.md §4), built from domain objects: pure, no I/O.

The v2.0 message, the deprecated flat v1 message, typing and reaction bodies, the hook URL of a
scope, and the exact bytes a body is signed and sent as.

>>> from mock_amojo.domain._clock import ManualClock, SequentialIds
>>> from mock_amojo.domain import Backend
>>> backend = Backend(clock=ManualClock(1639609975), ids=SequentialIds())
>>> channel = backend.register_channel(secret="0" * 40)
>>> from mock_amojo.wire import Connect, CreateChat, Party, Text
>>> scope = backend.connect(channel.id, Connect("acc-1", hook_api_version="v2"))
>>> chat = backend.create_chat(scope.id, CreateChat("c1", Party("u1", name="Ann")))
>>> reply = backend.operator_reply(scope.id, conversation_id="c1", message=Text("Hi"))
>>> body = message_hook_v2(scope, chat, reply, time=1639609975)
>>> body["message"]["conversation"] == {"id": chat.id, "client_id": "c1"}, body["message"]["message"]["text"]
(True, 'Hi')
>>> encode_body({"account_id": "a", "time": 1})
b'{"account_id":"a","time":1}'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from ..domain import Chat, Message, Scope
from ..wire import _jsonbytes as jsonbytes

__all__ = [
    "V1_TYPES",
    "encode_body",
    "message_hook_v1",
    "message_hook_v2",
    "reaction_hook",
    "typing_hook",
    "v1_unsupported_reason",
    "webhook_url",
]

#: v1 is frozen with these message types: amoCRM's EN webhooks-format page lists text, file, video, picture, voice,
#: audio and sticker (the RU reference names only the first four; the longer list is the later, more specific one).
V1_TYPES = frozenset({"text", "file", "video", "picture", "voice", "audio", "sticker"})
_MEDIA_TYPES = frozenset({"picture", "file", "video", "voice", "audio", "sticker"})


def webhook_url(template: str, scope_id: str) -> str:
    """The channel's hook URL with the literal ``:scope_id`` replaced (amojo-api.md §4).

    >>> webhook_url("https://example.com/amojo/:scope_id", "chan_acc")
    'https://example.com/amojo/chan_acc'
    """
    return template.replace(":scope_id", scope_id)


def encode_body(body: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON, non-ASCII unescaped, no trailing newline — what every receiver can verify (§9).

    Trimmed to its length (:mod:`mock_amojo.wire._jsonbytes`): the delivery log keeps it.
    """
    return jsonbytes.dumps(body)


def _hook_content(message: Message) -> dict[str, Any]:
    content = message.content
    kind = content.get("type", "text")
    media = kind in _MEDIA_TYPES
    # The seed example sends "" and 0 for unused media fields; typed receivers depend on that.
    body: dict[str, Any] = {
        "id": message.id,
        "type": kind,
        "text": content.get("text") or "",
        "tag": "",
        "media": (content.get("media") or "") if media else "",
        "thumbnail": (content.get("thumbnail") or "") if kind in ("picture", "video") else "",
        "file_name": content.get("file_name") or "",
        "file_size": content.get("file_size") or 0,
    }
    for name in ("markup", "template", "media_group_id", "location", "contact"):
        if content.get(name) is not None:
            body[name] = content[name]
    if message.reply_to is not None:
        # A manager's quote, resolved by the domain: amojo's id, the msgid, type and text.
        quoted = cast("Mapping[str, Any]", message.reply_to["message"])
        embedded: dict[str, Any] = {"id": quoted["id"], "type": quoted.get("type") or "text", "text": quoted.get("text") or ""}
        if quoted.get("msgid"):
            embedded["client_id"] = quoted["msgid"]
        body["reply_to"] = {"message": embedded}
    return body


def message_hook_v2(scope: Scope, chat: Chat, message: Message, *, time: int) -> dict[str, Any]:
    """The Webhook v2.0 body for a manager's message (amojo-api.md §4.1; write-first §4.2)."""
    client = message.receiver or chat.client
    receiver: dict[str, Any] = {"id": client.id, "phone": client.phone, "email": client.email}
    if client.client_id:
        receiver["client_id"] = client.client_id
    inner: dict[str, Any] = {"receiver": receiver, "sender": {"id": message.sender.id}, "conversation": _conversation(chat)}
    if message.source:
        inner["source"] = {"external_id": message.source}
    inner["timestamp"] = message.timestamp
    inner["msec_timestamp"] = message.msec_timestamp
    inner["message"] = _hook_content(message)
    return {"account_id": scope.account_id, "time": time, "message": inner}


def v1_unsupported_reason(chat: Chat, message: Message) -> str | None:
    """Why the frozen v1 body cannot carry this message, or None when it can."""
    kind = message.kind
    if kind not in V1_TYPES:
        return f"hook_api_version v1 has no message type {kind!r} (only text, file, video, picture, voice, audio, sticker); connect with v2"
    if chat.conversation_id is None or not (message.receiver or chat.client).client_id:
        return "hook_api_version v1 carries only integration ids, and a chat started from the CRM has none yet; connect with v2"
    return None


def message_hook_v1(chat: Chat, message: Message) -> dict[str, Any]:
    """The deprecated flat v1 body (amojo-api.md §4.5); check :func:`v1_unsupported_reason` first."""
    content = _hook_content(message)
    client = message.receiver or chat.client
    return {
        "receiver": client.client_id or "",
        "conversation_id": chat.conversation_id or "",
        "type": content["type"],
        "text": content["text"],
        "media": content["media"],
        "thumbnail": content["thumbnail"],
        "file_name": content["file_name"],
        "file_size": content["file_size"],
        "msec_timestamp": message.msec_timestamp,
    }


def _conversation(chat: Chat) -> dict[str, Any]:
    conversation: dict[str, Any] = {"id": chat.id}
    if chat.conversation_id is not None:
        conversation["client_id"] = chat.conversation_id
    return conversation


def typing_hook(scope: Scope, chat: Chat, user_id: str, *, expired_at: int, time: int) -> dict[str, Any]:
    """A manager is typing (amojo-api.md §4.3; the user nested as in the reference's example)."""
    typing = {"user": {"id": user_id}, "conversation": _conversation(chat), "expired_at": expired_at}
    return {"account_id": scope.account_id, "time": time, "action": {"typing": typing}}


def reaction_hook(scope: Scope, chat: Chat, message: Message, user_id: str, *, type: str, emoji: str | None, time: int) -> dict[str, Any]:
    """A manager reacts (amojo-api.md §4.4): both the example's flat ``msgid`` and the table's ``message``."""
    target: dict[str, Any] = {"id": message.id}
    if message.msgid is not None:
        target["client_id"] = message.msgid
    target["sender"] = {"id": message.sender.id}
    if message.receiver is not None:
        target["receiver"] = {"id": message.receiver.id}
    target["timestamp"] = message.timestamp
    target["msec_timestamp"] = message.msec_timestamp
    reaction: dict[str, Any] = {
        "msgid": message.id,
        "message": target,
        "user": {"id": user_id},
        "conversation": _conversation(chat),
        "type": type,
    }
    if type == "react" and emoji:
        reaction["emoji"] = emoji
    return {"account_id": scope.account_id, "time": time, "action": {"reaction": reaction}}
