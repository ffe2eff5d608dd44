"""Everything the backend holds, with the id and time sources its changes draw from (no lock here)."""

from __future__ import annotations

from ..errors import ChannelNotFound, ScopeNotFound
from ..wire._stances import Stances
from ._chats import Chat, Scope
from ._clock import Clock, IdSource
from ._crm import Crm
from ._parties import Account, Channel, Participant


class State:
    """Channels, accounts, scopes, chats and the CRM side; the backend's lock guards every use."""

    def __init__(self, clock: Clock, ids: IdSource) -> None:
        self.clock = clock
        self.ids = ids
        self.channels: dict[str, Channel] = {}
        self.accounts: dict[str, Account] = {}
        self.scopes: dict[str, Scope] = {}
        self.chats: dict[str, Chat] = {}
        self.crm = Crm()
        #: Where amoCRM's documents disagree, what the rules do (not state: set per configuration, and per change on replay).
        self.stances = Stances.resolve()

    def clear(self) -> None:
        self.channels.clear()
        self.accounts.clear()
        self.scopes.clear()
        self.chats.clear()
        self.crm.clear()

    def channel(self, channel_id: str) -> Channel:
        channel = self.channels.get(channel_id)
        if channel is None:
            raise ChannelNotFound("channel id", channel_id)
        return channel

    def scope(self, scope_id: str) -> Scope:
        """A connected scope, or :class:`ScopeNotFound`."""
        scope = self.scopes.get(scope_id)
        if scope is None or not scope.connected:
            raise ScopeNotFound("scope_id", scope_id)
        return scope

    def new_chat(
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
        scope.add_chat(chat)
        self.chats[chat.id] = chat
        return chat
