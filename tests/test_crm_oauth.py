"""amoCRM's OAuth 2.0 as the fake runs it, and the REST API's gate (401, 429).

References: amoCRM's OAuth "step by step" (RU www.amocrm.ru/developers/content/oauth/step-by-step;
EN/Kommo developers.kommo.com/docs/oauth-20): the install redirect carries ``code``, ``referer``,
``client_id`` and ``state``; a code lives 20 minutes and is exchanged once; an access token lives a
day; a refresh token is used once and rotates. Refusals are ``application/problem+json`` with
``title``, ``type``, ``status``, ``detail`` (amoCRM's error reference; the official PHP client
``amocrm/amocrm-api-php`` reads ``detail`` and ``validation-errors``). 7 requests per second per
integration (developers.kommo.com/docs/limitations).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mock_amojo import Sandbox


def _exchange(amojo: Sandbox, integration: Any, **fields: Any) -> httpx.Response:
    body = {"client_id": integration.client_id, "client_secret": integration.client_secret, "redirect_uri": integration.redirect_uri}
    return httpx.post(f"{amojo.crm.base_url}/oauth2/access_token", json={**body, **fields})


def _get(amojo: Sandbox, path: str, token: str, base: str | None = None) -> httpx.Response:
    return httpx.get(f"{base or amojo.crm.base_url}{path}", headers={"Authorization": f"Bearer {token}"})


@pytest.mark.amojo(subdomain="shop", clock=1_764_000_000)
def test_install_redirects_with_code_referer_client_id_and_state_and_calls_the_integrator(amojo: Sandbox) -> None:
    seen: list[dict[str, str]] = []

    async def callback(request: Request) -> JSONResponse:
        seen.append(dict(request.query_params))
        return JSONResponse({"ok": True})

    amojo.mount("integration.test", Starlette(routes=[Route("/oauth", callback)]))
    integration = amojo.crm.integration("https://integration.test/oauth")
    url = amojo.crm.install(integration.client_id, state="csrf-7")
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith("https://integration.test/oauth?")
    assert query["referer"] == "shop.amocrm.ru" and query["client_id"] == integration.client_id and query["state"] == "csrf-7"
    assert seen == [query]  # the integrator's server got the same redirect


@pytest.mark.amojo(clock=1_764_000_000)
def test_a_code_gives_a_token_pair_once_and_the_token_reads_the_account(amojo: Sandbox) -> None:
    integration = amojo.crm.integration()
    code = amojo.crm.code(integration.client_id)
    answer = _exchange(amojo, integration, grant_type="authorization_code", code=code)
    assert answer.status_code == 200
    tokens = answer.json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 86400
    account = _get(amojo, "/api/v4/account?with=amojo_id", tokens["access_token"]).json()
    assert account["amojo_id"] == amojo.account_id and account["id"] == amojo.crm.account_id
    again = _exchange(amojo, integration, grant_type="authorization_code", code=code)
    assert again.status_code == 400
    assert again.json()["type"] == "https://developers.amocrm.ru/v3/errors/OAuthProblemJson"
    assert "revoked" in again.json()["hint"]


@pytest.mark.amojo(clock=1_764_000_000)
def test_a_code_expires_after_twenty_minutes(amojo: Sandbox) -> None:
    integration = amojo.crm.integration()
    fresh, stale = amojo.crm.code(integration.client_id), amojo.crm.code(integration.client_id)
    amojo.clock.advance(20 * 60 - 1)
    assert _exchange(amojo, integration, grant_type="authorization_code", code=fresh).status_code == 200
    amojo.clock.advance(2)
    expired = _exchange(amojo, integration, grant_type="authorization_code", code=stale)
    assert expired.status_code == 400 and "expired" in expired.json()["hint"]


@pytest.mark.amojo(clock=1_764_000_000)
def test_a_wrong_secret_or_redirect_uri_is_refused(amojo: Sandbox) -> None:
    integration = amojo.crm.integration()
    code = amojo.crm.code(integration.client_id)
    wrong = _exchange(amojo, integration, grant_type="authorization_code", code=code, client_secret="x" * 64)
    assert wrong.status_code == 400 and "client_secret" in wrong.json()["hint"]
    elsewhere = _exchange(amojo, integration, grant_type="authorization_code", code=code, redirect_uri="https://evil.test/")
    assert elsewhere.status_code == 400 and "redirect_uri" in elsewhere.json()["hint"]
    assert _exchange(amojo, integration, grant_type="authorization_code", code=code).status_code == 200


@pytest.mark.amojo(clock=1_764_000_000)
def test_an_access_token_expires_after_a_day_on_the_virtual_clock(amojo: Sandbox) -> None:
    integration = amojo.crm.integration()
    tokens = _exchange(amojo, integration, grant_type="authorization_code", code=amojo.crm.code(integration.client_id)).json()
    amojo.clock.advance(86400 - 1)
    assert _get(amojo, "/api/v4/account", tokens["access_token"]).status_code == 200
    amojo.clock.advance(1)
    expired = _get(amojo, "/api/v4/account", tokens["access_token"])
    assert expired.status_code == 401
    assert expired.headers["content-type"] == "application/problem+json"
    body = expired.json()
    assert {k: body[k] for k in ("title", "type", "status")} == {
        "title": "Unauthorized",
        "type": "https://httpstatus.es/401",
        "status": 401,
    }
    assert "expired" in body["detail"] and "refresh_token" in body["hint"]


@pytest.mark.amojo(clock=1_764_000_000)
def test_a_refresh_token_is_used_once_and_rotates_the_pair(amojo: Sandbox) -> None:
    integration = amojo.crm.integration()
    first = _exchange(amojo, integration, grant_type="authorization_code", code=amojo.crm.code(integration.client_id)).json()
    second = _exchange(amojo, integration, grant_type="refresh_token", refresh_token=first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"] and second["access_token"] != first["access_token"]
    reused = _exchange(amojo, integration, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert reused.status_code == 400 and "used once" in reused.json()["hint"]
    assert _get(amojo, "/api/v4/account", first["access_token"]).status_code == 401
    assert _get(amojo, "/api/v4/account", second["access_token"]).status_code == 200


def test_missing_unknown_and_foreign_tokens_are_401(amojo: Sandbox) -> None:
    assert httpx.get(f"{amojo.crm.base_url}/api/v4/account").json()["detail"] == "No access token."
    unknown = _get(amojo, "/api/v4/leads", "not-a-token")
    assert unknown.status_code == 401 and unknown.json()["detail"] == "Unknown access token."
    other = amojo.add_account(name="Other")
    other_subdomain = amojo.backend.crm_account(other.id).subdomain
    foreign = _get(amojo, "/api/v4/account", amojo.crm.token(), base=f"https://{other_subdomain}.kommo.com")
    assert foreign.status_code == 401 and amojo.crm.subdomain in foreign.json()["detail"]


def test_an_uninstalled_integration_s_tokens_stop_working(amojo: Sandbox) -> None:
    integration = amojo.crm.integration()
    token = amojo.crm.token(integration.client_id)
    amojo.backend.uninstall_integration(integration.client_id, amojo.account_id)
    refused = _get(amojo, "/api/v4/account", token)
    assert refused.status_code == 401 and "uninstalled" in refused.json()["hint"]


@pytest.mark.amojo(crm_rate_limit=7)
def test_an_eighth_request_within_a_second_is_429(amojo: Sandbox) -> None:
    amojo.app.state.crm_rest.limiter.clock = lambda: 100.0  # one frozen second: no timing in the test
    token = amojo.crm.token()
    statuses = [_get(amojo, "/api/v4/account", token).status_code for _ in range(8)]
    assert statuses == [200] * 7 + [429]
    refused = _get(amojo, "/api/v4/account", token)
    assert refused.json()["status"] == 429 and refused.json()["title"] == "Too Many Requests"
    amojo.app.state.crm_rest.limiter.clock = lambda: 101.5
    assert _get(amojo, "/api/v4/account", token).status_code == 200


def test_the_rate_limit_is_off_by_default_in_tests(amojo: Sandbox) -> None:
    amojo.app.state.crm_rest.limiter.clock = lambda: 100.0
    token = amojo.crm.token()
    assert {_get(amojo, "/api/v4/account", token).status_code for _ in range(20)} == {200}
