"""The state a real amoCRM account would have, and its rules — no HTTP here.

:class:`Backend` holds channels, accounts and their users, connections (scopes), chats,
participants, messages with their edits, reactions and delivery statuses, and the leads and
contacts amoCRM creates, behind one lock. It changes state only through its recorded
operations and delegates the rules to the entities: a :class:`Message` knows how it is edited
and which delivery statuses it records, a :class:`Chat` links a write-first answer, a
:class:`Scope` indexes its chats and messages. Readers use the backend's read methods
(:meth:`Backend.snapshot`, :meth:`Backend.find_chat`, …), which take the lock themselves.

>>> from mock_amojo import ManualClock, SequentialIds
>>> from mock_amojo.domain import Backend
>>> backend = Backend(clock=ManualClock(1639609975), ids=SequentialIds())
>>> channel = backend.register_channel(secret="0" * 40)
>>> from mock_amojo.wire import Connect
>>> scope = backend.connect(channel.id, Connect("acc-1", hook_api_version="v2"))
>>> scope.id == f"{channel.id}_acc-1"
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import exports

# Names load on first use: the served fake needs no SQLite store unless --db names one.
_LAZY = {
    "Backend": "_backend",
    "Chat": "_chats",
    "ClientTyping": "_chats",
    "ManagerTyping": "_chats",
    "Scope": "_chats",
    "Contact": "_crm",
    "Lead": "_crm",
    "EVENTS": "_events",
    "FORMAT_VERSION": "_events",
    "Message": "_messages",
    "StatusRecord": "_messages",
    "Account": "_parties",
    "Bot": "_parties",
    "Channel": "_parties",
    "ChannelChanges": "_parties",
    "Participant": "_parties",
    "User": "_parties",
    "Snapshot": "_reads",
    "SqliteStore": "_store",
}

if TYPE_CHECKING:
    from ._backend import Backend
    from ._chats import Chat, ClientTyping, ManagerTyping, Scope
    from ._crm import Contact, Lead
    from ._events import EVENTS, FORMAT_VERSION
    from ._messages import Message, StatusRecord
    from ._parties import Account, Bot, Channel, ChannelChanges, Participant, User
    from ._reads import Snapshot
    from ._store import SqliteStore

__getattr__, __dir__ = exports(__name__, _LAZY)

__all__ = [
    "EVENTS",
    "FORMAT_VERSION",
    "Account",
    "Backend",
    "Bot",
    "Channel",
    "ChannelChanges",
    "Chat",
    "ClientTyping",
    "Contact",
    "Lead",
    "ManagerTyping",
    "Message",
    "Participant",
    "Scope",
    "Snapshot",
    "SqliteStore",
    "StatusRecord",
    "User",
]
