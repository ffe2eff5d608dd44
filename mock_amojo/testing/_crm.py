"""``amojo.crm``: the test's amoCRM account as its REST API shows it, and the integration that calls it.

In process, ``https://{subdomain}.amocrm.ru`` (and ``.amocrm.com``, ``.kommo.com``) is served by the
fake like amojo's hosts are; served, ``base_url`` is the server's. ``account_id`` is the REST integer
id (``GET /api/v4/account``'s ``id``); ``amojo.account_id`` stays the amojo id connect takes.

>>> from mock_amojo.testing._sandbox import SandboxHost, SandboxSettings
>>> host = SandboxHost()
>>> with host.open(SandboxSettings(clock=1639609975, subdomain="shop")) as amojo:
...     import httpx
...     answer = httpx.get(amojo.crm.base_url + "/api/v4/account?with=amojo_id", headers={"Authorization": f"Bearer {amojo.crm.token()}"})
...     answer.json()["amojo_id"] == amojo.account_id, amojo.crm.base_url
(True, 'https://shop.amocrm.ru')
>>> host.close()
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx

from ..domain import Backend

if TYPE_CHECKING:
    from ._sandbox import Sandbox

__all__ = ["CrmIntegration", "SandboxCrm"]


@dataclass(frozen=True, slots=True)
class CrmIntegration:
    """An integration registered in the fake amoCRM (``amojo.crm.integration(...)``): what its OAuth calls carry.

    >>> from mock_amojo import SandboxHost, SandboxSettings
    >>> host = SandboxHost()
    >>> with host.open(SandboxSettings(clock=1639609975)) as amojo:
    ...     app = amojo.crm.integration("https://app.test/oauth", client_id="my-app", client_secret="s" * 64)
    ...     app.client_id, app.redirect_uri
    ('my-app', 'https://app.test/oauth')
    >>> host.close()
    """

    client_id: str
    client_secret: str
    redirect_uri: str
    name: str


class SandboxCrm:
    """``amojo.crm``: the sandbox account's amoCRM REST side (see the module docs).

    An integration installs through OAuth as against amoCRM: the install's redirect carries the code
    that ``POST /oauth2/access_token`` exchanges for tokens.

    >>> import httpx
    >>> from urllib.parse import parse_qs, urlsplit
    >>> from mock_amojo import SandboxHost, SandboxSettings
    >>> host = SandboxHost()
    >>> with host.open(SandboxSettings(clock=1639609975, subdomain="shop")) as amojo:
    ...     app = amojo.crm.integration("https://app.test/oauth")
    ...     redirect = amojo.crm.install(app.client_id, state="xyz", deliver=False)
    ...     code = parse_qs(urlsplit(redirect).query)["code"][0]
    ...     tokens = httpx.post(amojo.crm.base_url + "/oauth2/access_token", json={
    ...         "client_id": app.client_id, "client_secret": app.client_secret, "grant_type": "authorization_code",
    ...         "code": code, "redirect_uri": app.redirect_uri}).json()
    ...     me = httpx.get(amojo.crm.base_url + "/api/v4/account", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    ...     redirect.startswith("https://app.test/oauth?code="), me.json()["subdomain"], me.json()["id"] == amojo.crm.account_id
    (True, 'shop', True)
    >>> host.close()
    """

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self._backend: Backend = sandbox.backend
        self._default: CrmIntegration | None = None
        self._http: httpx.Client | None = None

    @property
    def subdomain(self) -> str:
        """The account's subdomain (``@pytest.mark.amojo(subdomain=...)``; else ``account<id>``)."""
        return self._backend.crm_account(self._sandbox.account_id).subdomain

    @property
    def account_id(self) -> int:
        """The REST integer account id (``amojo.account_id`` is the amojo id)."""
        return self._backend.crm_account(self._sandbox.account_id).id

    @property
    def base_url(self) -> str:
        """``https://{subdomain}.amocrm.ru`` in process, the server's URL when served."""
        if self._sandbox.settings.served:
            return self._sandbox.base_url
        return f"https://{self.subdomain}.amocrm.ru"

    @property
    def user_ids(self) -> dict[str, int]:
        """The account's users: amojo id -> REST integer id."""
        return dict(self._backend.crm_account(self._sandbox.account_id).user_ids)

    def integration(
        self,
        redirect_uri: str = "https://integration.test/oauth",
        *,
        name: str = "test integration",
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> CrmIntegration:
        """Register an integration (as amoCRM's settings page does); its id and secret are generated if absent."""
        body: dict[str, Any] = {"redirect_uri": redirect_uri, "name": name}
        if client_id is not None:
            body["client_id"] = client_id
        if client_secret is not None:
            body["client_secret"] = client_secret
        answer = self._sandbox.http.post("/__mock__/integrations", json=body)
        if answer.status_code != 201:
            raise ValueError(answer.json().get("error_description", answer.text))
        data = answer.json()
        return CrmIntegration(data["client_id"], data["client_secret"], data["redirect_uri"], data["name"])

    def install(self, client_id: str, *, state: str = "", deliver: bool = True) -> str:
        """Install the integration into the account: amoCRM's redirect URL (``?code=…&referer=…&client_id=…&state=…``).

        With ``deliver`` the fake calls the URL (your server's OAuth callback) when it answers.
        """
        answer = self._sandbox.http.post(
            f"/__mock__/integrations/{client_id}/install", json={"account_id": self._sandbox.account_id, "state": state, "deliver": deliver}
        )
        if answer.status_code != 201:
            raise ValueError(answer.json().get("error_description", answer.text))
        url: str = answer.json()["url"]
        return url

    def code(self, client_id: str) -> str:
        """A fresh authorization code (an install whose redirect is not called)."""
        return parse_qs(urlsplit(self.install(client_id, deliver=False)).query)["code"][0]

    def token(self, client_id: str | None = None) -> str:
        """A valid bearer token of a ready integration (a long-lived one; the default integration if none is named)."""
        if client_id is None:
            if self._default is None:
                self._default = self.integration(name="mock-amojo default integration")
            client_id = self._default.client_id
        return self._backend.issue_token(client_id, self._sandbox.account_id).access_token

    @property
    def http(self) -> httpx.Client:
        """An httpx client for ``base_url`` with the default integration's bearer token."""
        if self._http is None:
            headers = {"Authorization": f"Bearer {self.token()}"}
            if self._sandbox.settings.served:
                self._http = httpx.Client(base_url=self.base_url, headers=headers)
            else:
                self._http = httpx.Client(base_url=self.base_url, headers=headers, transport=self._sandbox.host.transport)
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
