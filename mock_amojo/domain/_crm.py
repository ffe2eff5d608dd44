"""The amoCRM side a chat feeds: accounts, contacts (de-duplicated by phone and email), leads, incoming leads, talks.

One state for both APIs: the contact, the talk and the incoming lead a chat's first client message
creates are the objects amoCRM's REST API lists (``/api/v4/contacts``, ``/api/v4/talks/{id}``,
``/api/v4/leads/unsorted``). The lead goes to the pipeline of the source whose ``external_id`` the
message carries (:mod:`._sources`), else to the main pipeline, in its incoming-leads stage.
"""

from __future__ import annotations

import msgspec

from ._accounts import CrmAccount, CrmIds
from ._chats import Chat, Scope
from ._messages import Message
from ._oauth import OAuth
from ._sources import Sources
from ._talks import Talk, Talks

__all__ = ["Contact", "Crm", "Lead", "Unsorted"]


class Contact(msgspec.Struct):
    """An amoCRM contact of an account."""

    id: int
    account_id: str
    name: str
    phone: str = ""
    email: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0
    responsible_user_id: int = 0


class Lead(msgspec.Struct):
    """An amoCRM lead: of a chat (``incoming``: the client wrote first; ``opened_from_crm``) or added through the REST API (``api``)."""

    id: int
    account_id: str
    scope_id: str
    chat_id: str
    contact_id: int
    first_message_id: str
    created_at: float
    source: str | None = None
    status: str = "incoming"
    name: str = ""
    price: int = 0
    pipeline_id: int = 0
    status_id: int = 0
    responsible_user_id: int = 0
    updated_at: float = 0.0
    closed_at: float | None = None
    #: The source (REST id) that routed it, if any.
    source_id: int | None = None
    #: Declined incoming leads and leads merged into another by a link are deleted.
    is_deleted: bool = False


class Unsorted(msgspec.Struct):
    """An incoming lead of the ``chats`` category, waiting in its pipeline's incoming-leads stage until sorted."""

    uid: str
    account_id: str
    lead_id: int
    contact_id: int
    chat_id: str
    pipeline_id: int
    created_at: float
    source_uid: str | None
    source_name: str
    client_name: str
    client_avatar: str
    service: str
    last_message_text: str
    category: str = "chats"
    #: "new", then "accepted", "declined" or "linked".
    state: str = "new"
    sorted_at: float | None = None


