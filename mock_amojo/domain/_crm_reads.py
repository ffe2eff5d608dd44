"""The backend's amoCRM REST side, read: accounts, tokens, leads, contacts, incoming leads, sources, talks, links.

A mixin of :class:`~mock_amojo.domain.Backend` (and the base of :class:`~mock_amojo.domain._crm_backend.CrmOperations`):
each read takes the state lock and hands out entities or copied lists, never the state's own collections.
"""

from __future__ import annotations

import threading
from typing import Any

from ..errors import CrmNotFound, CrmUnauthorized
from ._accounts import CrmAccount
from ._crm import Contact, Lead, Unsorted
from ._oauth import Integration, Token
from ._sources import Source
from ._state import State
from ._talks import Talk

__all__ = ["CrmReads"]


class CrmReads:
    """Lookups and listings of the REST side; each holds the state lock while it reads."""

    _state: State
    _lock: threading.RLock

    def _account(self, account_id: str) -> CrmAccount:
        account = self._state.crm.accounts.get(account_id)
        if account is None:
            raise CrmNotFound("account", account_id, hint="Register the account first (POST /__mock__/accounts).")
        return account

    def _now(self) -> float:
        return self._state.clock.now()

    def authenticate(self, access_token: str) -> Token:
        """The token a bearer header carries, valid now (virtual clock), or 401 saying why not."""
        with self._lock:
            token = self._state.crm.oauth.bearer(access_token, self._now())
            if token.account_id not in self._state.crm.accounts:
                raise CrmUnauthorized("The token's account no longer exists.", hint="The fake was reset: install the integration again.")
            return token

    def integrations(self) -> list[Integration]:
        with self._lock:
            return list(self._state.crm.oauth.integrations.values())

    def integration(self, client_id: str) -> Integration:
        with self._lock:
            return self._state.crm.oauth.integration(client_id)

    # -- reads --------------------------------------------------------------------------

    def crm_account(self, account_id: str) -> CrmAccount:
        """The REST side of an account (amojo id), or 404."""
        with self._lock:
            return self._account(account_id)

    def crm_account_by_subdomain(self, subdomain: str) -> CrmAccount | None:
        with self._lock:
            return self._state.crm.by_subdomain(subdomain)

    def crm_snapshot(self) -> dict[str, list[Any]]:
        """Every CRM object of the REST side, copied under the lock (``/__mock__/state`` shows them)."""
        with self._lock:
            crm = self._state.crm
            return {
                "accounts": list(crm.accounts.values()),
                "sources": list(crm.sources.by_id.values()),
                "unsorted": list(crm.unsorted.values()),
                "talks": list(crm.talks.by_id.values()),
                "chat_links": list(crm.chat_links.items()),
                "integrations": list(crm.oauth.integrations.values()),
            }

    def crm_leads(self, account_id: str) -> list[Lead]:
        """The account's leads (deleted ones left out), oldest first."""
        with self._lock:
            return [lead for lead in self._state.crm.leads.values() if lead.account_id == account_id and not lead.is_deleted]

    def crm_contacts(self, account_id: str) -> list[Contact]:
        with self._lock:
            return [c for c in self._state.crm.contacts.values() if c.account_id == account_id]

    def crm_unsorted(self, account_id: str) -> list[Unsorted]:
        """Every incoming lead of the account, sorted ones too (the summary counts them)."""
        with self._lock:
            return [u for u in self._state.crm.unsorted.values() if u.account_id == account_id]

    def crm_sources(self, account_id: str, client_id: str | None = None) -> list[Source]:
        with self._lock:
            found = self._state.crm.sources.by_id.values()
            return [s for s in found if s.account_id == account_id and (client_id is None or s.client_id == client_id)]

    def crm_talk(self, account_id: str, talk_id: int) -> Talk:
        with self._lock:
            talk = self._state.crm.talks.by_id.get(talk_id)
            if talk is None or talk.account_id != account_id:
                raise CrmNotFound("talk", talk_id, hint="A talk id comes from the chat's incoming lead (GET /api/v4/leads/unsorted).")
            return talk

    def crm_talks(self) -> list[Talk]:
        with self._lock:
            return list(self._state.crm.talks.by_id.values())

    def chat_links(self, account_id: str) -> list[tuple[str, int]]:
        """(amojo chat id, contact id) of every linked chat of the account."""
        with self._lock:
            chats = self._state.chats
            return [
                (chat_id, contact_id)
                for chat_id, contact_id in self._state.crm.chat_links.items()
                if chat_id in chats and chats[chat_id].scope_id.partition("_")[2] == account_id
            ]
