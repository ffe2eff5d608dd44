"""OAuth 2.0 as amoCRM runs it: integrations, authorization codes, access and refresh tokens.

An integration (``client_id``, ``client_secret``, ``redirect_uri``) is installed into an account:
amoCRM redirects to ``redirect_uri?code=…&referer={subdomain}.amocrm.ru&client_id=…&state=…``.
The code is exchanged once, within 20 minutes, at ``POST /oauth2/access_token`` for an access token
(24 hours) and a refresh token (3 months); a refresh token is used once and rotates (amoCRM's OAuth
reference, RU ``/developers/content/oauth/step-by-step``). Tokens are JWT-shaped, as amoCRM's are,
but the fake knows them by value: only the token table decides.

>>> from mock_amojo.domain._clock import ManualClock
>>> oauth = OAuth()
>>> oauth.register("c1", "s" * 64, "https://app.test/oauth", "App")
Integration(client_id='c1', client_secret=ssss…ssss, redirect_uri='https://app.test/oauth', name='App')
>>> grant = oauth.authorize("c1", "acc", "code-1", 100.0)
>>> token = oauth.exchange_code("c1", "s" * 64, "code-1", "https://app.test/oauth", ("a1", "r1"), 200.0)
>>> oauth.bearer("a1", 300.0).account_id
'acc'
"""

from __future__ import annotations

import msgspec

from ..errors import CrmUnauthorized, OAuthRefused
from ..wire._redaction import repr_without_secrets

__all__ = ["ACCESS_TTL", "CODE_TTL", "REFRESH_TTL", "Grant", "Integration", "OAuth", "Token"]

#: Seconds an authorization code, an access token and a refresh token live (amoCRM: 20 min, 1 day, 3 months).
CODE_TTL, ACCESS_TTL, REFRESH_TTL = 20 * 60, 24 * 3600, 90 * 24 * 3600
_INVALID = "В запросе отсутствует ряд параметров или параметры невалидны"


class Integration(msgspec.Struct):
    """An integration registered in amoCRM: what its OAuth requests must carry."""

    client_id: str
    client_secret: str
    redirect_uri: str
    name: str

    def __repr__(self) -> str:
        return repr_without_secrets(self, self.__struct_fields__, frozenset({"client_secret"}))


class Grant(msgspec.Struct):
    """An authorization code of one installation (single use, :data:`CODE_TTL`)."""

    code: str
    client_id: str
    account_id: str
    issued_at: float
    used: bool = False


class Token(msgspec.Struct):
    """An access token and its refresh token; ``account_id`` is the account's amojo id."""

    access_token: str
    refresh_token: str
    client_id: str
    account_id: str
    issued_at: float
    expires_at: float
    refresh_expires_at: float
    revoked: bool = False
    refreshed: bool = False

    def __repr__(self) -> str:
        return repr_without_secrets(self, self.__struct_fields__, frozenset({"access_token", "refresh_token"}))