class Crm:
    """Every account's CRM objects; lead and contact ids count up from 1 as amoCRM's do.

    Leads and contacts share the counter (a new chat's contact, then its lead: 1 and 2), where amoCRM
    numbers them apart. Kept: ids are not on a change's tape but counted again on replay, so numbering
    them apart would renumber every lead of a state file written before (tests/test_compat.py).
    """

    def __init__(self) -> None:
        self.leads: dict[int, Lead] = {}
        self.contacts: dict[int, Contact] = {}
        #: (account id, "phone" or "email", value) -> the first contact with it: finding one stays O(1).
        self._contacts_by_key: dict[tuple[str, str, str], Contact] = {}
        self._next_id = 1
        self.ids = CrmIds()
        #: amojo account id -> its REST side.
        self.accounts: dict[str, CrmAccount] = {}
        self.sources = Sources()
        self.unsorted: dict[str, Unsorted] = {}
        self.talks = Talks()
        #: amojo chat id -> the contact it is linked to (``/api/v4/contacts/chats``).
        self.chat_links: dict[str, int] = {}
        self.oauth = OAuth()

    def clear(self) -> None:
        self.leads.clear()
        self.contacts.clear()
        self._contacts_by_key.clear()
        self._next_id = 1
        self.ids = CrmIds()
        self.accounts.clear()
        self.sources.clear()
        self.unsorted.clear()
        self.talks.clear()
        self.chat_links.clear()
        self.oauth.clear()

    def new_id(self) -> int:
        value = self._next_id
        self._next_id += 1
        return value

    # -- accounts ---------------------------------------------------------------------------

    def account(self, amojo_id: str, name: str = "", now: float = 0.0) -> CrmAccount:
        """The REST side of an account, made the first time it is asked for (ids count in the order accounts appear)."""
        account = self.accounts.get(amojo_id)
        if account is None:
            account = self.accounts[amojo_id] = CrmAccount.new(self.ids, amojo_id, name, int(now))
        elif name:
            account.name = name
        return account

    def add_users(self, amojo_id: str, user_ids: list[str]) -> None:
        """Give the account's users (amojo ids) their integer REST ids, in the order they joined."""
        account = self.account(amojo_id)
        for user_id in user_ids:
            if user_id not in account.user_ids:
                account.user_ids[user_id] = self.ids.new("user")

    def by_subdomain(self, subdomain: str) -> CrmAccount | None:
        return next((a for a in self.accounts.values() if a.subdomain == subdomain), None)

    # -- what a chat creates ---------------------------------------------------------------

    def incoming_lead(self, scope: Scope, chat: Chat, message: Message, *, service: str = "") -> Lead:
        """amoCRM's incoming lead: made by a chat's first non-silent client message, with its contact and talk."""
        client = chat.client
        account = self.account(scope.account_id)
        contact = self._chat_contact(scope.account_id, chat, message.received_at)
        pipeline_id, source = self.sources.pipeline_for(account, message.source)
        pipeline = account.pipeline(pipeline_id) or account.main_pipeline
        lead = Lead(
            self.new_id(),
            scope.account_id,
            scope.id,
            chat.id,
            contact.id,
            message.id,
            message.received_at,
            message.source,
            name=f"Сделка #{self._next_id - 1}",
            pipeline_id=pipeline.id,
            status_id=pipeline.incoming.id,
            updated_at=message.received_at,
            source_id=source.id if source else None,
        )
        self._add_lead(lead, chat)
        text = message.content.get("text")
        self.unsorted[_uid(message.id)] = Unsorted(
            _uid(message.id),
            scope.account_id,
            lead.id,
            contact.id,
            chat.id,
            pipeline.id,
            message.received_at,
            f"amojo:{scope.channel_id}:{chat.id}",
            source.name if source else service,
            client.name,
            client.avatar,
            service,
            text if isinstance(text, str) else "",
        )
        self.open_talk(chat, lead, contact.id, service, message.received_at)
        return lead

    def lead_from_crm(self, scope: Scope, chat: Chat, first: Message, phone: str, source: str | None) -> Lead:
        """The lead a manager wrote from: the client's answer must not open an incoming lead."""
        account = self.account(scope.account_id)
        contact = self._contact(scope.account_id, chat.client.name, phone, "", first.received_at)
        self.chat_links.setdefault(chat.id, contact.id)
        pipeline = account.main_pipeline
        lead = Lead(
            self.new_id(),
            scope.account_id,
            scope.id,
            chat.id,
            contact.id,
            first.id,
            first.received_at,
            source,
            "opened_from_crm",
            name=f"Сделка #{self._next_id - 1}",
            pipeline_id=pipeline.id,
            status_id=pipeline.first_working.id,
            updated_at=first.received_at,
        )
        self._add_lead(lead, chat)
        self.open_talk(chat, lead, contact.id, "", first.received_at)
        return lead

    def open_talk(self, chat: Chat, lead: Lead | None, contact_id: int, origin: str, now: float) -> Talk:
        return self.talks.start(
            Talk(self.ids.new("talk"), chat.scope_id.partition("_")[2], chat.id, contact_id, lead.id if lead else None, origin, now, now)
        )

    def client_wrote(self, chat: Chat, now: float, origin: str) -> None:
        """A later client message: the chat's open talk is updated, or a new one opens if it was closed."""
        if self.talks.touch(chat.id, now) is None:
            lead = self.leads.get(chat.lead_id) if chat.lead_id is not None else None
            contact_id = self.chat_links.get(chat.id) or (lead.contact_id if lead else 0)
            self.open_talk(chat, lead, contact_id, origin, now)

    def _add_lead(self, lead: Lead, chat: Chat | None) -> Lead:
        self.leads[lead.id] = lead
        if chat is not None:
            chat.lead_id = lead.id
        return lead

    def _chat_contact(self, account_id: str, chat: Chat, now: float) -> Contact:
        """The contact a chat is linked to, else the account's contact with the client's phone or email (then linked)."""
        linked = self.chat_links.get(chat.id)
        contact = self.contacts.get(linked) if linked is not None else None
        if contact is None:
            client = chat.client
            contact = self._contact(account_id, client.name, client.phone, client.email, now)
            self.chat_links[chat.id] = contact.id
        return contact

    def _contact(self, account_id: str, name: str, phone: str, email: str, now: float = 0.0) -> Contact:
        """The account's contact with this phone or email, else a new one."""
        found = self.find_contact(account_id, phone, email)
        if found is not None:
            return found
        return self.add_contact(Contact(self.new_id(), account_id, name, phone, email, now, now))

    def add_contact(self, contact: Contact) -> Contact:
        self.contacts[contact.id] = contact
        # Only the first contact with a phone or email is ever found by it: keep that one.
        if contact.phone:
            self._contacts_by_key.setdefault((contact.account_id, "phone", contact.phone), contact)
        if contact.email:
            self._contacts_by_key.setdefault((contact.account_id, "email", contact.email), contact)
        return contact

    def find_contact(self, account_id: str, phone: str, email: str) -> Contact | None:
        """The account's oldest contact with this phone or this email (amoCRM de-duplicates on both)."""
        by_phone = self._contacts_by_key.get((account_id, "phone", phone)) if phone else None
        by_email = self._contacts_by_key.get((account_id, "email", email)) if email else None
        if by_phone is None or by_email is None:
            return by_phone or by_email
        return by_phone if by_phone.id < by_email.id else by_email


def _uid(message_id: str) -> str:
    # amoCRM's uids are long hex strings; the first message's amojo id, without dashes, is one and is unique.
    return message_id.replace("-", "")
