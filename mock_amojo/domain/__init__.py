"""The state a real amoCRM account would have, and its rules — no HTTP here.

:class:`Backend` holds channels, accounts and their users, connections (scopes), chats,
participants, messages with their edits, reactions and delivery statuses, and the leads and
contacts amoCRM creates, behind one lock. It changes state only through its recorded
operations and delegates the rules to the entities: a :class:`Message` knows how it is edited
and which delivery statuses it records, a :class:`Chat` links a write-first answer, a
:class:`Scope` indexes its chats and messages. Readers use the backend's read methods
(:meth:`Backend.snapshot`, :meth:`Backend.find_chat`, …), which take the lock themselves.

>>> from mock_amojo import ManualClock, SequentialIds
>>> backend = Backend(clock=ManualClock(1639609975), ids=SequentialIds())
>>> channel = backend.register_channel(secret="0" * 40)
>>> from mock_amojo.wire import Connect
>>> scope = backend.connect(channel.id, Connect("acc-1", hook_api_version="v2"))
>>> scope.id == f"{channel.id}_acc-1"
True
"""

from ._backend import Backend
from ._chats import Chat, ClientTyping, ManagerTyping, Scope
from ._crm import Contact, Lead
from ._events import EVENTS, FORMAT_VERSION
from ._messages import Message, StatusRecord
from ._parties import Account, Bot, Channel, Participant, User
from ._reads import Snapshot
from ._store import SqliteStore

__all__ = [
    "EVENTS",
    "FORMAT_VERSION",
    "Account",
    "Backend",
    "Bot",
    "Channel",
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
