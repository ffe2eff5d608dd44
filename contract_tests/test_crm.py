"""§11 The amoCRM REST side an integration also calls (amojo-api.md §10: OAuth2, account/users amojo_id,
sources, incoming leads, contacts↔chats, talks), over the same state as the chat.

References: RU www.amocrm.ru/developers/content/crm_platform/{account-info, users-api, sources-api,
unsorted-api, contacts-api, talks-api}, RU oauth step-by-step; EN developers.kommo.com (incoming leads,
conversations, limitations). Fake-only for now: a live run needs an amoCRM account's OAuth token.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .targets import Target
from .wire import Wire, new_id

rule = pytest.mark.rule
pytestmark = pytest.mark.fake_only("needs an amoCRM account's OAuth token; live REST runs are not wired yet")


class Rest:
    """Bearer-token calls to the target's REST API for the channel's account."""

    def __init__(self, http: httpx.Client, token: str, integration: dict[str, Any]) -> None:
        self.http = http
        self.auth = {"Authorization": f"Bearer {token}"}
        self.integration = integration

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params, headers=self.auth)

    def send(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return self.http.request(method, path, json=body, headers=self.auth)


@pytest.fixture
def rest(target: Target, amojo: Wire) -> Rest:
    assert target.control is not None
    integration = target.control.post("/__mock__/integrations", json={"redirect_uri": "https://integration.test/oauth"}).json()
    issued = target.control.post(f"/__mock__/integrations/{integration['client_id']}/token", json={"account_id": amojo.channel.account_id})
    return Rest(target.http, issued.json()["access_token"], integration)


def _hal(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code} {response.text[:500]}"
    assert response.headers["content-type"] == "application/hal+json", response.headers
    return response.json()


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, f"{response.status_code} {response.text[:500]}"
    assert response.headers["content-type"] == "application/problem+json", response.headers
    body: dict[str, Any] = response.json()
    assert {"title", "type", "status", "detail"} <= set(body) and body["status"] == status
    return body


def _first_message(amojo: Wire) -> str:
    conversation = new_id("conv")
    assert amojo.incoming(conversation, new_id("user")).status_code == 200
    return conversation


@rule("§11", evidence="doc")
def test_account_with_amojo_id_is_the_id_connect_takes(amojo: Wire, rest: Rest) -> None:
    """GET /api/v4/account?with=amojo_id: the account's amojo_id is connect's account_id."""
    assert _hal(rest.get("/api/v4/account", **{"with": "amojo_id"}))["amojo_id"] == amojo.channel.account_id


@rule("§11", evidence="doc")
def test_users_with_amojo_id_give_sender_ref_ids(amojo: Wire, rest: Rest) -> None:
    """GET /api/v4/users?with=amojo_id lists each user's amojo_id (an import's sender.ref_id)."""
    users = _hal(rest.get("/api/v4/users", **{"with": "amojo_id"}))["_embedded"]["users"]
    assert amojo.channel.operator_id in [u["amojo_id"] for u in users]


@rule("§11", evidence="doc")
def test_a_first_client_message_is_an_incoming_chat_lead(amojo: Wire, rest: Rest) -> None:
    """A chat's first client message creates an incoming lead of category chats, with a contact and a lead."""
    _first_message(amojo)
    (unsorted,) = _hal(rest.get("/api/v4/leads/unsorted", **{"filter[category][]": "chats"}))["_embedded"]["unsorted"]
    assert unsorted["category"] == "chats" and unsorted["_embedded"]["leads"] and unsorted["_embedded"]["contacts"]


