"""What a manager does in amoCRM (state only; :mod:`mock_amojo.operator` pairs each with the webhook amojo sends)."""

from __future__ import annotations

from typing import Literal

from ..errors import InvalidReference, MessageNotFound, WriteFirstDisabled
from ..wire._requests import Quote
from ..wire._values import MessageContent
from ._chats import Chat, ManagerTyping, Scope
from ._conversations import embedded
from ._messages import Message
from ._parties import Participant, manager, normalize_phone
from ._state import State

#: amojo sends a typing hook at most once per this many seconds; it expires after as long (§4.3).
TYPING_HOOK_INTERVAL = 5


def acting_manager(state: State, scope: Scope, user_id: str | None) -> Participant:
    """The manager, made a participant of the scope: a manager who acts in a chat takes part in it."""
    participant = manager(scope, state.accounts[scope.account_id], user_id)
    scope.participants.setdefault(participant.id, participant)
    return participant


def _message(state: State, scope: Scope, chat: Chat, content: MessageContent, sender: Participant) -> Message:
    now = state.clock.now()
    message = Message(
        id=state.ids.new(),
        chat_id=chat.id,
        direction="outgoing",
        origin="operator",
        sender=sender,
        receiver=chat.client,
        timestamp=int(now),
        msec_timestamp=int(now * 1000),
        content=content,
        received_at=now,
        source=chat.source,
    )
    message.mark_sent(now)
    scope.add_message(chat, message)
    chat.operator_typing = None
    return message


def reply(
    state: State,
    scope: Scope,
    conversation_id: str | None,
    chat_id: str | None,
    content: MessageContent,
    user_id: str | None,
    reply_to: str | None,
) -> Message:
    """A manager answers in a chat, optionally quoting a message of it (amojo id)."""
    chat = scope.operator_chat(conversation_id, chat_id)
    quoted = None if reply_to is None else embedded(scope, Quote(reply_to, None, {}), "/reply_to/message_id", chat, same_chat=True)
    sent = _message(state, scope, chat, content, acting_manager(state, scope, user_id))
    if quoted is not None:
        sent.reply_to = {"message": quoted}
    return sent


def initiate(
    state: State, scope: Scope, phone: str, content: MessageContent, name: str | None, user_id: str | None, source: str | None
) -> Message:
    """A manager writes first: a new chat with no ``conversation_id`` (the client's answer links it) and its lead."""
    channel = state.channels[scope.channel_id]
    if not channel.write_first:
        raise WriteFirstDisabled(
            f'Channel {channel.id!r} does not have "write first" enabled.',
            hint=f'amoCRM support enables it per channel; in the fake send PATCH /__mock__/channels/{channel.id} {{"write_first": true}}.',
            detail={"channel_id": channel.id},
        )
    digits = normalize_phone(phone)
    if not digits:
        raise InvalidReference(
            f"phone {phone!r} has no digits.",
            hint="Give the client's phone number, e.g. +79161234567.",
            detail={"pointer": "/phone", "value": phone},
        )
    sender = acting_manager(state, scope, user_id)
    # Every refusal is behind us: from here on the state changes.
    client = Participant(id=state.ids.new(), name=name or f"+{digits}", phone=digits)
    scope.participants[client.id] = client
    chat = state.new_chat(scope, client, None, source, initiated_by_crm=True)
    sent = _message(state, scope, chat, content, sender)
    state.crm.lead_from_crm(scope, chat, sent, digits, source)
    return sent


def typing(state: State, scope: Scope, conversation_id: str | None, chat_id: str | None, user_id: str | None) -> Chat:
    """A manager types; ``notify`` is False within :data:`TYPING_HOOK_INTERVAL` of the last hook for that user."""
    chat = scope.operator_chat(conversation_id, chat_id)
    user = acting_manager(state, scope, user_id)
    now = state.clock.now()
    previous = chat.operator_typing
    throttled = previous is not None and previous.user == user.id and now < previous.hook_at + TYPING_HOOK_INTERVAL
    chat.operator_typing = ManagerTyping(
        user.id, now, int(now) + TYPING_HOOK_INTERVAL, previous.hook_at if throttled and previous is not None else now, not throttled
    )
    return chat


def react(
    state: State, scope: Scope, message_id: str, emoji: str | None, type: Literal["react", "unreact"], user_id: str | None
) -> Message:
    """A manager reacts to a message (amojo id), or takes the reaction back (``unreact``)."""
    message = scope.messages.get(message_id)
    if message is None:
        raise MessageNotFound("message_id", message_id)
    # type and emoji were checked against operator_react.request.json (HTTP and Operator alike).
    user = acting_manager(state, scope, user_id)
    if type == "react":
        message.react(user.id, emoji, state.clock.now())
    else:
        message.unreact(user.id)
    return message
