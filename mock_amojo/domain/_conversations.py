"""What the integration does in a scope: create chats, send, import and edit messages, report statuses, typing and reactions.

Each function checks everything before it changes anything, so a refused request leaves the
state as it was. Requests are typed values (:mod:`mock_amojo.wire._requests`), parsed from bodies
that passed schema validation.
"""

from __future__ import annotations

from ..errors import DuplicateMessageId, InvalidReference, MessageNotFound
from ..wire._requests import CreateChat, EditMessage, NewMessage, Quote, React, StatusReport, Typing
from ..wire._values import JSONValue
from ._chats import Chat, ClientTyping, Scope
from ._messages import Direction, Message, Origin
from ._parties import client_participant, crm_participant
from ._state import State


def create_chat(state: State, scope: Scope, request: CreateChat) -> Chat:
    """Idempotent on ``conversation_id``: an existing chat is returned as it is."""
    existing = scope.chats_by_conversation.get(request.conversation_id)
    if existing is not None:
        return existing
    # A known user.id keeps its profile: Kommo's reference says "you will get the existing information".
    client = client_participant(scope, request.user, "/user", state.ids.new, update=False)
    return state.new_chat(scope, client, request.conversation_id, request.source)


def embedded(scope: Scope, quoted: Quote, pointer: str, chat: Chat | None, *, same_chat: bool) -> dict[str, JSONValue]:
    """Resolve a quoted/forwarded message given by id or msgid; keep inline ones as sent."""
    amojo_id, msgid = quoted.id, quoted.msgid
    if amojo_id is None and msgid is None:
        return quoted.as_json()
    target = scope.find_message(amojo_id, msgid, f"{pointer}/")
    if same_chat and (chat is None or target.chat_id != chat.id):
        raise InvalidReference(
            "A quoted message must be in the same chat (amojo-api.md §3.4).",
            hint="reply_to may only quote a message of this conversation; use forwards for other chats.",
            detail={"pointer": pointer, "value": amojo_id or msgid},
        )
    content = target.content_value
    return {"id": target.id, "msgid": target.msgid, "type": target.kind, "text": content.text if content.text is not None else ""}


def new_message(state: State, scope: Scope, request: NewMessage) -> Message:
    """``new_message``: a client's message (no receiver) or an imported outgoing one."""
    msgid = request.msgid
    if msgid in scope.messages_by_msgid:
        raise DuplicateMessageId(
            f"msgid {msgid!r} was already sent in this scope.",
            hint="amojo accepts each payload.msgid once; give every message its own id (and use edit_message to change one).",
            detail={"pointer": "/payload/msgid", "value": msgid},
        )
    conversation_id = request.conversation_id
    if request.receiver is None:
        direction: Direction = "incoming"
        sender = client_participant(scope, request.sender, "/payload/sender", state.ids.new)
        chat, link = scope.chat_for_message(conversation_id, request.conversation_ref_id, sender, state.stances)
        receiver = None
        origin: Origin = "integration"
        client = sender
    else:
        direction = "outgoing"
        sender = crm_participant(
            scope, state.channels[scope.channel_id], state.accounts[scope.account_id], request.sender, "/payload/sender", state.stances
        )
        receiver = client_participant(scope, request.receiver, "/payload/receiver", state.ids.new)
        chat, link = scope.chat_for_message(conversation_id, request.conversation_ref_id, None, state.stances)
        origin = "bot" if sender.kind == "bot" else "import"
        client = receiver
    reply_to = None
    if request.reply_to is not None:
        # Kommo's flat reply_to (stance reply_to_flat) is parsed into the same quote; the pointer says which shape came.
        pointer = "/payload/reply_to" if request.reply_to_flat else "/payload/reply_to/message"
        reply_to = {"message": embedded(scope, request.reply_to, pointer, chat, same_chat=True)}
    forwards = None
    if request.forwards is not None:
        forwarded = request.forwards
        forwards = {
            **forwarded.rest,
            "messages": [
                embedded(scope, m, f"/payload/forwards/messages/{i}", None, same_chat=False) for i, m in enumerate(forwarded.messages)
            ],
        }
    # Every refusal is behind us: from here on the state changes.
    if chat is None:
        chat = state.new_chat(scope, client, conversation_id, request.source)
    elif link:
        scope.link(chat, conversation_id)
    timestamp = request.timestamp
    now = state.clock.now()
    message = Message(
        id=state.ids.new(),
        chat_id=chat.id,
        direction=direction,
        origin=origin,
        sender=sender,
        receiver=receiver,
        timestamp=timestamp,
        msec_timestamp=request.msec_timestamp if request.msec_timestamp is not None else timestamp * 1000,
        content=request.message,
        received_at=now,
        msgid=msgid,
        silent=request.silent,
        source=request.source or chat.source,
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


def edit_message(state: State, scope: Scope, request: EditMessage) -> Message:
    """``edit_message``: by amojo id (a msgid given too becomes the new msgid) or by msgid."""
    amojo_id, msgid = request.id, request.msgid
    message = scope.find_message(amojo_id, None if amojo_id is not None else msgid)
    conversation_id = request.conversation_id
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
    message.edit(request.message, now)
    if request.status is not None:
        message.record_status(request.status, state.clock.now())
    return message


def delivery_status(state: State, scope: Scope, amojo_msgid: str, report: StatusReport) -> Message:
    """Record a status the integration reports for a message (amojo id)."""
    message = scope.messages.get(amojo_msgid)
    if message is None:
        raise MessageNotFound("msgid", amojo_msgid)
    message.record_status(report, state.clock.now())
    return message


def typing(state: State, scope: Scope, request: Typing) -> Chat:
    """A client types for ``duration_ms`` (5 s unless given)."""
    chat = scope.chat_by_ids(request.conversation_id, request.conversation_ref_id)
    sender = request.sender
    duration_ms = request.duration_ms if request.duration_ms is not None else 5000
    chat.typing = ClientTyping(sender.ref_id if sender.ref_id is not None else sender.id, state.clock.now() + duration_ms / 1000)
    return chat


def react(state: State, scope: Scope, request: React) -> Message:
    """A client's reaction (``type`` react or unreact), one per user and message."""
    chat = scope.chat_by_ids(request.conversation_id, request.conversation_ref_id)
    amojo_id = request.id
    message = scope.find_message(amojo_id, None if amojo_id is not None else request.msgid)
    if message.chat_id != chat.id:
        raise MessageNotFound("id" if amojo_id is not None else "msgid", amojo_id or request.msgid or "")
    user = request.user
    user_key = user.ref_id if user.ref_id is not None else user.id
    if request.type == "react":
        message.react(user_key, request.emoji or "", state.clock.now())
    else:
        message.unreact(user_key)
    return message
