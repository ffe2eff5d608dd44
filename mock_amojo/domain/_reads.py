"""The backend's read API: what readers outside the domain need, taken under the state lock.

Readers get entities or lists copied under the lock — never the backend's own collections —
so no module outside the domain holds the lock or walks a dict another thread may grow.
"""

from __future__ import annotations

import threading

import msgspec

from ..errors import ScopeNotFound
from ._chats import Chat, Scope
from ._crm import Contact, Lead
from ._messages import Message
from ._parties import Account, Channel, Participant, manager
from ._state import State


class Snapshot(msgspec.Struct, frozen=True):
    """The state at one moment: every collection copied under the lock (the entities themselves are shared)."""

    channels: tuple[Channel, ...]
    accounts: tuple[Account, ...]
    scopes: tuple[Scope, ...]
    #: The chats of ``scopes``, scope by scope, oldest first.
    chats: tuple[Chat, ...]
    #: The leads of ``scopes``.
    leads: tuple[Lead, ...]
    #: Every contact, or with a scope named, the contacts of its leads.
    contacts: tuple[Contact, ...]


class Reads:
    """Lookups and listings; each one holds the state lock while it reads."""

    _state: State
    _lock: threading.RLock

    # -- channels, accounts, scopes -------------------------------------------------------

    def channel(self, channel_id: str) -> Channel:
        """A registered channel, or :class:`~mock_amojo.errors.ChannelNotFound`."""
        with self._lock:
            return self._state.channel(channel_id)

    def find_channel(self, channel_id: str) -> Channel | None:
        """A registered channel, or None."""
        with self._lock:
            return self._state.channels.get(channel_id)

    def channel_list(self) -> list[Channel]:
        """Registered channels, in registration order."""
        with self._lock:
            return list(self._state.channels.values())

    def channel_secrets(self) -> tuple[str, ...]:
        """Every channel's secret (to redact them from what is shown)."""
        with self._lock:
            return tuple(channel.secret for channel in self._state.channels.values())

    def channel_for_scope(self, scope_id: str) -> Channel:
        """The channel a scope id names (its part before the first ``_``)."""
        channel_id, sep, _account = scope_id.partition("_")
        if not sep:
            raise ScopeNotFound("scope_id", scope_id)
        return self.channel(channel_id)

    def account(self, account_id: str) -> Account | None:
        """An account by amojo id, or None."""
        with self._lock:
            return self._state.accounts.get(account_id)

    def scope(self, scope_id: str) -> Scope:
        """A connected scope, or :class:`~mock_amojo.errors.ScopeNotFound`."""
        with self._lock:
            return self._state.scope(scope_id)

    def find_scope(self, scope_id: str) -> Scope | None:
        """A scope, connected or not, or None."""
        with self._lock:
            return self._state.scopes.get(scope_id)

    def connected_scopes(self, channel_id: str) -> list[Scope]:
        """The channel's connected scopes, oldest first."""
        with self._lock:
            return [s for s in self._state.scopes.values() if s.channel_id == channel_id and s.connected]

    def manager(self, scope: Scope | str, user_id: str | None = None) -> Participant:
        """The CRM user acting in a scope (the account's first user unless one is named); changes nothing."""
        with self._lock:
            known = self._state.scopes[scope] if isinstance(scope, str) else scope
            return manager(known, self._state.accounts[known.account_id], user_id)

    def display_names(self, scope: Scope) -> dict[str, str]:
        """amojo user id (and integration id) → display name of everyone in a scope."""
        with self._lock:
            participants = list(scope.participants.values())
            names = {p.id: p.name for p in participants}
            names.update({p.client_id: p.name for p in participants if p.client_id})
            account = self._state.accounts.get(scope.account_id)
            if account is not None:
                names.update({u.id: u.name for u in account.users})
            return names

    # -- chats and messages ---------------------------------------------------------------

    def chat(self, scope_id: str, chat_id: str) -> Chat | None:
        """A chat of this (connected) scope by amojo id, or None (history answers 204 then)."""
        with self._lock:
            return self._state.scope(scope_id).chats.get(chat_id)

    def find_chat(self, chat_id: str) -> Chat | None:
        """A chat of any scope by amojo id, or None."""
        with self._lock:
            return self._state.chats.get(chat_id)

    def all_chats(self) -> list[Chat]:
        """Every chat of every scope, oldest first."""
        with self._lock:
            return list(self._state.chats.values())

    def chat_of(self, message: Message) -> Chat:
        """The chat a stored message is in."""
        with self._lock:
            return self._state.chats[message.chat_id]

    def scope_of(self, chat: Chat) -> Scope:
        """The scope a chat is in (connected or not)."""
        with self._lock:
            return self._state.scopes[chat.scope_id]

    def message_named(self, scope_id: str, key: str) -> Message | None:
        """A message of a connected scope named by amojo's id or else by the integration's msgid."""
        with self._lock:
            return self._state.scope(scope_id).message_named(key)

    def history(self, scope_id: str, chat_id: str, offset: int, limit: int) -> list[Message]:
        """Newest first; ``offset`` skips the newest ones. Empty when the chat is unknown."""
        with self._lock:
            chat = self._state.scope(scope_id).chats.get(chat_id)
            return [] if chat is None else chat.history(offset, limit)

    # -- the CRM side and everything ------------------------------------------------------

    def lead(self, lead_id: int) -> Lead | None:
        """A lead by id, or None."""
        with self._lock:
            return self._state.crm.leads.get(lead_id)

    def snapshot(self, scope_id: str | None = None) -> Snapshot:
        """Everything, or with ``scope_id`` what one scope holds (channels and accounts stay whole)."""
        with self._lock:
            state = self._state
            scopes = tuple(s for s in state.scopes.values() if scope_id is None or s.id == scope_id)
            scope_ids = {s.id for s in scopes}
            # Leads added through the REST API belong to no scope: the whole state shows them too.
            leads = tuple(
                lead for lead in state.crm.leads.values() if lead.scope_id in scope_ids or (scope_id is None and not lead.scope_id)
            )
            contact_ids = {lead.contact_id for lead in leads}
            return Snapshot(
                channels=tuple(state.channels.values()),
                accounts=tuple(state.accounts.values()),
                scopes=scopes,
                chats=tuple(c for s in scopes for c in s.chats.values()),
                leads=leads,
                contacts=tuple(c for c in state.crm.contacts.values() if scope_id is None or c.id in contact_ids),
            )
