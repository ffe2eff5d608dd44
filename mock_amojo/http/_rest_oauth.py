"""OAuth 2.0 at the HTTP edge: ``POST /oauth2/access_token``, and the control plane's integrations.

``/__mock__/integrations`` registers an integration (as amoCRM's settings page does) and installs it
into an account: amoCRM then redirects the user's browser to
``redirect_uri?code=…&referer={subdomain}.amocrm.ru&client_id=…&state=…`` (amoCRM's OAuth
reference, "step by step"); the fake calls that URL itself when the integrator's server answers,
and returns it either way.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..config import Config, webhook_url_problem
from ..domain import Backend
from ..errors import AccountNotFound, AmojoError, ControlError, IntegrationNotFound, OAuthRefused
from ..wire._validation import SchemaSet
from ._exchange import error_response, json_response, parse_json, read_body
from ._rest import problem_response

__all__ = ["integration_routes", "oauth_routes"]


async def _form_or_json(request: Request, limit: int) -> dict[str, Any]:
    raw = await read_body(request, limit)
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise OAuthRefused("В запросе отсутствует ряд параметров или параметры невалидны", hint="The body is a JSON object.")
    return data


def oauth_routes(backend: Backend, config: Config) -> list[Route]:
    async def access_token(request: Request) -> Response:
        """``POST /oauth2/access_token``: ``authorization_code`` (code: 20 min, once) or ``refresh_token`` (once; rotates)."""
        try:
            from ..wire._oauth_requests import parse_access_token  # with the first OAuth request: no start pays for it

            asked = parse_access_token(await _form_or_json(request, config.body_limit))
            token = backend.oauth_token(
                asked.client_id,
                asked.client_secret,
                asked.grant_type,
                code=asked.code,
                refresh_token=asked.refresh_token,
                redirect_uri=asked.redirect_uri,
            )
        except AmojoError as error:
            return problem_response(error)
        return json_response(
            {
                "token_type": "Bearer",
                "expires_in": int(token.expires_at - token.issued_at),
                "access_token": token.access_token,
                "refresh_token": token.refresh_token,
            }
        )

    return [Route("/oauth2/access_token", access_token, methods=["POST"])]


def _guard(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    @functools.wraps(handler)
    async def guarded(request: Request) -> Response:
        try:
            return await handler(request)
        except AmojoError as error:
            return error_response(error)

    return guarded


class _Integrations:
    def __init__(self, backend: Backend, config: Config, schemas: SchemaSet) -> None:
        self.backend = backend
        self.config = config
        self.schemas = schemas

    async def _body(self, request: Request, schema: str) -> dict[str, Any]:
        raw = await read_body(request, self.config.body_limit)
        data = parse_json(raw) if raw.strip() else {}
        self.schemas.validate(schema, data, raw=raw)
        result: dict[str, Any] = data
        return result

    def _integration(self, request: Request) -> Any:
        client_id: str = request.path_params["client_id"]
        found = next((i for i in self.backend.integrations() if i.client_id == client_id), None)
        if found is None:
            raise IntegrationNotFound("client_id", client_id)
        return found

    async def list(self, request: Request) -> Response:
        """Registered integrations (secret keys left out)."""
        items = [{"client_id": i.client_id, "name": i.name, "redirect_uri": i.redirect_uri} for i in self.backend.integrations()]
        return json_response({"integrations": items})

    async def add(self, request: Request) -> Response:
        """Register an integration: ``redirect_uri`` (required), ``name``, ``client_id``, ``client_secret`` (generated if absent)."""
        from ..wire._oauth_requests import parse_new_integration

        asked = parse_new_integration(await self._body(request, "control_integrations.request.json"))
        if problem := webhook_url_problem(asked.redirect_uri):
            raise ControlError(
                f"redirect_uri {problem}: {asked.redirect_uri!r}.", hint="Give your server's http(s) URL that receives ?code=…&referer=…"
            )
        integration = self.backend.register_integration(
            client_id=asked.client_id, client_secret=asked.client_secret, redirect_uri=asked.redirect_uri, name=asked.name
        )
        body = {"client_id": integration.client_id, "client_secret": integration.client_secret, "redirect_uri": integration.redirect_uri}
        return json_response({**body, "name": integration.name}, 201)

    def _account_id(self, account_id: str | None) -> str:
        if account_id is not None and self.backend.account(account_id) is None:
            raise AccountNotFound("account_id", account_id)
        if account_id is None:
            accounts = self.backend.snapshot().accounts
            if not accounts:
                raise ControlError("No account is registered.", hint="Register one with POST /__mock__/accounts.")
            account_id = accounts[0].id
        return account_id

    async def install(self, request: Request) -> Response:
        """Install into ``account_id`` (default: the first account): the redirect amoCRM makes, called when reachable."""
        integration = self._integration(request)
        from ..wire._oauth_requests import parse_install

        asked = parse_install(await self._body(request, "control_integrations_install.request.json"))
        client_id = integration.client_id
        account_id = self._account_id(asked.account_id)
        state = asked.state
        grant = self.backend.install_integration(client_id, account_id)
        subdomain = self.backend.crm_account(account_id).subdomain
        query = urlencode({"code": grant.code, "referer": f"{subdomain}.amocrm.ru", "client_id": client_id, "state": state})
        url = f"{integration.redirect_uri}{'&' if '?' in integration.redirect_uri else '?'}{query}"
        answer: dict[str, Any] = {"url": url, "code": grant.code, "referer": f"{subdomain}.amocrm.ru", "delivered": False, "status": None}
        if asked.deliver:
            import httpx  # only here: `mock-amojo serve` starts without httpx (its webhooks use the lean client)

            try:
                async with httpx.AsyncClient(timeout=self.config.webhook_timeout) as client:
                    response = await client.get(url)
                answer.update(delivered=True, status=response.status_code)
            except (httpx.HTTPError, OSError) as err:
                answer["error"] = f"{type(err).__name__}: {err}"[:300]
        return json_response(answer, 201)

    async def token(self, request: Request) -> Response:
        """A long-lived token of the integration for ``account_id`` (default: the first account): no OAuth round."""
        integration = self._integration(request)
        from ..wire._oauth_requests import parse_token_grant

        asked = parse_token_grant(await self._body(request, "control_integrations_token.request.json"))
        token = self.backend.issue_token(integration.client_id, self._account_id(asked.account_id), asked.lifetime)
        return json_response({"access_token": token.access_token, "expires_at": int(token.expires_at), "account_id": token.account_id}, 201)

    async def subdomain(self, request: Request) -> Response:
        """Give an account the subdomain its REST API answers on: ``{account_id, subdomain}``."""
        data = await self._body(request, "control_crm_subdomain.request.json")
        account = self.backend.set_subdomain(self._account_id(data.get("account_id")), data["subdomain"])
        return json_response({"account_id": account.amojo_id, "id": account.id, "subdomain": account.subdomain})


def integration_routes(backend: Backend, config: Config, schemas: SchemaSet, prefix: str) -> list[Route]:
    """The control plane's OAuth part: integrations, installs, long-lived tokens, subdomains."""
    control = _Integrations(backend, config, schemas)
    table = [
        ("/integrations", control.list, ["GET"]),
        ("/integrations", control.add, ["POST"]),
        ("/integrations/{client_id}/install", control.install, ["POST"]),
        ("/integrations/{client_id}/token", control.token, ["POST"]),
        ("/crm/subdomain", control.subdomain, ["POST"]),
    ]
    return [Route(prefix + path, _guard(handler), methods=methods) for path, handler, methods in table]
