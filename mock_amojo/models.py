"""The state a real amoCRM account would have, behind one lock-protected :class:`Backend`.

Everything amojo remembers lives here: channels, accounts and their users, connections
(scopes), chats, participants, messages with their edits, reactions and delivery
statuses, and the incoming leads and contacts amoCRM creates. Methods take bodies that
already passed schema validation and raise :mod:`mock_amojo.errors` types for anything
the state forbids. No HTTP here; the clock and the id source are injected.

>>> from mock_amojo.clock import ManualClock, SequentialIds
>>> backend = Backend(clock=ManualClock(1639609975), ids=SequentialIds())
>>> channel = backend.register_channel(secret="0" * 40)
>>> scope = backend.connect(channel.id, {"account_id": "acc-1", "hook_api_version": "v2"})
>>> scope.id == f"{channel.id}_acc-1"
True
"""

from __future__ import annotations

import functools
import re
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from .changes import ChangeFeed, TapedClock, TapedIds, mutation
from .clock import Clock, IdSource, RandomIds, SystemClock
from .errors import (
    AccountNotAllowed,
    ChannelExists,
    ChannelNotFound,
    ChatNotFound,
    ControlError,
    DuplicateMessageId,
    InvalidReference,
    MessageNotFound,
    ScopeNotFound,
    UserNotFound,
    WriteFirstDisabled,
)
from .journal import Journal

__all__ = [
    "Account",
    "Backend",
    "Bot",
    "Channel",
    "Chat",
    "Contact",
    "Lead",
    "Message",
    "Participant",
    "Scope",
    "StatusRecord",
    "User",
]

Direction = Literal["incoming", "outgoing"]
Origin = Literal["integration", "import", "operator", "bot"]

#: delivery_status codes amojo accepts, by name (amojo-api.md §3.5).
STATUS_NAMES = {1: "delivered", 2: "read", -1: "error"}
ERROR_CODES = {
    901: "user deleted the conversation",
    902: "integration disabled on channel side",
    903: "internal server error",
    904: "cannot create conversation",
    905: "other error",
}

#: amojo sends a typing hook at most once per this many seconds; it expires after as long (§4.3).
TYPING_HOOK_INTERVAL = 5

_NON_DIGITS = re.compile(r"\D+")
#: amojo ids are UUIDs; anything outside letters, digits and '-' cannot be part of a scope id or a path.
_AMOJO_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


def normalize_phone(phone: str | None) -> str:
    """amojo keeps digits only: ``+7 (915) 111-22-33`` → ``79151112233``."""
    return _digits_of(phone) if phone else ""


@functools.lru_cache(maxsize=1024)
def _digits_of(phone: str) -> str:
    # A client's profile (phone included) comes with every message it sends: one regex pass per phone.
    return _NON_DIGITS.sub("", phone)


@dataclass(slots=True)
class Bot:
    id: str
    client_id: str
    name: str


@dataclass(slots=True)
class Channel:
    id: str
    secret: str
    name: str
    bot: Bot
    webhook_url: str | None = None
    hook_api_version: str = "v1"
    strict: bool = False
    allowed_accounts: set[str] = field(default_factory=set)
    write_first: bool = True

    @property
    def secret_hint(self) -> str:
        """Enough to tell secrets apart in a listing, never enough to sign."""
        return f"{self.secret[:4]}…{self.secret[-4:]}" if len(self.secret) > 12 else "…"


@dataclass(slots=True)
class User:
    """A CRM user (manager) of an account, with the amojo id amoCRM gives them."""

    id: str
    name: str


@dataclass(slots=True)
class Account:
    id: str
    name: str
    users: list[User]


@dataclass(slots=True)
class Participant:
    """A chat party as amojo knows it: amojo id, plus the integration's id for clients."""

    id: str
    name: str
    client_id: str | None = None
    avatar: str = ""
    phone: str = ""
    email: str = ""
    profile_link: str = ""
    kind: Literal["client", "user", "bot"] = "client"


@dataclass(slots=True)
class StatusRecord:
    status: str
    code: int | None
    error_code: int | None = None
    error: str = ""
    at: float = 0.0


@dataclass(slots=True)
class Message:
    id: str
    chat_id: str
    direction: Direction
    origin: Origin
    sender: Participant
    receiver: Participant | None
    timestamp: int
    msec_timestamp: int
    content: dict[str, Any]
    received_at: float
    msgid: str | None = None
    silent: bool = False
    source: str | None = None
    reply_to: dict[str, Any] | None = None
    forwards: dict[str, Any] | None = None
    # Empty tuples until the first edit, reaction or status: most messages never get one, and
    # three empty lists a message would be three more objects every full GC pass visits.
    edits: Sequence[dict[str, Any]] = ()
    reactions: Sequence[dict[str, Any]] = ()
    statuses: Sequence[StatusRecord] = ()

    @property
    def status(self) -> str | None:
        return self.statuses[-1].status if self.statuses else None


_Item = TypeVar("_Item")


def _appended(items: Sequence[_Item], item: _Item) -> list[_Item]:
    """``items`` with ``item`` at the end: the list itself, grown, or a new list for a shared empty tuple."""
    if isinstance(items, list):
        items.append(item)
        return items
    return [*items, item]


