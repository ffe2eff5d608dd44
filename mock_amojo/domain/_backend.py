"""The :class:`Backend`: amojo's state behind one lock, changed only by its recorded operations.

Each public method that changes state is one domain event (``@mutation``, see
:mod:`mock_amojo.domain._events`) and delegates the rules to the entities and services of this
package; reads are in :class:`~mock_amojo.domain._reads.Reads`.

Integration requests come in as the typed values of :mod:`mock_amojo.wire._requests`, parsed once
from their checked bodies (``parse_*``), or built directly:

>>> from mock_amojo import ManualClock, SequentialIds
>>> from mock_amojo.wire import Connect, CreateChat, Party, Text
>>> backend = Backend(clock=ManualClock(1639609975), ids=SequentialIds())
>>> channel = backend.register_channel(secret="0" * 40)
>>> scope = backend.connect(channel.id, Connect("acc-1"))
>>> chat = backend.create_chat(scope.id, CreateChat("c1", Party("u1", name="Ann")))
>>> reply = backend.operator_reply(scope.id, conversation_id="c1", message=Text("Hi"))
>>> reply.origin, reply.status, reply.receiver.client_id
('operator', 'sent', 'u1')

A manager writing first opens a chat with no ``conversation_id`` yet; the client's answer
links it: ``new_message`` with ``conversation_ref_id`` = this chat's id and ``sender.ref_id`` =
the client's amojo id (amojo-api.md §4.2).

>>> first = backend.operator_initiate(scope.id, phone="+7 916 123-45-67", message=Text("Hello"))
>>> chat = backend.chat_of(first)
>>> chat.conversation_id is None, chat.initiated_by_crm, first.receiver.phone
(True, True, '79161234567')
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Literal

from ..config import DEFAULT_JOURNAL_BYTES
from ..wire._requests import Connect, CreateChat, Disconnect, EditMessage, NewMessage, React, StatusReport, Typing
from ..wire._values import MessageContent
from . import _conversations as conversations
from . import _operator as operator
from . import _registry as registry
from ._changes import Change, ChangeFeed, TapedClock, TapedIds, mutation
from ._chats import Chat, Scope
from ._clock import Clock, IdSource, RandomIds, SystemClock
from ._crm_backend import CrmOperations
from ._journal import Journal
from ._messages import Message
from ._parties import Account, Channel, ChannelChanges
from ._reads import Reads
from ._state import State

if TYPE_CHECKING:
    from ..wire._stances import Stances


class Backend(CrmOperations, Reads):
    """All of amojo's and amoCRM's state and rules; every public method is atomic under one lock."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        ids: IdSource | None = None,
        journal_size: int = 10_000,
        journal_bytes: int = DEFAULT_JOURNAL_BYTES,
    ) -> None:
        #: Every state change is announced here (the durable store records it, the console shows it).
        self.changes = ChangeFeed()
        self.journal = Journal(journal_size, max_bytes=journal_bytes)
        self._lock = threading.RLock()
        self._state = State(TapedClock(clock or SystemClock(), self.changes), TapedIds(ids or RandomIds(), self.changes))
        self._seeders: list[Callable[[Backend], None]] = []
        #: Unexpected exceptions the HTTP layer caught (bugs); the pytest plugin fails the test on them.
        self.server_errors: list[Exception] = []

    @property
    def clock(self) -> Clock:
        """Where times come from (readings taken during a change go on its tape)."""
        return self._state.clock

    @property
    def stances(self) -> Stances:
        """What the rules amoCRM's documents disagree on do (:mod:`mock_amojo.wire._stances`); a setting, not state."""
        return self._state.stances

    @stances.setter
    def stances(self, stances: Stances) -> None:
        with self._lock:
            self._state.stances = stances

    @property
    def ids(self) -> IdSource:
        """Where ids come from (ids drawn during a change go on its tape)."""
        return self._state.ids

    # -- lifecycle --------------------------------------------------------------------

    def use_sources(self, *, clock: Clock, ids: IdSource) -> None:
        """Take times and ids from ``clock`` and ``ids`` from now on (a test's virtual clock).

        Not a state change: whatever a change draws from them is on its tape.
        """
        with self._lock:
            self._state.clock = TapedClock(clock, self.changes)
            self._state.ids = TapedIds(ids, self.changes)

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

    def restore(self, changes: Iterable[Change], recorder: Callable[[Change], None]) -> tuple[int, int]:
        """Replay recorded ``changes`` into this (fresh) backend, then hand every new change to ``recorder``.

        Returns how many changes were replayed and how many of them ended unlike they were recorded.
        """
        replayed = diverged = 0
        with self._lock:
            configured = self._state.stances
            # Whatever the stances were when a change was recorded: an accepted change passed every rule
            # it broke (none strict), a refused one broke a rule or another check (all strict refuses it again).
            accepting, refusing = configured.all("off"), configured.all("strict")
            try:
                for change in changes:
                    self._state.stances = refusing if change.failed else accepting
                    if not self.changes.replay(self, change):
                        diverged += 1
                    replayed += 1
            finally:
                self._state.stances = configured
            self.changes.add_recorder(recorder)
        return replayed, diverged

    @mutation("state_cleared")
    def clear(self) -> None:
        """Forget everything (seeders not re-run: see :meth:`reset`)."""
        with self._lock:
            self._state.clear()
            self.journal.clear()
            self.server_errors.clear()

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
            return registry.register_channel(
                self._state,
                self.changes,
                id=id,
                secret=secret,
                name=name,
                webhook_url=webhook_url,
                hook_api_version=hook_api_version,
                strict=strict,
                allowed_accounts=allowed_accounts,
                write_first=write_first,
                replace=replace,
            )

    @mutation("channel_changed")
    def update_channel(self, channel_id: str, changes: ChannelChanges) -> Channel:
        """Change a registered channel's settings; the ones ``changes`` does not give keep their value."""
        with self._lock:
            return registry.update_channel(self._state.channel(channel_id), self.changes, changes)

    @mutation("account_registered")
    def register_account(
        self, *, amojo_id: str | None = None, name: str | None = None, users: list[dict[str, str]] | None = None
    ) -> Account:
        """Create (or update) an account with its CRM users; a manager is added if none is given."""
        with self._lock:
            return registry.register_account(self._state, amojo_id, name, users)

    @mutation("account_allowed")
    def allow_account(self, channel_id: str, account_id: str) -> Channel:
        """Let one more account connect to a private (strict) channel."""
        with self._lock:
            channel = self._state.channel(channel_id)
            channel.allowed_accounts.add(account_id)
            return channel

    @mutation("channel_webhook_set")
    def set_webhook_url(self, channel_id: str, webhook_url: str | None) -> Channel:
        """Send the channel's webhooks to ``webhook_url`` from now on (None: record them only)."""
        with self._lock:
            channel = self._state.channel(channel_id)
            channel.webhook_url = webhook_url
            return channel

    # -- what the integration does ----------------------------------------------------

    @mutation("account_connected")
    def connect(self, channel_id: str, request: Connect) -> Scope:
        """Connect an account to a channel (an unknown account is registered)."""
        with self._lock:
            return registry.connect(self._state, self._state.channel(channel_id), request)

    @mutation("account_disconnected")
    def disconnect(self, channel_id: str, request: Disconnect) -> None:
        """Disconnecting an account that is not connected succeeds too (assumption: idempotent)."""
        with self._lock:
            channel = self._state.channel(channel_id)
            scope = self._state.scopes.get(f"{channel.id}_{request.account_id}")
            if scope is not None:
                scope.connected = False

    @mutation("chat_created")
    def create_chat(self, scope_id: str, request: CreateChat) -> Chat:
        """Idempotent on ``conversation_id``: an existing chat is returned as it is."""
        with self._lock:
            return conversations.create_chat(self._state, self._state.scope(scope_id), request)

    @mutation("message_received", "message_imported", "message_edited")
    def send_message(self, scope_id: str, request: NewMessage | EditMessage) -> Message:
        """``POST /{scope_id}``: ``new_message`` or ``edit_message``."""
        with self._lock:
            state = self._state
            scope = state.scope(scope_id)
            if isinstance(request, EditMessage):
                return conversations.edit_message(state, scope, request)
            return conversations.new_message(state, scope, request)

    @mutation("delivery_status_reported")
    def delivery_status(self, scope_id: str, amojo_msgid: str, report: StatusReport) -> Message:
        """Record a status the integration reports; every transition is accepted and kept (the reference names none impossible)."""
        with self._lock:
            return conversations.delivery_status(self._state, self._state.scope(scope_id), amojo_msgid, report)

    @mutation("typing_reported")
    def typing(self, scope_id: str, request: Typing) -> Chat:
        """A client types in a chat."""
        with self._lock:
            return conversations.typing(self._state, self._state.scope(scope_id), request)

    @mutation("reaction_reported")
    def react(self, scope_id: str, request: React) -> Message:
        """One reaction per user and message: react replaces it, unreact removes it."""
        with self._lock:
            return conversations.react(self._state, self._state.scope(scope_id), request)

    # -- what a manager does in amoCRM (state only: mock_amojo.operator sends the hooks) --

    @mutation("manager_replied")
    def operator_reply(
        self,
        scope_id: str,
        *,
        conversation_id: str | None = None,
        chat_id: str | None = None,
        message: MessageContent,
        user_id: str | None = None,
        reply_to: str | None = None,
    ) -> Message:
        """A manager answers in a chat: stored as amojo stores it, status ``sent``; ``reply_to`` quotes a message of it (amojo id)."""
        with self._lock:
            return operator.reply(self._state, self._state.scope(scope_id), conversation_id, chat_id, message, user_id, reply_to)

    @mutation("manager_wrote_first")
    def operator_initiate(
        self,
        scope_id: str,
        *,
        phone: str,
        message: MessageContent,
        name: str | None = None,
        user_id: str | None = None,
        source: str | None = None,
    ) -> Message:
        """A manager writes first from a lead card: a new chat with no ``conversation_id`` yet (see the module docs)."""
        with self._lock:
            return operator.initiate(self._state, self._state.scope(scope_id), phone, message, name, user_id, source)

    @mutation("manager_typed")
    def operator_typing(
        self, scope_id: str, *, conversation_id: str | None = None, chat_id: str | None = None, user_id: str | None = None
    ) -> Chat:
        """A manager types. ``chat.operator_typing.notify`` is False within 5 s of the last hook (amojo-api.md §4.3)."""
        with self._lock:
            return operator.typing(self._state, self._state.scope(scope_id), conversation_id, chat_id, user_id)

    @mutation("manager_reacted")
    def operator_react(
        self, scope_id: str, *, message_id: str, emoji: str | None, type: Literal["react", "unreact"] = "react", user_id: str | None = None
    ) -> Message:
        """A manager reacts to a message (amojo id); one reaction per user, ``unreact`` removes it."""
        with self._lock:
            return operator.react(self._state, self._state.scope(scope_id), message_id, emoji, type, user_id)