class OAuth:
    """Every integration, code and token (the backend's lock guards it)."""

    def __init__(self) -> None:
        self.integrations: dict[str, Integration] = {}
        self.grants: dict[str, Grant] = {}
        self.tokens: dict[str, Token] = {}
        self.refresh: dict[str, Token] = {}

    def clear(self) -> None:
        self.integrations.clear()
        self.grants.clear()
        self.tokens.clear()
        self.refresh.clear()

    def register(self, client_id: str, client_secret: str, redirect_uri: str, name: str) -> Integration:
        integration = Integration(client_id, client_secret, redirect_uri, name)
        self.integrations[client_id] = integration
        return integration

    def integration(self, client_id: str) -> Integration:
        found = self.integrations.get(client_id)
        if found is None:
            raise OAuthRefused(_INVALID, hint=f"Client authentication failed: no integration with client_id {client_id!r}.")
        return found

    def authorize(self, client_id: str, account_id: str, code: str, now: float) -> Grant:
        """An installation: the code amoCRM puts in the redirect."""
        self.integration(client_id)
        grant = Grant(code, client_id, account_id, now)
        self.grants[code] = grant
        return grant

    def _client(self, client_id: str, client_secret: str, redirect_uri: str | None) -> Integration:
        integration = self.integration(client_id)
        if client_secret != integration.client_secret:
            raise OAuthRefused(_INVALID, hint="Client authentication failed: client_secret is not this integration's secret key.")
        if redirect_uri is not None and redirect_uri != integration.redirect_uri:
            raise OAuthRefused(_INVALID, hint=f"redirect_uri must be the integration's, {integration.redirect_uri!r}.")
        return integration

    def exchange_code(
        self, client_id: str, client_secret: str, code: str, redirect_uri: str | None, values: tuple[str, str], now: float
    ) -> Token:
        """``grant_type=authorization_code``: the code is spent, valid or not for this client."""
        self._client(client_id, client_secret, redirect_uri)
        grant = self.grants.get(code)
        if grant is None or grant.client_id != client_id:
            raise OAuthRefused(_INVALID, hint="Cannot decrypt the authorization code: it was not issued to this client_id.")
        if grant.used:
            raise OAuthRefused(
                _INVALID, hint="Authorization code has been revoked: a code is exchanged once; install the integration again."
            )
        if now > grant.issued_at + CODE_TTL:
            raise OAuthRefused(_INVALID, hint="Authorization code has expired: it lives 20 minutes; install the integration again.")
        grant.used = True
        return self.issue(client_id, grant.account_id, values, now)

    def exchange_refresh(
        self, client_id: str, client_secret: str, refresh_token: str, redirect_uri: str | None, values: tuple[str, str], now: float
    ) -> Token:
        """``grant_type=refresh_token``: single use; the old access token stops working too."""
        self._client(client_id, client_secret, redirect_uri)
        old = self.refresh.get(refresh_token)
        if old is None or old.client_id != client_id:
            raise OAuthRefused(_INVALID, hint="Cannot decrypt the refresh token: it was not issued to this client_id.")
        if old.refreshed or old.revoked:
            raise OAuthRefused(
                _INVALID, hint="Token has been revoked: a refresh token is used once; keep the one the last refresh returned."
            )
        if now > old.refresh_expires_at:
            raise OAuthRefused(_INVALID, hint="Token has expired: a refresh token lives 3 months unused; install the integration again.")
        old.refreshed = old.revoked = True
        return self.issue(client_id, old.account_id, values, now)

    def issue(self, client_id: str, account_id: str, values: tuple[str, str], now: float, ttl: float = ACCESS_TTL) -> Token:
        access, refresh = values
        token = Token(access, refresh, client_id, account_id, now, now + ttl, now + max(ttl, REFRESH_TTL))
        self.tokens[access] = token
        self.refresh[refresh] = token
        return token

    def revoke(self, client_id: str, account_id: str) -> int:
        """Uninstalling: every token of the integration in the account stops working."""
        count = 0
        for token in self.tokens.values():
            if token.client_id == client_id and token.account_id == account_id and not token.revoked:
                token.revoked = True
                count += 1
        return count

    def bearer(self, access_token: str, now: float) -> Token:
        """The token an ``Authorization: Bearer`` header names, or 401 saying why it cannot be used."""
        token = self.tokens.get(access_token)
        if token is None:
            raise CrmUnauthorized(
                "Unknown access token.",
                hint="Send the access_token POST /oauth2/access_token returned, as 'Authorization: Bearer <token>'.",
            )
        if token.revoked:
            why = "it was refreshed: use the newest access token" if token.refreshed else "the integration was uninstalled"
            raise CrmUnauthorized("The access token was revoked.", hint=f"The token no longer works: {why}.")
        if now >= token.expires_at:
            raise CrmUnauthorized(
                "The access token has expired.",
                hint=f"Access tokens live {int(token.expires_at - token.issued_at)} s; get a new one with grant_type=refresh_token.",
            )
        return token