@dataclass(slots=True)
class Chat:
    id: str
    scope_id: str
    client: Participant
    created_at: float
    conversation_id: str | None = None
    source: str | None = None
    initiated_by_crm: bool = False
    lead_id: int | None = None
    last_activity: float = 0.0
    messages: list[Message] = field(default_factory=list)
    typing: dict[str, Any] | None = None
    #: The CRM user typing in this chat (``user``, ``started_at``, ``expired_at``), set by the operator.
    operator_typing: dict[str, Any] | None = None


@dataclass(slots=True)
class Contact:
    id: int
    account_id: str
    name: str
    phone: str = ""
    email: str = ""


@dataclass(slots=True)
class Lead:
    id: int
    account_id: str
    scope_id: str
    chat_id: str
    contact_id: int
    first_message_id: str
    created_at: float
    source: str | None = None
    status: str = "incoming"


@dataclass(slots=True)
class Scope:
    """A channel connected to an account: ``scope_id = f"{channel_id}_{account_id}"``."""

    id: str
    channel_id: str
    account_id: str
    title: str
    hook_api_version: str
    is_time_window_disabled: bool
    connected: bool = True
    chats: dict[str, Chat] = field(default_factory=dict)
    chats_by_conversation: dict[str, Chat] = field(default_factory=dict)
    participants: dict[str, Participant] = field(default_factory=dict)
    participants_by_client_id: dict[str, Participant] = field(default_factory=dict)
    messages: dict[str, Message] = field(default_factory=dict)
    messages_by_msgid: dict[str, Message] = field(default_factory=dict)


def _opt(value: Any, default: Any = None) -> Any:
    """Real clients send optional fields as explicit nulls; treat them as absent."""
    return default if value is None else value


