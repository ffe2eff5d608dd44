"""The backend's amoCRM REST side: OAuth, sources, leads, contacts, chat links, incoming leads, talks.

A mixin of :class:`~mock_amojo.domain.Backend`: each changing method is one recorded domain event
(:mod:`._events`), each read takes the state lock; the rules live in :mod:`._crm_rest`,
:mod:`._sources` and :mod:`._oauth`. Accounts are named by their amojo id everywhere, as the
chat side names them; the REST integer id is :attr:`CrmAccount.id`.

>>> from mock_amojo import ManualClock, SequentialIds
>>> from mock_amojo.domain import Backend
>>> backend = Backend(clock=ManualClock(1639609975), ids=SequentialIds())
>>> account = backend.register_account(amojo_id="acc-1", name="Shop")
>>> _ = backend.register_integration(client_id="app", client_secret="s" * 64, redirect_uri="https://app.test/oauth", name="App")
>>> grant = backend.install_integration("app", "acc-1")
>>> token = backend.oauth_token("app", "s" * 64, "authorization_code", code=grant.code, redirect_uri="https://app.test/oauth")
>>> backend.authenticate(token.access_token).account_id, backend.crm_account("acc-1").subdomain
('acc-1', 'account30000001')
"""

from __future__ import annotations

import base64
import secrets

import orjson

from ..errors import ControlError, OAuthRefused, SubdomainTaken
from ..wire._rest_input import Problems
from ..wire._rest_requests import Accept, Batch, ChatLink, ContactFields, LeadFields, LinkUnsorted, SourceFields
from . import _crm_rest as rest
from ._accounts import MAX_PIPELINES, SUBDOMAIN, CrmAccount, Pipeline
from ._changes import ChangeFeed, mutation
from ._crm import Contact, Lead, Unsorted
from ._crm_reads import CrmReads
from ._oauth import ACCESS_TTL, Grant, Integration, Token
from ._sources import Source
from ._talks import Talk

__all__ = ["CrmOperations"]


