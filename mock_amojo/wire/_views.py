"""amojo's JSON shapes for the state in :mod:`mock_amojo.domain` — the fake's answers.

Typed clients break on ``null`` where they expect a string, so string fields are ``""``
and sizes ``0`` when empty (amojo-api.md §9).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..domain import Chat, Lead, Message, Participant, Scope

__all__ = [
    "chat_response",
    "chat_state",
    "connect_response",
    "delivery_status_view",
    "history_item",
    "history_response",
    "lead_state",
    "message_response",
    "message_state",
    "participant_state",
]


def connect_response(scope: Scope) -> dict[str, Any]:
    return {
        "account_id": scope.account_id,
        "scope_id": scope.id,
        "title": scope.title,
        "hook_api_version": scope.hook_api_version,
        "is_time_window_disabled": scope.is_time_window_disabled,
    }


def chat_response(chat: Chat) -> dict[str, Any]:
    client = chat.client
    user: dict[str, Any] = {"id": client.id, "client_id": client.client_id or "", "name": client.name}
    for name in ("avatar", "phone", "email", "profile_link"):
        value = getattr(client, name)
        if value:
            user[name] = value
    return {"id": chat.id, "user": user}


def message_response(message: Message, chat: Chat) -> dict[str, Any]:
    """``{"new_message": {...}}`` — amojo ids for chat parties and message, ``ref_id`` = your msgid."""
    return {
        "new_message": {
            "conversation_id": chat.conversation_id or "",
            "sender_id": message.sender.id,
            "receiver_id": message.receiver.id if message.receiver else None,
            "msgid": message.id,
            "ref_id": message.msgid or "",
        }
    }


def _party(participant: Participant) -> dict[str, Any]:
    party: dict[str, Any] = {"id": participant.id, "name": participant.name}
    if participant.kind == "client":
        party.update(client_id=participant.client_id or "", avatar=participant.avatar, phone=participant.phone, email=participant.email)
    return party


_NO_CONTENT: dict[str, Any] = {}
_OPTIONAL_CONTENT = ("media_duration", "media_group_id", "location", "contact", "sticker_id", "callback_data", "markup", "template")


def history_item(message: Message, parties: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """One message as a history page shows it; ``parties`` caches sender/receiver views across a page."""
    text = message.plain_text
    # A plain text message (most of a history) has no other content to look up.
    get = _NO_CONTENT.get if text is not None else message.content.get
    body: dict[str, Any] = {"id": message.id, "type": get("type", "text"), "text": text or get("text") or ""}
    if message.msgid is not None:
        body["client_id"] = message.msgid
    body["media"] = get("media") or ""
    body["thumbnail"] = get("thumbnail") or ""
    body["file_name"] = get("file_name") or ""
    body["file_size"] = get("file_size") or 0
    if text is None:
        for name in _OPTIONAL_CONTENT:
            value = get(name)
            if value is not None:
                body[name] = value
    item: dict[str, Any] = {
        "timestamp": message.timestamp,
        "msec_timestamp": message.msec_timestamp,
        "sender": _cached_party(message.sender, parties),
        "message": body,
    }
    if message.receiver is not None:
        item["receiver"] = _cached_party(message.receiver, parties)
    if message.statuses:
        item["delivery_status"] = delivery_status_view(message)
    return item


def _cached_party(participant: Participant, parties: dict[str, dict[str, Any]] | None) -> dict[str, Any]:
    if parties is None:
        return _party(participant)
    party = parties.get(participant.id)
    if party is None:
        party = parties[participant.id] = _party(participant)
    return party


def delivery_status_view(message: Message) -> dict[str, Any]:
    """The message's current delivery status: the last one recorded (amojo-api.md §3.5)."""
    last = message.statuses[-1]
    return {"status": last.status, "code": last.code, "error_code": last.error_code, "error": last.error}


def history_response(messages: list[Message]) -> dict[str, Any]:
    # A page is mostly the same two people: each one's view is built once and shared by its items.
    parties: dict[str, dict[str, Any]] = {}
    return {"messages": [history_item(m, parties) for m in messages]}


def participant_state(participant: Participant) -> dict[str, Any]:
    return {
        "id": participant.id,
        "client_id": participant.client_id,
        "name": participant.name,
        "kind": participant.kind,
        "avatar": participant.avatar,
        "phone": participant.phone,
        "email": participant.email,
        "profile_link": participant.profile_link,
    }


def message_state(message: Message) -> dict[str, Any]:
    """Everything the fake knows of a message, for ``/__mock__/state`` and tests."""
    return {
        "id": message.id,
        "msgid": message.msgid,
        "chat_id": message.chat_id,
        "direction": message.direction,
        "origin": message.origin,
        "sender": participant_state(message.sender),
        "receiver": participant_state(message.receiver) if message.receiver else None,
        "timestamp": message.timestamp,
        "msec_timestamp": message.msec_timestamp,
        "received_at": message.received_at,
        "silent": message.silent,
        "source": message.source,
        "message": message.content,
        "reply_to": message.reply_to,
        "forwards": message.forwards,
        "edits": list(message.edits),
        "reactions": list(message.reactions),
        "status": message.status,
        "statuses": [
            {"status": s.status, "code": s.code, "error_code": s.error_code, "error": s.error, "at": s.at} for s in message.statuses
        ],
    }


def chat_state(chat: Chat) -> dict[str, Any]:
    return {
        "id": chat.id,
        "scope_id": chat.scope_id,
        "conversation_id": chat.conversation_id,
        "client": participant_state(chat.client),
        "source": chat.source,
        "initiated_by_crm": chat.initiated_by_crm,
        "lead_id": chat.lead_id,
        "created_at": chat.created_at,
        "last_activity": chat.last_activity,
        "typing": None if chat.typing is None else {"user": chat.typing.user, "until": chat.typing.until},
        "message_count": len(chat.messages),
    }


def lead_state(lead: Lead) -> dict[str, Any]:
    return {
        "id": lead.id,
        "account_id": lead.account_id,
        "scope_id": lead.scope_id,
        "chat_id": lead.chat_id,
        "contact_id": lead.contact_id,
        "first_message_id": lead.first_message_id,
        "created_at": lead.created_at,
        "source": lead.source,
        "status": lead.status,
        "name": lead.name,
        "price": lead.price,
        "pipeline_id": lead.pipeline_id,
        "status_id": lead.status_id,
        "responsible_user_id": lead.responsible_user_id,
        "source_id": lead.source_id,
        "is_deleted": lead.is_deleted,
    }