@rule("§11", evidence="doc")
def test_accepting_an_incoming_lead_moves_it_out_of_the_incoming_stage(amojo: Wire, rest: Rest) -> None:
    """POST /api/v4/leads/unsorted/{uid}/accept {status_id}: the lead is in that status; the list no longer has it (204)."""
    _first_message(amojo)
    (unsorted,) = _hal(rest.get("/api/v4/leads/unsorted"))["_embedded"]["unsorted"]
    _hal(rest.send("POST", f"/api/v4/leads/unsorted/{unsorted['uid']}/accept", {"status_id": 142}))
    assert _hal(rest.get(f"/api/v4/leads/{unsorted['_embedded']['leads'][0]['id']}"))["status_id"] == 142
    assert rest.get("/api/v4/leads/unsorted").status_code == 204


@rule("§11", evidence="doc")
def test_a_source_external_id_is_unique(rest: Rest) -> None:
    """Two sources cannot share an external_id: 400 with validation-errors naming the field."""
    _hal(rest.send("POST", "/api/v4/sources", [{"name": "Widget", "external_id": "contract-src"}]))
    body = _problem(rest.send("POST", "/api/v4/sources", [{"name": "Again", "external_id": "contract-src"}]), 400)
    assert body["validation-errors"][0]["errors"][0]["path"] == "0.external_id"


@rule("§11", evidence="doc")
def test_a_chat_links_to_a_contact(amojo: Wire, rest: Rest) -> None:
    """POST /api/v4/contacts/chats [{chat_id, contact_id}] and GET ?chat_id[]= show the link."""
    contact = _hal(rest.send("POST", "/api/v4/contacts", [{"name": "Contract contact"}]))["_embedded"]["contacts"][0]
    conversation, user = new_id("conv"), new_id("user")
    chat = amojo.create_chat(conversation, {"id": user, "name": "Client"}).json()
    _hal(rest.send("POST", "/api/v4/contacts/chats", [{"chat_id": chat["id"], "contact_id": contact["id"]}]))
    links = _hal(rest.get("/api/v4/contacts/chats", **{"chat_id[]": chat["id"]}))["_embedded"]["chats"]
    assert links == [{"chat_id": chat["id"], "contact_id": contact["id"]}]


@rule("§11", evidence="doc")
def test_a_talk_is_read_and_closed(target: Target, amojo: Wire, rest: Rest) -> None:
    """GET /api/v4/talks/{id} shows the chat's talk in work; POST …/close answers 202 and ends it."""
    _first_message(amojo)
    assert target.control is not None
    talks = [t for t in target.control.get("/__mock__/state").json()["crm"]["talks"] if t["account_id"] == amojo.channel.account_id]
    talk_id = talks[0]["id"]
    assert _hal(rest.get(f"/api/v4/talks/{talk_id}"))["is_in_work"] is True
    assert rest.send("POST", f"/api/v4/talks/{talk_id}/close", {"force_close": True}).status_code == 202
    assert _hal(rest.get(f"/api/v4/talks/{talk_id}"))["is_in_work"] is False


@rule("§11", evidence="doc")
def test_no_bearer_token_is_401_problem_json(target: Target) -> None:
    """Without Authorization: Bearer the REST API answers 401 application/problem+json (title, type, status, detail)."""
    _problem(target.http.get("/api/v4/account"), 401)


@rule("§11", evidence="doc")
def test_an_authorization_code_is_exchanged_once(target: Target, amojo: Wire, rest: Rest) -> None:
    """POST /oauth2/access_token grant_type=authorization_code: a token pair; the same code again is refused."""
    assert target.control is not None
    integration = rest.integration
    install = target.control.post(
        f"/__mock__/integrations/{integration['client_id']}/install", json={"account_id": amojo.channel.account_id, "deliver": False}
    )
    body = {
        "client_id": integration["client_id"],
        "client_secret": integration["client_secret"],
        "grant_type": "authorization_code",
        "code": install.json()["code"],
        "redirect_uri": integration["redirect_uri"],
    }
    tokens = target.http.post("/oauth2/access_token", json=body)
    assert tokens.status_code == 200 and tokens.json()["token_type"] == "Bearer" and tokens.json()["refresh_token"]
    _problem(target.http.post("/oauth2/access_token", json=body), 400)
