"""How ``state-v2.sqlite`` and ``state-v2.expected.json`` were made (durable format 2, before typed requests).

Run once, with the code of the commit that added them, when the domain took request bodies as
JSON objects (the bodies below went to the Backend as they are; since then they pass through the
same ``parse_*`` the pipeline uses, and today's code writes them without their nulls). Kept to show
what the file holds, not run by the tests, which use :func:`contents`. It records every event kind
of format 2 with the bodies clients send: explicit nulls, unknown fields, nested extras.

    python tests/data/compat/make_state_v2.py tests/data/compat
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import msgspec

from mock_amojo import ManualClock, SequentialIds
from mock_amojo.domain import Backend
from mock_amojo.domain._store import SqliteStore
from mock_amojo.errors import DuplicateMessageId
from mock_amojo.wire import _views as views
from mock_amojo.wire import (
    parse_connect,
    parse_content,
    parse_create_chat,
    parse_delivery_status,
    parse_disconnect,
    parse_react,
    parse_send_message,
    parse_typing,
)


def operator_typing(chat: Any) -> Any:
    """A manager's typing in a chat, as the file's expectations hold it (a dict then, an entity — a msgspec Struct — now)."""
    typing = chat.operator_typing
    return typing if typing is None or isinstance(typing, dict) else msgspec.structs.asdict(typing)


def contents(backend: Backend) -> dict[str, Any]:
    """Everything the state shows, as the control plane renders it."""
    snapshot = backend.snapshot()
    return {
        "channels": [
            {"id": c.id, "name": c.name, "webhook_url": c.webhook_url, "strict": c.strict, "allowed": sorted(c.allowed_accounts)}
            for c in snapshot.channels
        ],
        "accounts": [{"id": a.id, "name": a.name, "users": [[u.id, u.name] for u in a.users]} for a in snapshot.accounts],
        "scopes": [
            {"id": s.id, "title": s.title, "hook_api_version": s.hook_api_version, "connected": s.connected} for s in snapshot.scopes
        ],
        "chats": [
            {
                **views.chat_state(chat),
                "operator_typing": operator_typing(chat),
                "messages": [views.message_state(m) for m in chat.messages],
            }
            for chat in snapshot.chats
        ],
        "leads": [views.lead_state(lead) for lead in snapshot.leads],
    }


def record(backend: Backend) -> None:
    channel = backend.register_channel(id="ch-v2", secret="5" * 40, name="Compat v2", hook_api_version="v2", strict=True)
    backend.allow_account(channel.id, "acc-v2")
    backend.register_account(amojo_id="acc-v2", name="Shop", users=[{"amojo_id": "mgr-1", "name": "Mary"}])
    backend.set_webhook_url(channel.id, "https://hooks.example/amojo/:scope_id")
    scope = backend.connect(
        channel.id, parse_connect({"account_id": "acc-v2", "title": None, "hook_api_version": "v2", "is_time_window_disabled": None})
    )
    sid = scope.id
    backend.create_chat(
        sid,
        parse_create_chat(
            {
                "conversation_id": "c-1",
                "user": {"id": "u-1", "name": "Ann", "avatar": None, "profile": {"phone": "+7 (916) 111-22-33", "email": None}},
                "source": {"external_id": "shop-bot"},
                "unknown": 1,
            }
        ),
    )

    def new(msgid: str, message: dict[str, Any], **more: Any) -> None:
        payload = {
            "timestamp": 1796450000,
            "msec_timestamp": None,
            "msgid": msgid,
            "conversation_id": "c-1",
            "sender": {"id": "u-1", "name": "Ann", "ref_id": None, "extra": {"x": 1}},
            "message": message,
            "silent": None,
            **more,
        }
        backend.send_message(sid, parse_send_message({"event_type": "new_message", "payload": payload, "account_id": None}))

    new("m-1", {"type": "text", "text": "Hello", "media": None})
    new("m-2", {"type": "picture", "media": "https://e.example/p.jpg", "file_name": "p.jpg", "file_size": 48213, "text": "", "meta": [1]})
    new("m-3", {"type": "location", "location": {"lon": 37.6173, "lat": 55.7558, "alt": 1}})
    new("m-4", {"type": "contact", "contact": {"name": "Kate", "phone": "+79990001122"}})
    new("m-5", {"text": "typed after", "type": "text"}, reply_to={"message": {"msgid": "m-1"}})
    new(
        "m-6",
        {"type": "text", "text": "fwd"},
        forwards={
            "messages": [
                {"type": "text", "text": "inline", "timestamp": 1796449000, "msec_timestamp": 1796449000000, "sender": {"name": "Bob"}}
            ],
            "conversation_id": "elsewhere",
        },
        msec_timestamp=1796450000123,
    )
    new("m-7", {"type": "sticker", "media": "https://e.example/s.webp", "sticker_id": "st-1"}, silent=True)
    new(
        "m-8",
        {"type": "voice", "media": "https://e.example/v.ogg", "media_duration": 7, "callback_data": "row-1"},
        source={"external_id": "other"},
    )
    # An import as the channel bot and as a CRM user the account does not list yet.
    bot_id = channel.bot.id
    receiver = {"id": "u-1", "name": "Ann"}
    for msgid, ref in (("i-1", bot_id), ("i-2", "mgr-1")):
        payload = {
            "timestamp": 1796450100,
            "msgid": msgid,
            "conversation_id": "c-1",
            "sender": {"ref_id": ref, "name": "Mary"},
            "receiver": receiver,
            "message": {"type": "text", "text": f"import {msgid}"},
        }
        backend.send_message(sid, parse_send_message({"event_type": "new_message", "payload": payload}))
    m1 = backend.message_named(sid, "m-1")
    assert m1 is not None
    backend.send_message(
        sid,
        parse_send_message(
            {"event_type": "edit_message", "payload": {"id": m1.id, "msgid": "m-1b", "message": {"type": "text", "text": "Hello!"}}}
        ),
    )
    edit = {
        "msgid": "i-1",
        "conversation_id": "c-1",
        "message": {"type": "text", "text": "imported, edited", "delivery_status": {"status_code": 2}},
    }
    backend.send_message(sid, parse_send_message({"event_type": "edit_message", "payload": edit}))
    i2 = backend.message_named(sid, "i-2")
    assert i2 is not None
    backend.delivery_status(sid, i2.id, parse_delivery_status({"msgid": i2.id, "delivery_status": 1}))
    backend.delivery_status(sid, i2.id, parse_delivery_status({"status_code": -1, "error_code": 905, "error": "Blocked"}))
    backend.typing(sid, parse_typing({"conversation_id": "c-1", "sender": {"id": "u-1"}, "duration_ms": None}))
    backend.react(sid, parse_react({"conversation_id": "c-1", "msgid": "m-2", "user": {"id": "u-1"}, "type": "react", "emoji": "👍"}))
    backend.react(sid, parse_react({"conversation_id": "c-1", "msgid": "m-3", "user": {"id": "u-1"}, "type": "react", "emoji": "🔥"}))
    backend.react(
        sid, parse_react({"conversation_ref_id": None, "conversation_id": "c-1", "msgid": "m-3", "user": {"id": "u-1"}, "type": "unreact"})
    )
    reply = backend.operator_reply(
        sid, conversation_id="c-1", message=parse_content({"type": "text", "text": "Yes, in stock"}), reply_to=m1.id
    )
    backend.operator_reply(
        sid,
        conversation_id="c-1",
        message=parse_content(
            {
                "type": "text",
                "text": "Pick one",
                "markup": {"mode": "inline", "buttons": [[{"text": "A"}]]},
                "template": {"id": 3, "content": "Hi {{name}}", "params": [{"key": "name", "value": "Ann"}]},
            }
        ),
        user_id="mgr-1",
    )
    backend.operator_typing(sid, conversation_id="c-1")
    backend.operator_react(sid, message_id=reply.id, emoji="❤️")
    first = backend.operator_initiate(
        sid, phone="+7 916 123-45-67", message=parse_content({"type": "text", "text": "Hello from the CRM"}), name="Kim"
    )
    chat = backend.chat_of(first)
    answer = {
        "timestamp": 1796450200,
        "msgid": "w-1",
        "conversation_id": "c-wf",
        "conversation_ref_id": chat.id,
        "sender": {"id": "u-wf", "ref_id": chat.client.id, "name": "Kim"},
        "message": {"type": "text", "text": "Hi back"},
    }
    backend.send_message(sid, parse_send_message({"event_type": "new_message", "payload": answer}))
    # Refused changes are recorded too (failed): they must replay as refused.
    with contextlib.suppress(DuplicateMessageId):
        backend.send_message(sid, parse_send_message({"event_type": "new_message", "payload": {**answer, "msgid": "w-1"}}))
    backend.connect(channel.id, parse_connect({"account_id": "acc-v2", "title": "Renamed"}))
    backend.disconnect(channel.id, parse_disconnect({"account_id": "acc-v2"}))


def main(folder: str) -> None:
    path = Path(folder) / "state-v2.sqlite"
    path.unlink(missing_ok=True)
    clock = ManualClock(1796450000)
    with SqliteStore(path) as store:
        backend = store.attach(Backend(clock=clock, ids=SequentialIds()))
        record(backend)
        expected = contents(backend)
    (Path(folder) / "state-v2.expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