class CrmOperations(CrmReads):
    """amoCRM's REST side of the backend: what changes it (reads in :class:`~mock_amojo.domain._crm_reads.CrmReads`)."""

    changes: ChangeFeed

    def _secret(self, size: int) -> str:
        return str(self.changes.draw(lambda: secrets.token_urlsafe(size)))

    # -- accounts and OAuth (control plane and /oauth2) ---------------------------------

    @mutation("crm_subdomain_set")
    def set_subdomain(self, account_id: str, subdomain: str) -> CrmAccount:
        """Give an account the subdomain its REST API answers on (``{subdomain}.amocrm.ru``)."""
        with self._lock:
            account = self._account(account_id)
            if not SUBDOMAIN.fullmatch(subdomain):
                raise ControlError(
                    f"subdomain {subdomain!r} is not a subdomain.", hint="Lower-case letters, digits and '-', e.g. 'myshop'."
                )
            owner = self._state.crm.by_subdomain(subdomain)
            if owner is not None and owner is not account:
                raise SubdomainTaken(f"subdomain {subdomain!r} belongs to account {owner.amojo_id!r}.", hint="Pick another subdomain.")
            account.subdomain = subdomain
            return account

    @mutation("integration_registered")
    def register_integration(
        self, *, client_id: str | None = None, client_secret: str | None = None, redirect_uri: str, name: str = "mock-amojo integration"
    ) -> Integration:
        """Register an integration as amoCRM's settings do; its id and secret key are generated if absent."""
        with self._lock:
            return self._state.crm.oauth.register(client_id or self._state.ids.new(), client_secret or self._secret(48), redirect_uri, name)

    @mutation("integration_installed")
    def install_integration(self, client_id: str, account_id: str) -> Grant:
        """An account installs the integration: the authorization code amoCRM sends to its redirect_uri."""
        with self._lock:
            self._account(account_id)
            return self._state.crm.oauth.authorize(client_id, account_id, "def502" + self._secret(96), self._now())

    @mutation("oauth_token_requested")
    def oauth_token(
        self,
        client_id: str,
        client_secret: str,
        grant_type: str,
        code: str | None = None,
        refresh_token: str | None = None,
        redirect_uri: str | None = None,
    ) -> Token:
        """``POST /oauth2/access_token``: a code or a refresh token (each single use) for a new token pair."""
        with self._lock:
            oauth = self._state.crm.oauth
            now = self._now()
            if grant_type == "authorization_code" and code:
                account_id = oauth.grants[code].account_id if code in oauth.grants else ""
                return oauth.exchange_code(client_id, client_secret, code, redirect_uri, self._pair(client_id, account_id, now), now)
            if grant_type == "refresh_token" and refresh_token:
                old = oauth.refresh.get(refresh_token)
                pair = self._pair(client_id, old.account_id if old else "", now)
                return oauth.exchange_refresh(client_id, client_secret, refresh_token, redirect_uri, pair, now)
            field = "code" if grant_type == "authorization_code" else "refresh_token"
            if grant_type not in ("authorization_code", "refresh_token"):
                raise OAuthRefused("Unsupported grant type", hint="grant_type is authorization_code or refresh_token.")
            raise OAuthRefused("В запросе отсутствует ряд параметров или параметры невалидны", hint=f'Check the "{field}" parameter.')

    @mutation("long_lived_token_issued")
    def issue_token(self, client_id: str, account_id: str, lifetime: float = 5 * 365 * 24 * 3600) -> Token:
        """A long-lived token (amoCRM issues them to private integrations): no OAuth dance, for tests."""
        with self._lock:
            self._account(account_id)
            oauth = self._state.crm.oauth
            oauth.integration(client_id)
            now = self._now()
            return oauth.issue(client_id, account_id, self._pair(client_id, account_id, now, lifetime), now, lifetime)

    @mutation("integration_uninstalled")
    def uninstall_integration(self, client_id: str, account_id: str) -> int:
        """The account removes the integration: its tokens stop working (401)."""
        with self._lock:
            return self._state.crm.oauth.revoke(client_id, account_id)

    def _pair(self, client_id: str, account_id: str, now: float, ttl: float = ACCESS_TTL) -> tuple[str, str]:
        """A JWT-shaped access token (amoCRM's are JWTs; clients may read ``exp`` from it) and a refresh token."""
        account = self._state.crm.accounts.get(account_id)
        claims = {
            "aud": client_id,
            "jti": self._secret(24),
            "iat": int(now),
            "nbf": int(now),
            "exp": int(now + ttl),
            "account_id": account.id if account else 0,
            "base_domain": "amocrm.ru",
            "api_domain": "api-b.amocrm.ru",
            "scopes": ["crm", "notifications"],
        }
        head = _b64(orjson.dumps({"typ": "JWT", "alg": "RS256"}))
        return f"{head}.{_b64(orjson.dumps(claims))}.{self._secret(64)}", "def502" + self._secret(96)

    # -- what the integration changes through the REST API --------------------------------

    @mutation("pipelines_added")
    def add_pipelines(self, account_id: str, body: Batch[str]) -> list[Pipeline]:
        """``POST /api/v4/leads/pipelines``: each new pipeline gets amoCRM's system stages (incoming leads, 142, 143)."""
        with self._lock:
            crm = self._state.crm
            account = self._account(account_id)
            problems = Problems(body.problems)
            if len(account.pipelines) + len(body.items) > MAX_PIPELINES:
                problems.add("0", "TooManyPipelines", "", f"An account has at most {MAX_PIPELINES} pipelines.")
            problems.raise_if_any(body.hint)
            added = [Pipeline.new(crm.ids, name, is_main=False) for name in body.items]
            for n, pipeline in enumerate(added):
                pipeline.sort = len(account.pipelines) + n + 1
            account.pipelines.extend(added)
            return added

    @mutation("sources_added")
    def add_sources(self, account_id: str, client_id: str, body: Batch[SourceFields]) -> list[Source]:
        with self._lock:
            crm = self._state.crm
            return crm.sources.add(crm.ids, self._account(account_id), client_id, body)

    @mutation("sources_updated")
    def update_sources(self, account_id: str, client_id: str, body: Batch[SourceFields], source_id: int | None = None) -> list[Source]:
        """``source_id``: the path's (``PATCH /api/v4/sources/{id}``), already in each of the body's items."""
        with self._lock:
            return self._state.crm.sources.update(self._account(account_id), client_id, body)

    @mutation("sources_deleted")
    def delete_sources(self, account_id: str, client_id: str, source_ids: list[int]) -> None:
        with self._lock:
            self._state.crm.sources.delete(self._account(account_id), client_id, source_ids)

    @mutation("leads_added")
    def add_leads(self, account_id: str, body: Batch[LeadFields]) -> list[tuple[Lead, str]]:
        with self._lock:
            return rest.add_leads(self._state.crm, self._account(account_id), body, self._now())

    @mutation("leads_updated")
    def update_leads(self, account_id: str, body: Batch[LeadFields], lead_id: int | None = None) -> list[tuple[Lead, str]]:
        """``lead_id``: the path's (``PATCH /api/v4/leads/{id}``), already in each of the body's items."""
        with self._lock:
            return rest.update_leads(self._state.crm, self._account(account_id), body, self._now())

    @mutation("contacts_added")
    def add_contacts(self, account_id: str, body: Batch[ContactFields]) -> list[tuple[Contact, str]]:
        with self._lock:
            return rest.add_contacts(self._state.crm, self._account(account_id), body, self._now())

    @mutation("chats_linked")
    def link_chats(self, account_id: str, body: Batch[ChatLink]) -> list[tuple[str, int, str]]:
        with self._lock:
            return rest.link_chats(self._state.crm, self._state.chats, self._account(account_id), body)

    @mutation("unsorted_accepted")
    def accept_unsorted(self, account_id: str, uid: str, body: Accept) -> Unsorted:
        with self._lock:
            return rest.accept_unsorted(self._state.crm, self._account(account_id), uid, body, self._now())

    @mutation("unsorted_declined")
    def decline_unsorted(self, account_id: str, uid: str) -> Unsorted:
        with self._lock:
            return rest.decline_unsorted(self._state.crm, self._state.chats, self._account(account_id), uid, self._now())

    @mutation("unsorted_linked")
    def link_unsorted(self, account_id: str, uid: str, body: LinkUnsorted) -> tuple[Unsorted, Lead]:
        with self._lock:
            return rest.link_unsorted(self._state.crm, self._state.chats, self._account(account_id), uid, body, self._now())

    @mutation("talk_closed")
    def close_talk(self, account_id: str, talk_id: int, force_close: bool = False) -> Talk:
        with self._lock:
            return rest.close_talk(self._state.crm, self._account(account_id), talk_id, self._now())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
