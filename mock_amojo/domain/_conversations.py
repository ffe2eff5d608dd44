"""What the integration does in a scope: create chats, send, import and edit messages, report statuses, typing and reactions.

Each function checks everything before it changes anything, so a refused request leaves the
state as it was. Bodies already passed schema validation.
"""

from __future__ import annotations

from typing import Any

from ..errors import DuplicateMessageId, InvalidReference, MessageNotFound
from ._chats import Chat, Scope
from ._messages import Direction, Message, Origin
from ._parties import client_participant, crm_participant, opt
from ._state import State


def create_chat(state: State, scope: Scope, body: dict[str, Any]) -> Chat:
    """Idempotent on ``conversation_id``: an existing chat is returned as it is."""
    existing = scope.chats_by_conversation.get(body["conversation_id"])
    if existing is not None:
        return existing
    client = client_participant(scope, body["user"], "/user", state.ids.new)
    source = (opt(body.get("source")) or {}).get("external_id")
    return state.new_chat(scope, client, body["conversation_id"], source)


def embedded(scope: Scope, quoted: dict[str, Any], pointer: str, chat: Chat | None, *, same_chat: bool) -> dict[str, Any]:
    """Resolve a quoted/forwarded message given by id or msgid; keep inline ones as sent."""
    amojo_id, msgid = opt(quoted.get("id")), opt(quoted.get("msgid"))
    if amojo_id is None and msgid is None:
        return dict(quoted)
    target = scope.find_message(amojo_id, msgid, f"{pointer}/")
    if same_chat and (chat is None or target.chat_id != chat.id):
        raise InvalidReference(
            "A quoted message must be in the same chat (amojo-api.md §3.4).",
            hint="reply_to may only quote a message of this conversation; use forwards for other chats.",
            detail={"pointer": pointer, "value": amojo_id or msgid},
        )
    return {"id": target.id, "msgid": target.msgid, "type": target.content.get("type"), "text": target.content.get("text", "")}


def new_message(state: State, scope: Scope, payload: dict[str, Any]) -> Message:
    """``new_message``: a client's message (no receiver) or an imported outgoing one."""
    msgid: str = payload["msgid"]
    if msgid in scope.messages_by_msgid:
        raise DuplicateMessageId(
            f"msgid {msgid!r} was already sent in this scope.",
            hint="amojo accepts each payload.msgid once; give every message its own id (and use edit_message to change one).",
            detail={"pointer": "/payload/msgid", "value": msgid},
        )
    receiver_data = opt(payload.get("receiver"))
    source = (opt(payload.get("source")) or {}).get("external_id")
    conversation_id: str = payload["conversation_id"]
    ref_id = opt(payload.get("conversation_ref_id"))
    if receiver_data is None:
        direction: Direction = "incoming"
        sender = client_participant(scope, payload["sender"], "/payload/sender", state.ids.new)
        chat, link = scope.chat_for_message(conversation_id, ref_id, sender)
        receiver = None
        origin: Origin = "integration"
        client = sender
    else:
        direction = "outgoing"
        sender = crm_participant(
            scope, state.channels[scope.channel_id], state.accounts[scope.account_id], payload["sender"], "/payload/sender"
        )
        receiver = client_participant(scope, receiver_data, "/payload/receiver", state.ids.new)
        chat, link = scope.chat_for_message(conversation_id, ref_id, None)
        origin = "bot" if sender.kind == "bot" else "import"
        client = receiver
    reply_to = opt(payload.get("reply_to"))
    if reply_to is not None:
        reply_to = {"message": embedded(scope, reply_to["message"], "/payload/reply_to/message", chat, same_chat=True)}
    forwards = opt(payload.get("forwards"))
    if forwards is not None:
        forwards = dict(forwards)
        forwards["messages"] = [
            embedded(scope, m, f"/payload/forwards/messages/{i}", None, same_chat=False) for i, m in enumerate(forwards["messages"])
        ]
    # Every refusal is behind us: from here on the state changes.
    if chat is None:
        chat = state.new_chat(scope, client, conversation_id, source)
    elif link:
        scope.link(chat, conversation_id)
    timestamp: int = payload["timestamp"]
    now = state.clock.now()
    message = Message(
        id=state.ids.new(),
        chat_id=chat.id,
        direction=direction,
        origin=origin,
        sender=sender,
        receiver=receiver,
        timestamp=timestamp,
        msec_timestamp=opt(payload.get("msec_timestamp"), timestamp * 1000),
        content={k: v for k, v in payload["message"].items() if v is not None},
        received_at=now,
        msgid=msgid,
        silent=bool(opt(payload.get("silent"), False)),
        source=source or chat.source,
        reply_to=reply_to,
        forwards=forwards,
    )
    if direction == "outgoing":
        message.mark_sent(now)
    scope.add_message(chat, message)
    if direction == "incoming" and not message.silent:
        if chat.lead_id is None:
            state.crm.incoming_lead(scope, chat, message, service=scope.title)
        else:
            state.crm.client_wrote(chat, now, scope.title)
    elif sender.kind == "user":
        # A lenient channel learns the CRM users an integration imports: the REST API lists them too.
        state.crm.add_users(scope.account_id, [sender.id])
    return message


