"""The amoCRM side a chat feeds: contacts (de-duplicated by phone and email) and leads."""

from __future__ import annotations

from dataclasses import dataclass

from ._chats import Chat, Scope
from ._messages import Message


@dataclass(slots=True)
class Contact:
    """An amoCRM contact of an account."""

    id: int
    account_id: str
    name: str
    phone: str = ""
    email: str = ""


@dataclass(slots=True)
class Lead:
    """An amoCRM lead of a chat: ``incoming`` (the client wrote first) or ``opened_from_crm``."""

    id: int
    account_id: str
    scope_id: str
    chat_id: str
    contact_id: int
    first_message_id: str
    created_at: float
    source: str | None = None
    status: str = "incoming"


class Crm:
    """Every account's leads and contacts; CRM ids count up from 1 as amoCRM's do.

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

    def clear(self) -> None:
        self.leads.clear()
        self.contacts.clear()
        self._contacts_by_key.clear()
        self._next_id = 1

    def _new_id(self) -> int:
        value = self._next_id
        self._next_id += 1
        return value

    def incoming_lead(self, scope: Scope, chat: Chat, message: Message) -> Lead:
        """amoCRM's incoming lead: made by a chat's first non-silent client message."""
        client = chat.client
        contact = self._contact(scope.account_id, client.name, client.phone, client.email)
        return self._add_lead(
            Lead(self._new_id(), scope.account_id, scope.id, chat.id, contact.id, message.id, message.received_at, message.source), chat
        )

    def lead_from_crm(self, scope: Scope, chat: Chat, first: Message, phone: str, source: str | None) -> Lead:
        """The lead a manager wrote from: the client's answer must not open an incoming lead."""
        contact = self._contact(scope.account_id, chat.client.name, phone, "")
        lead = Lead(self._new_id(), scope.account_id, scope.id, chat.id, contact.id, first.id, first.received_at, source, "opened_from_crm")
        return self._add_lead(lead, chat)

    def _add_lead(self, lead: Lead, chat: Chat) -> Lead:
        self.leads[lead.id] = lead
        chat.lead_id = lead.id
        return lead

    def _contact(self, account_id: str, name: str, phone: str, email: str) -> Contact:
        """The account's contact with this phone or email, else a new one."""
        found = self.find_contact(account_id, phone, email)
        if found is not None:
            return found
        contact = Contact(self._new_id(), account_id, name, phone, email)
        self.contacts[contact.id] = contact
        # Only the first contact with a phone or email is ever found by it: keep that one.
        if contact.phone:
            self._contacts_by_key.setdefault((account_id, "phone", contact.phone), contact)
        if contact.email:
            self._contacts_by_key.setdefault((account_id, "email", contact.email), contact)
        return contact

    def find_contact(self, account_id: str, phone: str, email: str) -> Contact | None:
        """The account's oldest contact with this phone or this email (amoCRM de-duplicates on both)."""
        by_phone = self._contacts_by_key.get((account_id, "phone", phone)) if phone else None
        by_email = self._contacts_by_key.get((account_id, "email", email)) if email else None
        if by_phone is None or by_email is None:
            return by_phone or by_email
        return by_phone if by_phone.id < by_email.id else by_email