class Backend:
    """All of amojo's state and rules; every public method is atomic under one lock."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        ids: IdSource | None = None,
        journal_size: int = 10_000,
    ) -> None:
        #: Every state change is announced here (the durable store records it, the console shows it).
        self.changes = ChangeFeed()
        self.clock: Clock = TapedClock(clock or SystemClock(), self.changes)
        self.ids: IdSource = TapedIds(ids or RandomIds(), self.changes)
        self.journal = Journal(journal_size)
        self._lock = threading.RLock()
        self._seeders: list[Callable[[Backend], None]] = []
        self.channels: dict[str, Channel] = {}
        self.accounts: dict[str, Account] = {}
        self.scopes: dict[str, Scope] = {}
        self.chats: dict[str, Chat] = {}
        self.leads: dict[int, Lead] = {}
        self.contacts: dict[int, Contact] = {}
        #: (account id, "phone" or "email", value) -> the first contact with it: finding one stays O(1).
        self._contacts_by_key: dict[tuple[str, str, str], Contact] = {}
        self._next_crm_id = 1
        #: Unexpected exceptions the HTTP layer caught (bugs); the pytest plugin fails the test on them.
        self.server_errors: list[Exception] = []

    # -- lifecycle --------------------------------------------------------------------

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the state lock (for readers that walk several collections)."""
        with self._lock:
            yield

    def use_sources(self, *, clock: Clock, ids: IdSource) -> None:
        """Take times and ids from ``clock`` and ``ids`` from now on (a test's virtual clock).

        Not a state change: whatever a change draws from them is on its tape.
        """
        with self._lock:
            self.clock = TapedClock(clock, self.changes)
            self.ids = TapedIds(ids, self.changes)

    def add_seeder(self, seeder: Callable[[Backend], None]) -> None:
        """Run ``seeder`` now and again after every :meth:`reset` (start-up channels)."""
        with self._lock:
            self._seeders.append(seeder)
            seeder(self)

    def reset(self) -> None:
        """Forget everything, then re-create what the seeders create."""
        with self._lock:
            self.clear()
            for seeder in self._seeders:
                seeder(self)

    @mutation("state_cleared")
    def clear(self) -> None:
        """Forget everything (seeders not re-run: see :meth:`reset`)."""
        with self._lock:
            self.channels.clear()
            self.accounts.clear()
            self.scopes.clear()
            self.chats.clear()
            self.leads.clear()
            self.contacts.clear()
            self._contacts_by_key.clear()
            self.journal.clear()
            self.server_errors.clear()
            self._next_crm_id = 1

    def _crm_id(self) -> int:
        value = self._next_crm_id
        self._next_crm_id += 1
        return value

    # -- channels and accounts (control plane) ----------------------------------------

    @mutation("channel_registered")
    def register_channel(
        self,
        *,
        id: str | None = None,
        secret: str | None = None,
        name: str = "mock-amojo channel",
        webhook_url: str | None = None,
        hook_api_version: str = "v1",
        strict: bool = False,
        allowed_accounts: list[str] | None = None,
        write_first: bool = True,
        replace: bool = False,
    ) -> Channel:
        """Register a channel as amoCRM support would; id and secret are generated if absent."""
        with self._lock:
            channel_id = id or self.ids.new()
            if "_" in channel_id or "/" in channel_id:
                raise ControlError(
                    f"Channel id {channel_id!r} contains '_' or '/'.",
                    hint="scope ids are '{channel_id}_{account_id}', so a channel id cannot contain '_' or '/'; use a UUID.",
                )
            if channel_id in self.channels and not replace:
                raise ChannelExists(
                    f"A channel with id {channel_id!r} is already registered.",
                    hint="Use another id, or POST /__mock__/reset first.",
                )
            replaced = self.channels.get(channel_id)
            # Re-registering keeps the channel's bot: integrations hold its id as sender.ref_id.
            bot_id = replaced.bot.id if replaced is not None else self.ids.new()
            channel = Channel(
                id=channel_id,
                secret=secret or str(self.changes.draw(lambda: secrets.token_hex(20))),
                name=name,
                bot=Bot(id=bot_id, client_id=f"{channel_id}-bot", name=f"{name} bot"),
                webhook_url=webhook_url,
                hook_api_version=hook_api_version,
                strict=strict,
                allowed_accounts=set(allowed_accounts or ()),
                write_first=write_first,
            )
            self.channels[channel_id] = channel
            return channel

    @mutation("account_registered")
    def register_account(
        self, *, amojo_id: str | None = None, name: str | None = None, users: list[dict[str, str]] | None = None
    ) -> Account:
        """Create (or update) an account with its CRM users; a manager is added if none is given."""
        with self._lock:
            account_id = amojo_id or self.ids.new()
            if not _AMOJO_ID.fullmatch(account_id):
                raise ControlError(
                    f"Account id {account_id!r} is not an amojo id: letters, digits and '-' only.", hint="Use a UUID, as amoCRM does."
                )
            members = [User(id=u.get("amojo_id") or self.ids.new(), name=u["name"]) for u in users or []]
            existing = self.accounts.get(account_id)
            if existing is not None:
                if name:
                    existing.name = name
                existing.users.extend(m for m in members if all(m.id != u.id for u in existing.users))
                return existing
            account = Account(
                id=account_id, name=name or f"Account {account_id[:8]}", users=members or [User(id=self.ids.new(), name="Manager")]
            )
            self.accounts[account_id] = account
            return account

    @mutation("account_allowed")
    def allow_account(self, channel_id: str, account_id: str) -> Channel:
        """Let one more account connect to a private (strict) channel."""
        with self._lock:
            channel = self.channel(channel_id)
            channel.allowed_accounts.add(account_id)
            return channel

    @mutation("channel_webhook_set")
    def set_webhook_url(self, channel_id: str, webhook_url: str | None) -> Channel:
        """Send the channel's webhooks to ``webhook_url`` from now on (None: record them only)."""
        with self._lock:
            channel = self.channel(channel_id)
            channel.webhook_url = webhook_url
            return channel

    def channel(self, channel_id: str) -> Channel:
        with self._lock:
            channel = self.channels.get(channel_id)
            if channel is None:
                raise ChannelNotFound("channel id", channel_id)
            return channel

    def channel_for_scope(self, scope_id: str) -> Channel:
        """The channel a scope id names (its part before the first ``_``)."""
        channel_id, sep, _account = scope_id.partition("_")
        if not sep:
            raise ScopeNotFound("scope_id", scope_id)
        return self.channel(channel_id)

    # -- connect / disconnect ---------------------------------------------------------

    @mutation("account_connected")
    def connect(self, channel_id: str, body: dict[str, Any]) -> Scope:
        with self._lock:
            channel = self.channel(channel_id)
            account_id: str = body["account_id"]
            if not _AMOJO_ID.fullmatch(account_id):
                raise InvalidReference(
                    f"account_id {account_id!r} is not an amojo account id.",
                    hint="Use the account's amojo_id (GET /api/v4/account?with=amojo_id), a UUID.",
                    detail={"pointer": "/account_id", "value": account_id},
                )
            if channel.strict and account_id not in channel.allowed_accounts:
                raise AccountNotAllowed(
                    f"Account {account_id!r} is not allowed on private channel {channel.id!r}.",
                    hint="A private channel connects only the accounts listed at registration; add it to allowed_accounts via /__mock__/channels.",
                    detail={"account_id": account_id},
                )
            if account_id not in self.accounts:
                self.register_account(amojo_id=account_id)
            scope_id = f"{channel.id}_{account_id}"
            version = _opt(body.get("hook_api_version"), channel.hook_api_version)
            title = _opt(body.get("title"), channel.name)
            disabled = bool(_opt(body.get("is_time_window_disabled"), False))
            scope = self.scopes.get(scope_id)
            if scope is None:
                scope = Scope(scope_id, channel.id, account_id, title, version, disabled)
                self.scopes[scope_id] = scope
            else:
                scope.title, scope.hook_api_version, scope.is_time_window_disabled = title, version, disabled
                scope.connected = True
            return scope

    @mutation("account_disconnected")
    def disconnect(self, channel_id: str, body: dict[str, Any]) -> None:
        """Disconnecting an account that is not connected succeeds too (assumption: idempotent)."""
        with self._lock:
            channel = self.channel(channel_id)
            scope = self.scopes.get(f"{channel.id}_{body['account_id']}")
            if scope is not None:
                scope.connected = False

    def scope(self, scope_id: str) -> Scope:
        """A connected scope, or :class:`ScopeNotFound`."""
        with self._lock:
            scope = self.scopes.get(scope_id)
            if scope is None or not scope.connected:
                raise ScopeNotFound("scope_id", scope_id)
            return scope

    # -- participants -----------------------------------------------------------------

    def _client_participant(self, scope: Scope, data: dict[str, Any], pointer: str) -> Participant:
        """Find or create the client an integration user id (and/or amojo ref_id) names."""
        client_id = _opt(data.get("id"))
        ref_id = _opt(data.get("ref_id"))
        participant: Participant | None = None
        if ref_id is not None:
            participant = scope.participants.get(ref_id)
            if participant is None or participant.kind != "client":
                raise UserNotFound(f"{pointer}/ref_id", ref_id)
            if client_id is not None:
                bound = scope.participants_by_client_id.get(client_id)
                if bound is not None and bound is not participant:
                    raise InvalidReference(
                        f"{pointer}/id {client_id!r} already belongs to another amojo user than ref_id {ref_id!r}.",
                        hint="Send the ref_id amojo gave this client (the webhook's receiver.id), or omit ref_id.",
                        detail={"pointer": f"{pointer}/ref_id", "value": ref_id},
                    )
                if participant.client_id is None:
                    participant.client_id = client_id
                    scope.participants_by_client_id[client_id] = participant
                elif participant.client_id != client_id:
                    raise InvalidReference(
                        f"{pointer}/ref_id {ref_id!r} is linked to id {participant.client_id!r}, not {client_id!r}.",
                        hint="A client keeps the integration id it was first linked with; send that id with this ref_id.",
                        detail={"pointer": f"{pointer}/id", "value": client_id},
                    )
        elif client_id is not None:
            participant = scope.participants_by_client_id.get(client_id)
            if participant is None:
                participant = Participant(id=self.ids.new(), name=data.get("name") or client_id, client_id=client_id)
                scope.participants[participant.id] = participant
                scope.participants_by_client_id[client_id] = participant
        else:
            raise InvalidReference(
                f"{pointer} needs id or ref_id.", hint="Send the integration's user id as id.", detail={"pointer": pointer}
            )
        self._update_profile(participant, data)
        return participant

    @staticmethod
    def _update_profile(participant: Participant, data: dict[str, Any]) -> None:
        if data.get("name"):
            participant.name = data["name"]
        if data.get("avatar"):
            participant.avatar = data["avatar"]
        if data.get("profile_link"):
            participant.profile_link = data["profile_link"]
        profile = data.get("profile") or {}
        if profile.get("phone"):
            participant.phone = normalize_phone(profile["phone"])
        if profile.get("email"):
            participant.email = profile["email"]

    def _crm_participant(self, scope: Scope, data: dict[str, Any], pointer: str) -> Participant:
        """The CRM side of an outgoing (imported) message: an account user or the channel bot."""
        ref_id = _opt(data.get("ref_id"))
        channel = self.channels[scope.channel_id]
        if ref_id is None:
            raise InvalidReference(
                f"{pointer}/ref_id is required when a receiver is given (an outgoing message).",
                hint="Outgoing messages are imported as a CRM user (sender.ref_id = the user's amojo_id) or the channel bot (sender.ref_id = bot id).",
                detail={"pointer": f"{pointer}/ref_id"},
            )
        existing = scope.participants.get(ref_id)
        if existing is not None and existing.kind != "client":
            return existing
        if ref_id == channel.bot.id:
            bot = Participant(id=channel.bot.id, name=channel.bot.name, client_id=channel.bot.client_id, kind="bot")
            scope.participants[bot.id] = bot
            return bot
        account = self.accounts[scope.account_id]
        user = next((u for u in account.users if u.id == ref_id), None)
        if user is None:
            if channel.strict:
                raise UserNotFound(f"{pointer}/ref_id", ref_id)
            # A lenient channel learns the CRM users an integration imports, like a real account has them.
            user = User(id=ref_id, name=_opt(data.get("name"), "Manager"))
            account.users.append(user)
        participant = Participant(id=user.id, name=user.name, kind="user")
        scope.participants[participant.id] = participant
        return participant

    def manager(self, scope: Scope, user_id: str | None = None) -> Participant:
        """The CRM user acting in a scope (the account's first user unless one is named); changes nothing."""
        with self._lock:
            account = self.accounts[scope.account_id]
            user = account.users[0] if user_id is None else next((u for u in account.users if u.id == user_id), None)
            if user is None:
                raise UserNotFound("user_id", user_id or "")
            return scope.participants.get(user.id) or Participant(id=user.id, name=user.name, kind="user")

    def _acting_manager(self, scope: Scope, user_id: str | None) -> Participant:
        """:meth:`manager`, made a participant of the scope: a manager who acts in a chat takes part in it."""
        participant = self.manager(scope, user_id)
        scope.participants.setdefault(participant.id, participant)
        return participant

    # -- chats ------------------------------------------------------------------------

    def _new_chat(
        self, scope: Scope, client: Participant, conversation_id: str | None, source: str | None, *, initiated_by_crm: bool = False
    ) -> Chat:
        now = self.clock.now()
        chat = Chat(
            id=self.ids.new(),
            scope_id=scope.id,
            client=client,
            created_at=now,
            conversation_id=conversation_id,
            source=source,
            initiated_by_crm=initiated_by_crm,
            last_activity=now,
        )
        scope.chats[chat.id] = chat
        if conversation_id is not None:
            scope.chats_by_conversation[conversation_id] = chat
        self.chats[chat.id] = chat
        return chat

    @mutation("chat_created")
    def create_chat(self, scope_id: str, body: dict[str, Any]) -> Chat:
        """Idempotent on ``conversation_id``: an existing chat is returned as it is."""
        with self._lock:
            scope = self.scope(scope_id)
            existing = scope.chats_by_conversation.get(body["conversation_id"])
            if existing is not None:
                return existing
            client = self._client_participant(scope, body["user"], "/user")
            source = (_opt(body.get("source")) or {}).get("external_id")
            return self._new_chat(scope, client, body["conversation_id"], source)

    def _chat_by_ids(self, scope: Scope, conversation_id: str | None, ref_id: str | None) -> Chat:
        if ref_id is not None:
            chat = scope.chats.get(ref_id)
            if chat is None:
                raise ChatNotFound("conversation_ref_id", ref_id)
            return chat
        if conversation_id is None:
            raise ChatNotFound("conversation_id", "")
        chat = scope.chats_by_conversation.get(conversation_id)
        if chat is None:
            raise ChatNotFound("conversation_id", conversation_id)
        return chat

    def chat(self, scope_id: str, chat_id: str) -> Chat | None:
        """A chat of this scope by amojo id, or None (history answers 204 then)."""
        with self._lock:
            return self.scope(scope_id).chats.get(chat_id)

    # -- messages ---------------------------------------------------------------------

    @mutation("message_received", "message_imported", "message_edited")
    def send_message(self, scope_id: str, body: dict[str, Any]) -> Message:
        """``POST /{scope_id}``: ``new_message`` or ``edit_message``."""
        with self._lock:
            scope = self.scope(scope_id)
            if body["event_type"] == "edit_message":
                return self._edit_message(scope, body["payload"])
            return self._new_message(scope, body["payload"])

    def _resolve_conversation(self, scope: Scope, payload: dict[str, Any], client: Participant | None) -> tuple[Chat | None, bool]:
        """The chat a message goes to (None: a new one) and whether it must be linked to ``conversation_id``.

        Read-only: every refusal happens before anything changes.
        """
        conversation_id: str = payload["conversation_id"]
        ref_id = _opt(payload.get("conversation_ref_id"))
        if ref_id is None:
            return scope.chats_by_conversation.get(conversation_id), False
        chat = scope.chats.get(ref_id)
        if chat is None:
            raise ChatNotFound("conversation_ref_id", ref_id)
        if chat.conversation_id is None:
            other = scope.chats_by_conversation.get(conversation_id)
            if other is not None and other is not chat:
                raise InvalidReference(
                    f"conversation_id {conversation_id!r} already names another chat than conversation_ref_id {ref_id!r}.",
                    hint="Use a new conversation_id for a chat started from the CRM, or drop conversation_ref_id.",
                    detail={"pointer": "/payload/conversation_id", "value": conversation_id},
                )
        elif chat.conversation_id != conversation_id:
            raise InvalidReference(
                f"conversation_ref_id {ref_id!r} is linked to conversation_id {chat.conversation_id!r}, not {conversation_id!r}.",
                hint="Send the conversation_id this chat was linked with, or omit conversation_ref_id.",
                detail={"pointer": "/payload/conversation_ref_id", "value": ref_id},
            )
        if client is not None and chat.client is not client:
            raise InvalidReference(
                "The sender is not the client of the chat conversation_ref_id names.",
                hint="Send sender.ref_id = the webhook's receiver.id together with your own sender.id.",
                detail={"pointer": "/payload/sender", "value": client.client_id},
            )
        return chat, chat.conversation_id is None

    @staticmethod
    def _link(scope: Scope, chat: Chat, conversation_id: str) -> None:
        # The client's first answer in a chat the CRM started: amojo links the two ids here.
        chat.conversation_id = conversation_id
        scope.chats_by_conversation[conversation_id] = chat

    def _embedded(self, scope: Scope, embedded: dict[str, Any], pointer: str, chat: Chat | None, *, same_chat: bool) -> dict[str, Any]:
        """Resolve a quoted/forwarded message given by id or msgid; keep inline ones as sent."""
        amojo_id, msgid = _opt(embedded.get("id")), _opt(embedded.get("msgid"))
        if amojo_id is None and msgid is None:
            return dict(embedded)
        target = scope.messages.get(amojo_id) if amojo_id is not None else scope.messages_by_msgid.get(msgid or "")
        if target is None:
            raise MessageNotFound(f"{pointer}/{'id' if amojo_id is not None else 'msgid'}", amojo_id or msgid or "")
        if same_chat and (chat is None or target.chat_id != chat.id):
            raise InvalidReference(
                "A quoted message must be in the same chat (amojo-api.md §3.4).",
                hint="reply_to may only quote a message of this conversation; use forwards for other chats.",
                detail={"pointer": pointer, "value": amojo_id or msgid},
            )
        return {"id": target.id, "msgid": target.msgid, "type": target.content.get("type"), "text": target.content.get("text", "")}

    def _new_message(self, scope: Scope, payload: dict[str, Any]) -> Message:
        msgid: str = payload["msgid"]
        if msgid in scope.messages_by_msgid:
            raise DuplicateMessageId(
                f"msgid {msgid!r} was already sent in this scope.",
                hint="amojo accepts each payload.msgid once; give every message its own id (and use edit_message to change one).",
                detail={"pointer": "/payload/msgid", "value": msgid},
            )
        receiver_data = _opt(payload.get("receiver"))
        source = (_opt(payload.get("source")) or {}).get("external_id")
        if receiver_data is None:
            direction: Direction = "incoming"
            sender = self._client_participant(scope, payload["sender"], "/payload/sender")
            chat, link = self._resolve_conversation(scope, payload, sender)
            receiver = None
            origin: Origin = "integration"
            client = sender
        else:
            direction = "outgoing"
            sender = self._crm_participant(scope, payload["sender"], "/payload/sender")
            receiver = self._client_participant(scope, receiver_data, "/payload/receiver")
            chat, link = self._resolve_conversation(scope, payload, None)
            origin = "bot" if sender.kind == "bot" else "import"
            client = receiver
        reply_to = _opt(payload.get("reply_to"))
        if reply_to is not None:
            reply_to = {"message": self._embedded(scope, reply_to["message"], "/payload/reply_to/message", chat, same_chat=True)}
        forwards = _opt(payload.get("forwards"))
        if forwards is not None:
            forwards = dict(forwards)
            forwards["messages"] = [
                self._embedded(scope, m, f"/payload/forwards/messages/{i}", None, same_chat=False)
                for i, m in enumerate(forwards["messages"])
            ]
        # Every refusal is behind us: from here on the state changes.
        if chat is None:
            chat = self._new_chat(scope, client, payload["conversation_id"], source)
        elif link:
            self._link(scope, chat, payload["conversation_id"])
        timestamp: int = payload["timestamp"]
        now = self.clock.now()
        message = Message(
            id=self.ids.new(),
            chat_id=chat.id,
            direction=direction,
            origin=origin,
            sender=sender,
            receiver=receiver,
            timestamp=timestamp,
            msec_timestamp=_opt(payload.get("msec_timestamp"), timestamp * 1000),
            content={k: v for k, v in payload["message"].items() if v is not None},
            received_at=now,
            msgid=msgid,
            silent=bool(_opt(payload.get("silent"), False)),
            source=source or chat.source,
            reply_to=reply_to,
            forwards=forwards,
        )
        if direction == "outgoing":
            message.statuses = _appended(message.statuses, StatusRecord("sent", None, at=now))
        self._store_message(scope, chat, message)
        if direction == "incoming" and not message.silent and chat.lead_id is None:
            self._create_lead(scope, chat, message)
        return message

    def _store_message(self, scope: Scope, chat: Chat, message: Message) -> None:
        chat.messages.append(message)
        chat.last_activity = message.received_at
        chat.typing = None
        scope.messages[message.id] = message
        if message.msgid is not None:
            scope.messages_by_msgid[message.msgid] = message

    def _create_lead(self, scope: Scope, chat: Chat, message: Message) -> None:
        """amoCRM's incoming lead: made by a chat's first non-silent client message."""
        client = chat.client
        contact = self._find_contact(scope.account_id, client.phone, client.email)
        if contact is None:
            contact = self._add_contact(Contact(self._crm_id(), scope.account_id, client.name, client.phone, client.email))
        lead = Lead(self._crm_id(), scope.account_id, scope.id, chat.id, contact.id, message.id, message.received_at, message.source)
        self.leads[lead.id] = lead
        chat.lead_id = lead.id

    def _find_contact(self, account_id: str, phone: str, email: str) -> Contact | None:
        """The account's oldest contact with this phone or this email (amoCRM de-duplicates on both)."""
        by_phone = self._contacts_by_key.get((account_id, "phone", phone)) if phone else None
        by_email = self._contacts_by_key.get((account_id, "email", email)) if email else None
        if by_phone is None or by_email is None:
            return by_phone or by_email
        return by_phone if by_phone.id < by_email.id else by_email

    def _add_contact(self, contact: Contact) -> Contact:
        self.contacts[contact.id] = contact
        # Only the first contact with a phone or email is ever found by it: keep that one.
        if contact.phone:
            self._contacts_by_key.setdefault((contact.account_id, "phone", contact.phone), contact)
        if contact.email:
            self._contacts_by_key.setdefault((contact.account_id, "email", contact.email), contact)
        return contact

    def _find_message(self, scope: Scope, amojo_id: str | None, msgid: str | None, conversation_id: str | None = None) -> Message:
        if amojo_id is not None:
            message = scope.messages.get(amojo_id)
            field_name, value = "id", amojo_id
        else:
            message = scope.messages_by_msgid.get(msgid or "")
            field_name, value = "msgid", msgid or ""
        if message is None:
            raise MessageNotFound(field_name, value)
        if conversation_id is not None and self.chats[message.chat_id].conversation_id != conversation_id:
            raise MessageNotFound(f"{field_name} in conversation {conversation_id!r}", value)
        return message

    def _edit_message(self, scope: Scope, payload: dict[str, Any]) -> Message:
        amojo_id, msgid = _opt(payload.get("id")), _opt(payload.get("msgid"))
        message = self._find_message(scope, amojo_id, None if amojo_id is not None else msgid, _opt(payload.get("conversation_id")))
        now = self.clock.now()
        if amojo_id is not None and msgid is not None and msgid != message.msgid:
            # Both ids given: msgid becomes the message's new integration-side id (amojo-api.md §3.4).
            taken = scope.messages_by_msgid.get(msgid)
            if taken is not None and taken is not message:
                raise DuplicateMessageId(
                    f"msgid {msgid!r} already names another message.",
                    hint="Pick an unused msgid.",
                    detail={"pointer": "/payload/msgid", "value": msgid},
                )
            if message.msgid is not None:
                scope.messages_by_msgid.pop(message.msgid, None)
            message.msgid = msgid
            scope.messages_by_msgid[msgid] = message
        changes = {k: v for k, v in payload["message"].items() if v is not None and k != "delivery_status"}
        message.edits = _appended(message.edits, {"at": now, "previous": dict(message.content), "changes": changes})
        message.content.update(changes)
        status = _opt(payload["message"].get("delivery_status"))
        if status:
            self._record_status(message, status.get("status_code"), status.get("error_code"), status.get("error"))
        return message

    def _record_status(self, message: Message, code: Any, error_code: Any, error: Any) -> None:
        name = STATUS_NAMES.get(code, str(code)) if isinstance(code, int) else "unknown"
        is_error = code == -1
        message.statuses = _appended(
            message.statuses,
            StatusRecord(
                name,
                code,
                error_code if is_error else None,
                (error or ERROR_CODES.get(error_code, "")) if is_error else "",
                self.clock.now(),
            ),
        )

    @mutation("delivery_status_reported")
    def delivery_status(self, scope_id: str, amojo_msgid: str, body: dict[str, Any]) -> Message:
        """Record a status the integration reports; every transition is accepted and kept (the reference names none impossible)."""
        with self._lock:
            scope = self.scope(scope_id)
            message = scope.messages.get(amojo_msgid)
            if message is None:
                raise MessageNotFound("msgid", amojo_msgid)
            code = _opt(body.get("delivery_status"), body.get("status_code"))
            self._record_status(message, code, _opt(body.get("error_code")), _opt(body.get("error")))
            return message

    def history(self, scope_id: str, chat_id: str, offset: int, limit: int) -> list[Message]:
        """Newest first; ``offset`` skips the newest ones. Empty when the chat is unknown."""
        with self._lock:
            chat = self.scope(scope_id).chats.get(chat_id)
            if chat is None:
                return []
            end = len(chat.messages) - offset
            if end <= 0:
                return []
            page = chat.messages[max(0, end - limit) : end]
            page.reverse()
            return page

    @mutation("typing_reported")
    def typing(self, scope_id: str, body: dict[str, Any]) -> Chat:
        with self._lock:
            scope = self.scope(scope_id)
            chat = self._chat_by_ids(scope, _opt(body.get("conversation_id")), _opt(body.get("conversation_ref_id")))
            sender = body["sender"]
            duration_ms = _opt(body.get("duration_ms"), 5000)
            chat.typing = {"user": _opt(sender.get("ref_id"), sender.get("id")), "until": self.clock.now() + duration_ms / 1000}
            return chat

    @mutation("reaction_reported")
    def react(self, scope_id: str, body: dict[str, Any]) -> Message:
        """One reaction per user and message: react replaces it, unreact removes it."""
        with self._lock:
            scope = self.scope(scope_id)
            chat = self._chat_by_ids(scope, _opt(body.get("conversation_id")), _opt(body.get("conversation_ref_id")))
            amojo_id = _opt(body.get("id"))
            message = self._find_message(scope, amojo_id, None if amojo_id is not None else _opt(body.get("msgid")))
            if message.chat_id != chat.id:
                raise MessageNotFound("id" if amojo_id is not None else "msgid", amojo_id or body.get("msgid") or "")
            user = body["user"]
            user_key = _opt(user.get("ref_id"), user.get("id"))
            message.reactions = [r for r in message.reactions if r["user"] != user_key]
            if body["type"] == "react":
                message.reactions = _appended(
                    message.reactions, {"user": user_key, "emoji": body.get("emoji") or "", "at": self.clock.now()}
                )
            return message

    # -- the CRM side: a manager acting in amoCRM (operator) ---------------------------
    #
    # State only; mock_amojo.operator pairs each of these with the webhook amojo sends.

    def _operator_chat(self, scope: Scope, conversation_id: str | None, chat_id: str | None) -> Chat:
        """The chat a manager acts in, named by the integration's id or amojo's (not both differently)."""
        if chat_id is not None:
            chat = scope.chats.get(chat_id)
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
        chat = scope.chats_by_conversation.get(conversation_id)
        if chat is None:
            raise ChatNotFound("conversation_id", conversation_id)
        return chat

    def _operator_message(self, scope: Scope, chat: Chat, content: dict[str, Any], sender: Participant) -> Message:
        now = self.clock.now()
        message = Message(
            id=self.ids.new(),
            chat_id=chat.id,
            direction="outgoing",
            origin="operator",
            sender=sender,
            receiver=chat.client,
            timestamp=int(now),
            msec_timestamp=int(now * 1000),
            content={k: v for k, v in content.items() if v is not None},
            received_at=now,
            source=chat.source,
        )
        # amoCRM marks its own messages "sent"; the integration reports the rest (amojo-api.md §3.5).
        message.statuses = _appended(message.statuses, StatusRecord("sent", None, at=now))
        self._store_message(scope, chat, message)
        chat.operator_typing = None
        return message

    @mutation("manager_replied")
    def operator_reply(
        self,
        scope_id: str,
        *,
        conversation_id: str | None = None,
        chat_id: str | None = None,
        message: dict[str, Any],
        user_id: str | None = None,
        reply_to: str | None = None,
    ) -> Message:
        """A manager answers in a chat: stored as amojo stores it, status ``sent``.

        ``reply_to`` quotes a message of the same chat (amojo id).

        >>> from mock_amojo.clock import ManualClock, SequentialIds
        >>> backend = Backend(clock=ManualClock(1639609975), ids=SequentialIds())
        >>> channel = backend.register_channel(secret="0" * 40)
        >>> scope = backend.connect(channel.id, {"account_id": "acc-1"})
        >>> chat = backend.create_chat(scope.id, {"conversation_id": "c1", "user": {"id": "u1", "name": "Ann"}})
        >>> reply = backend.operator_reply(scope.id, conversation_id="c1", message={"type": "text", "text": "Hi"})
        >>> reply.origin, reply.status, reply.receiver.client_id
        ('operator', 'sent', 'u1')
        """
        with self._lock:
            scope = self.scope(scope_id)
            chat = self._operator_chat(scope, conversation_id, chat_id)
            quoted = None if reply_to is None else self._embedded(scope, {"id": reply_to}, "/reply_to/message_id", chat, same_chat=True)
            sent = self._operator_message(scope, chat, message, self._acting_manager(scope, user_id))
            if quoted is not None:
                sent.reply_to = {"message": quoted}
            return sent

    @mutation("manager_wrote_first")
    def operator_initiate(
        self,
        scope_id: str,
        *,
        phone: str,
        message: dict[str, Any],
        name: str | None = None,
        user_id: str | None = None,
        source: str | None = None,
    ) -> Message:
        """A manager writes first from a lead card: a new chat with no ``conversation_id`` yet.

        The client's answer links it: ``new_message`` with ``conversation_ref_id`` = this chat's
        id and ``sender.ref_id`` = the client's amojo id (amojo-api.md §4.2).

        >>> from mock_amojo.clock import ManualClock, SequentialIds
        >>> backend = Backend(clock=ManualClock(1639609975), ids=SequentialIds())
        >>> channel = backend.register_channel(secret="0" * 40)
        >>> scope = backend.connect(channel.id, {"account_id": "acc-1"})
        >>> first = backend.operator_initiate(scope.id, phone="+7 916 123-45-67", message={"type": "text", "text": "Hello"})
        >>> chat = backend.chats[first.chat_id]
        >>> chat.conversation_id is None, chat.initiated_by_crm, first.receiver.phone
        (True, True, '79161234567')
        """
        with self._lock:
            scope = self.scope(scope_id)
            channel = self.channels[scope.channel_id]
            if not channel.write_first:
                raise WriteFirstDisabled(
                    f'Channel {channel.id!r} does not have "write first" enabled.',
                    hint="amoCRM support enables it per channel; in the fake set write_first=true via POST /__mock__/channels.",
                    detail={"channel_id": channel.id},
                )
            digits = normalize_phone(phone)
            if not digits:
                raise InvalidReference(
                    f"phone {phone!r} has no digits.",
                    hint="Give the client's phone number, e.g. +79161234567.",
                    detail={"pointer": "/phone", "value": phone},
                )
            sender = self._acting_manager(scope, user_id)
            # Every refusal is behind us: from here on the state changes.
            client = Participant(id=self.ids.new(), name=name or f"+{digits}", phone=digits)
            scope.participants[client.id] = client
            chat = self._new_chat(scope, client, None, source, initiated_by_crm=True)
            sent = self._operator_message(scope, chat, message, sender)
            contact = self._find_contact(scope.account_id, digits, "")
            if contact is None:
                contact = self._add_contact(Contact(self._crm_id(), scope.account_id, client.name, digits))
            # The manager wrote from an existing lead, so the client's answer must not open an incoming lead.
            lead = Lead(
                self._crm_id(), scope.account_id, scope.id, chat.id, contact.id, sent.id, sent.received_at, source, "opened_from_crm"
            )
            self.leads[lead.id] = lead
            chat.lead_id = lead.id
            return sent

    @mutation("manager_typed")
    def operator_typing(
        self, scope_id: str, *, conversation_id: str | None = None, chat_id: str | None = None, user_id: str | None = None
    ) -> Chat:
        """A manager types. ``chat.operator_typing["notify"]`` is False within 5 s of the last hook (amojo-api.md §4.3)."""
        with self._lock:
            scope = self.scope(scope_id)
            chat = self._operator_chat(scope, conversation_id, chat_id)
            user = self._acting_manager(scope, user_id)
            now = self.clock.now()
            previous = chat.operator_typing
            throttled = previous is not None and previous["user"] == user.id and now < previous["hook_at"] + TYPING_HOOK_INTERVAL
            chat.operator_typing = {
                "user": user.id,
                "started_at": now,
                "expired_at": int(now) + TYPING_HOOK_INTERVAL,
                "hook_at": previous["hook_at"] if throttled and previous is not None else now,
                "notify": not throttled,
            }
            return chat

    @mutation("manager_reacted")
    def operator_react(
        self, scope_id: str, *, message_id: str, emoji: str | None, type: str = "react", user_id: str | None = None
    ) -> Message:
        """A manager reacts to a message (amojo id); one reaction per user, ``unreact`` removes it."""
        with self._lock:
            scope = self.scope(scope_id)
            message = scope.messages.get(message_id)
            if message is None:
                raise MessageNotFound("message_id", message_id)
            # type and emoji were checked against operator_react.request.json (HTTP and Operator alike).
            user = self._acting_manager(scope, user_id)
            message.reactions = [r for r in message.reactions if r["user"] != user.id]
            if type == "react":
                message.reactions = _appended(message.reactions, {"user": user.id, "emoji": emoji, "at": self.clock.now()})
            return message