def edit_message(state: State, scope: Scope, payload: dict[str, Any]) -> Message:
    """``edit_message``: by amojo id (a msgid given too becomes the new msgid) or by msgid."""
    amojo_id, msgid = opt(payload.get("id")), opt(payload.get("msgid"))
    message = scope.find_message(amojo_id, None if amojo_id is not None else msgid)
    conversation_id = opt(payload.get("conversation_id"))
    if conversation_id is not None and state.chats[message.chat_id].conversation_id != conversation_id:
        field_name = "id" if amojo_id is not None else "msgid"
        raise MessageNotFound(f"{field_name} in conversation {conversation_id!r}", amojo_id if amojo_id is not None else msgid or "")
    now = state.clock.now()
    if amojo_id is not None and msgid is not None and msgid != message.msgid:
        # Both ids given: msgid becomes the message's new integration-side id (amojo-api.md §3.4).
        taken = scope.messages_by_msgid.get(msgid)
        if taken is not None and taken is not message:
            raise DuplicateMessageId(
                f"msgid {msgid!r} already names another message.",
                hint="Pick an unused msgid.",
                detail={"pointer": "/payload/msgid", "value": msgid},
            )
        scope.renumber(message, msgid)
    message.edit({k: v for k, v in payload["message"].items() if k != "delivery_status"}, now)
    status = opt(payload["message"].get("delivery_status"))
    if status:
        message.record_status(status.get("status_code"), status.get("error_code"), status.get("error"), state.clock.now())
    return message


def delivery_status(state: State, scope: Scope, amojo_msgid: str, body: dict[str, Any]) -> Message:
    """Record a status the integration reports for a message (amojo id)."""
    message = scope.messages.get(amojo_msgid)
    if message is None:
        raise MessageNotFound("msgid", amojo_msgid)
    code = opt(body.get("delivery_status"), body.get("status_code"))
    message.record_status(code, opt(body.get("error_code")), opt(body.get("error")), state.clock.now())
    return message


def typing(state: State, scope: Scope, body: dict[str, Any]) -> Chat:
    """A client types for ``duration_ms`` (5 s unless given)."""
    chat = scope.chat_by_ids(opt(body.get("conversation_id")), opt(body.get("conversation_ref_id")))
    sender = body["sender"]
    duration_ms = opt(body.get("duration_ms"), 5000)
    chat.typing = {"user": opt(sender.get("ref_id"), sender.get("id")), "until": state.clock.now() + duration_ms / 1000}
    return chat


def react(state: State, scope: Scope, body: dict[str, Any]) -> Message:
    """A client's reaction (``type`` react or unreact), one per user and message."""
    chat = scope.chat_by_ids(opt(body.get("conversation_id")), opt(body.get("conversation_ref_id")))
    amojo_id = opt(body.get("id"))
    message = scope.find_message(amojo_id, None if amojo_id is not None else opt(body.get("msgid")))
    if message.chat_id != chat.id:
        raise MessageNotFound("id" if amojo_id is not None else "msgid", amojo_id or body.get("msgid") or "")
    user = body["user"]
    user_key = opt(user.get("ref_id"), user.get("id"))
    if body["type"] == "react":
        message.react(user_key, body.get("emoji") or "", state.clock.now())
    else:
        message.unreact(user_key)
    return message
