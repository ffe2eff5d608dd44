"""Chats and scopes: a chat links a write-first answer; a scope indexes its chats, participants and messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from ..errors import ChatNotFound, InvalidReference, MessageNotFound
from ._messages import Message
from ._parties import Participant

if TYPE_CHECKING:
    from ..wire._stances import Stances


class ClientTyping(msgspec.Struct, frozen=True):
    """The client typing in a chat (the integration's typing request), shown until ``until``."""

    #: The client as the request named it: amojo's ``ref_id``, else the integration's ``id``.
    user: str | None
    until: float


class ManagerTyping(msgspec.Struct, frozen=True):
    """A CRM user typing in a chat: since when, until when amojo shows it, when its last hook went, whether this one sends a hook."""

    user: str
    started_at: float
    expired_at: int
    hook_at: float
    notify: bool


class Chat(msgspec.Struct):
    """A conversation of one client in one scope; a chat the CRM started has no ``conversation_id`` until linked."""

    id: str
    scope_id: str
    client: Participant
    created_at: float
    conversation_id: str | None = None
    source: str | None = None
    initiated_by_crm: bool = False
    lead_id: int | None = None
    last_activity: float = 0.0
    messages: list[Message] = msgspec.field(default_factory=list)
    typing: ClientTyping | None = None
    #: The CRM user typing in this chat, set by the operator.
    operator_typing: ManagerTyping | None = None

    def answer_links(self, conversation_id: str, taken_by: Chat | None, client: Participant | None, stances: Stances) -> bool:
        """Whether a message naming this chat by ``conversation_ref_id`` links it to ``conversation_id``.

        The write-first rule (amojo-api.md §4.2): a chat the CRM started is linked by the client's
        first answer; a linked chat only takes its own ``conversation_id``; the answer comes from the
        chat's client. ``taken_by`` is the chat that already has ``conversation_id``, if any.
        Refuses, changing nothing, what cannot be linked.
        """
        if self.conversation_id is None:
            if taken_by is not None and taken_by is not self:
                raise InvalidReference(
                    f"conversation_id {conversation_id!r} already names another chat than conversation_ref_id {self.id!r}.",
                    hint="Use a new conversation_id for a chat started from the CRM, or drop conversation_ref_id.",
                    detail={"pointer": "/payload/conversation_id", "value": conversation_id},
                )
        elif self.conversation_id != conversation_id:
            stances.fire(
                "write_first_new_conversation_id",
                f"conversation_ref_id {self.id!r} is linked to conversation_id {self.conversation_id!r}, not {conversation_id!r}; "
                "the message goes to the chat conversation_ref_id names",
                InvalidReference(
                    f"conversation_ref_id {self.id!r} is linked to conversation_id {self.conversation_id!r}, not {conversation_id!r}.",
                    hint="Send the conversation_id this chat was linked with, or omit conversation_ref_id.",
                    detail={"pointer": "/payload/conversation_ref_id", "value": self.id},
                ),
            )
        if client is not None and self.client is not client:
            raise InvalidReference(
                "The sender is not the client of the chat conversation_ref_id names.",
                hint="Send sender.ref_id = the webhook's receiver.id together with your own sender.id.",
                detail={"pointer": "/payload/sender", "value": client.client_id},
            )
        return self.conversation_id is None

    def add(self, message: Message) -> None:
        """A new message: the chat's latest activity; the client's typing ends."""
        self.messages.append(message)
        self.last_activity = message.received_at
        self.typing = None

    def history(self, offset: int, limit: int) -> list[Message]:
        """Newest first; ``offset`` skips the newest ones."""
        end = len(self.messages) - offset
        if end <= 0:
            return []
        page = self.messages[max(0, end - limit) : end]
        page.reverse()
        return page


class Scope(msgspec.Struct):
    """A channel connected to an account: ``scope_id = f"{channel_id}_{account_id}"``."""

    id: str
    channel_id: str
    account_id: str
    title: str
    hook_api_version: str
    is_time_window_disabled: bool
    connected: bool = True
    chats: dict[str, Chat] = msgspec.field(default_factory=dict)
    chats_by_conversation: dict[str, Chat] = msgspec.field(default_factory=dict)
    participants: dict[str, Participant] = msgspec.field(default_factory=dict)
    participants_by_client_id: dict[str, Participant] = msgspec.field(default_factory=dict)
    messages: dict[str, Message] = msgspec.field(default_factory=dict)
    messages_by_msgid: dict[str, Message] = msgspec.field(default_factory=dict)

    # -- chats ----------------------------------------------------------------------------

    def add_chat(self, chat: Chat) -> None:
        self.chats[chat.id] = chat
        if chat.conversation_id is not None:
            self.chats_by_conversation[chat.conversation_id] = chat

    def link(self, chat: Chat, conversation_id: str) -> None:
        """The client's first answer in a chat the CRM started: amojo links the two ids here."""
        chat.conversation_id = conversation_id
        self.chats_by_conversation[conversation_id] = chat

    def chat_for_message(
        self, conversation_id: str, ref_id: str | None, client: Participant | None, stances: Stances
    ) -> tuple[Chat | None, bool]:
        """The chat a new message goes to (None: a new one) and whether it links it to ``conversation_id``; read-only."""
        if ref_id is None:
            return self.chats_by_conversation.get(conversation_id), False
        chat = self.chats.get(ref_id)
        if chat is None:
            raise ChatNotFound("conversation_ref_id", ref_id)
        return chat, chat.answer_links(conversation_id, self.chats_by_conversation.get(conversation_id), client, stances)

    def chat_by_ids(self, conversation_id: str | None, ref_id: str | None) -> Chat:
        """The chat amojo's id (``conversation_ref_id``) or else the integration's id names."""
        if ref_id is not None:
            chat = self.chats.get(ref_id)
            if chat is None:
                raise ChatNotFound("conversation_ref_id", ref_id)
            return chat
        if conversation_id is None:
            raise ChatNotFound("conversation_id", "")
        chat = self.chats_by_conversation.get(conversation_id)
        if chat is None:
            raise ChatNotFound("conversation_id", conversation_id)
        return chat

    def operator_chat(self, conversation_id: str | None, chat_id: str | None) -> Chat:
        """The chat a manager acts in, named by the integration's id or amojo's (not both differently)."""
        if chat_id is not None:
            chat = self.chats.get(chat_id)
            if chat is None:
                raise ChatNotFound("chat_id", chat_id)
            if conversation_id is not None and chat.conversation_id != conversation_id:
                raise InvalidReference(
                    f"chat_id {chat_id!r} is linked to conversation_id {chat.conversation_id!r}, not {conversation_id!r}.",
                    hint="Name the chat by one id: conversation_id (the integration's) or chat_id (amojo's).",
                    detail={"pointer": "/conversation_id", "value": conversation_id},
                )
            return chat
        if conversation_id is None:
            raise InvalidReference(
                "Name the chat: conversation_id or chat_id is required.",
                hint="conversation_id is the integration's chat id (create-chat / new_message); chat_id is amojo's (create-chat's id).",
                detail={"pointer": "/conversation_id"},
            )
        chat = self.chats_by_conversation.get(conversation_id)
        if chat is None:
            raise ChatNotFound("conversation_id", conversation_id)
        return chat

    # -- messages -------------------------------------------------------------------------

    def add_message(self, chat: Chat, message: Message) -> None:
        """Store ``message`` in ``chat`` and index it by amojo id and msgid."""
        chat.add(message)
        self.messages[message.id] = message
        if message.msgid is not None:
            self.messages_by_msgid[message.msgid] = message

    def renumber(self, message: Message, msgid: str) -> None:
        """``msgid`` becomes the message's integration-side id; the old one is forgotten."""
        if message.msgid is not None:
            self.messages_by_msgid.pop(message.msgid, None)
        message.msgid = msgid
        self.messages_by_msgid[msgid] = message

    def find_message(self, amojo_id: str | None, msgid: str | None, pointer: str = "") -> Message:
        """The message amojo's id (else the integration's msgid) names; :class:`MessageNotFound` names ``pointer`` + the field."""
        if amojo_id is not None:
            message = self.messages.get(amojo_id)
            field_name, value = "id", amojo_id
        else:
            message = self.messages_by_msgid.get(msgid or "")
            field_name, value = "msgid", msgid or ""
        if message is None:
            raise MessageNotFound(f"{pointer}{field_name}", value)
        return message

    def message_named(self, key: str) -> Message | None:
        """The message ``key`` names, as amojo's id or else as a msgid."""
        return self.messages.get(key) or self.messages_by_msgid.get(key)
