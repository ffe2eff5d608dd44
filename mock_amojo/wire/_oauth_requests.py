"""OAuth requests as typed values: ``POST /oauth2/access_token`` and the control plane's integrations.

``/oauth2/access_token`` takes a form or JSON; each field missing or not a string is named in
amoCRM's OAuth problem. The control plane's bodies are schema-checked first
(``schemas/control_integrations*.request.json``), then parsed here once.

>>> parse_access_token({"client_id": "app", "client_secret": "s", "grant_type": "refresh_token", "refresh_token": "r"}).grant_type
'refresh_token'
>>> parse_install({"state": "xyz"})
Install(account_id=None, state='xyz', deliver=True)
"""

from __future__ import annotations

from typing import Any

from ..errors import OAuthRefused
from ._values import Value

__all__ = [
    "LONG_LIVED",
    "AccessTokenRequest",
    "Install",
    "NewIntegration",
    "TokenGrant",
    "parse_access_token",
    "parse_install",
    "parse_new_integration",
    "parse_token_grant",
]

_OAUTH_INVALID = "В запросе отсутствует ряд параметров или параметры невалидны"
#: Seconds a control-plane token lives unless the body says (five years: amoCRM's long-lived tokens).
LONG_LIVED = 5 * 365 * 24 * 3600


class AccessTokenRequest(Value, frozen=True):
    """``POST /oauth2/access_token``: the client, the grant and its code or refresh token."""

    client_id: str
    client_secret: str
    grant_type: str
    code: str | None = None
    refresh_token: str | None = None
    redirect_uri: str | None = None


def parse_access_token(data: dict[str, Any]) -> AccessTokenRequest:
    """The form or JSON fields, each named in amoCRM's OAuth problem when missing or not a string."""
    for name in ("client_id", "client_secret", "grant_type"):
        if not isinstance(data.get(name), str) or not data[name]:
            raise OAuthRefused(_OAUTH_INVALID, hint=f'Check the "{name}" parameter.')
    for name in ("code", "refresh_token", "redirect_uri"):
        if data.get(name) is not None and not isinstance(data[name], str):
            raise OAuthRefused(_OAUTH_INVALID, hint=f'"{name}" is a string.')
    return AccessTokenRequest(
        data["client_id"], data["client_secret"], data["grant_type"], data.get("code"), data.get("refresh_token"), data.get("redirect_uri")
    )


# -- the control plane's integrations (schema-checked bodies) ----------------------------------


class NewIntegration(Value, frozen=True):
    """``POST /__mock__/integrations``: an integration as amoCRM's settings register it (id and secret generated if absent)."""

    redirect_uri: str
    name: str = "mock-amojo integration"
    client_id: str | None = None
    client_secret: str | None = None


def parse_new_integration(body: dict[str, Any]) -> NewIntegration:
    return NewIntegration(
        body["redirect_uri"], body.get("name") or "mock-amojo integration", body.get("client_id"), body.get("client_secret")
    )


class Install(Value, frozen=True):
    """``POST /__mock__/integrations/{client_id}/install``: the account (None: the first), the redirect's ``state``, whether to call it."""

    account_id: str | None = None
    state: str = ""
    deliver: bool = True


def parse_install(body: dict[str, Any]) -> Install:
    return Install(body.get("account_id"), body.get("state") or "", body.get("deliver", True) is not False)


class TokenGrant(Value, frozen=True):
    """``POST /__mock__/integrations/{client_id}/token``: a long-lived token for the account (None: the first)."""

    account_id: str | None = None
    lifetime: int = LONG_LIVED


def parse_token_grant(body: dict[str, Any]) -> TokenGrant:
    return TokenGrant(body.get("account_id"), body.get("lifetime", LONG_LIVED))
