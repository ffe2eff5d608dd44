"""amoCRM's REST API v4 over the chat's state: one contact, talk and incoming lead for both APIs.

References (RU www.amocrm.ru/developers/content/crm_platform/…; EN/Kommo developers.kommo.com):
``account-info`` (``with=amojo_id``), ``users-api``, ``leads_pipelines``, ``sources-api`` (external_id
unique, ≤ 50 per integration), ``unsorted-api`` (chats are created by amojo; list, get by uid,
summary, accept, decline, link; ``filter[category]``), ``leads-api`` (``with=contacts``),
``contacts-api`` (``query``), contacts↔chats (``/api/v4/contacts/chats``), ``talks-api`` (get, close:
202). HAL collections (``_page``, ``_links``, ``_embedded``), 204 for an empty list, 400 with
``validation-errors`` naming the field (``request_id``, ``code``, ``path``, ``detail``), 404 for an
unknown id. Shapes of unsorted chat metadata and talks as the official PHP client
``amocrm/amocrm-api-php`` reads them (``ChatsMetadata``, ``TalkModel``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_amojo import Config, ManualClock, Sandbox, create_app
from mock_amojo.testing._inprocess import SyncASGITransport


def _message(amojo: Sandbox, msgid: str, conversation_id: str = "c-1", source: str | None = None, **sender: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "timestamp": 1_764_000_001,
        "msgid": msgid,
        "conversation_id": conversation_id,
        "sender": {"id": f"user-{conversation_id}", "name": "Ann", **sender},
        "message": {"type": "text", "text": f"hello {msgid}"},
    }
    if source is not None:
        payload["source"] = {"external_id": source}
    answer = amojo.client.send_message(payload)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


@pytest.fixture
def crm(amojo: Sandbox) -> httpx.Client:
    amojo.connect()
    return amojo.crm.http


def test_account_and_users_give_the_ids_connect_and_imports_take(amojo: Sandbox, crm: httpx.Client) -> None:
    account = crm.get("/api/v4/account", params={"with": "amojo_id,amojo_rights,users_groups"}).json()
    assert account["amojo_id"] == amojo.account_id and account["subdomain"] == amojo.crm.subdomain
    assert account["amojo_rights"] == {"can_direct": True, "can_create_groups": True} and account["_embedded"]["users_groups"]
    assert "amojo_id" not in crm.get("/api/v4/account").json()
    users = crm.get("/api/v4/users", params={"with": "amojo_id"}).json()["_embedded"]["users"]
    assert [u["amojo_id"] for u in users] == [amojo.manager_id]
    assert crm.get(f"/api/v4/users/{users[0]['id']}").json()["name"] == users[0]["name"]
    assert crm.get("/api/v4/users/1").status_code == 404


def test_the_main_pipeline_has_the_incoming_stage_first_and_142_143_last(crm: httpx.Client) -> None:
    (pipeline,) = crm.get("/api/v4/leads/pipelines").json()["_embedded"]["pipelines"]
    statuses = pipeline["_embedded"]["statuses"]
    assert pipeline["is_main"] and statuses[0]["type"] == 1 and [s["id"] for s in statuses[-2:]] == [142, 143]
    assert crm.get(f"/api/v4/leads/pipelines/{pipeline['id']}/statuses/142").json()["name"] == "Успешно реализовано"


def test_a_first_message_makes_the_incoming_lead_contact_and_talk_the_rest_api_lists(amojo: Sandbox, crm: httpx.Client) -> None:
    assert crm.get("/api/v4/leads/unsorted").status_code == 204
    _message(amojo, "m-1", profile={"phone": "+7 915 111-22-33"})
    _message(amojo, "m-2")  # the same chat: no second incoming lead
    (unsorted,) = crm.get("/api/v4/leads/unsorted", params={"filter[category][]": "chats"}).json()["_embedded"]["unsorted"]
    chat_id = amojo.chats[0]["id"]  # amojo's chat id: what contacts/chats and talks name
    assert unsorted["category"] == "chats" and unsorted["metadata"]["origin"]["chat_id"] == chat_id
    assert unsorted["metadata"]["client"]["name"] == "Ann" and unsorted["metadata"]["last_message_text"] == "hello m-1"
    lead_id = unsorted["_embedded"]["leads"][0]["id"]
    contact_id = unsorted["_embedded"]["contacts"][0]["id"]
    lead = crm.get(f"/api/v4/leads/{lead_id}", params={"with": "contacts"}).json()
    pipeline = crm.get("/api/v4/leads/pipelines").json()["_embedded"]["pipelines"][0]
    assert lead["status_id"] == pipeline["_embedded"]["statuses"][0]["id"]  # the incoming-leads stage
    assert lead["_embedded"]["contacts"][0]["id"] == contact_id
    contact = crm.get(f"/api/v4/contacts/{contact_id}").json()
    assert contact["custom_fields_values"][0]["values"][0]["value"] == "+79151112233"
    assert crm.get("/api/v4/contacts/chats", params={"chat_id[]": chat_id}).json()["_embedded"]["chats"] == [
        {"chat_id": chat_id, "contact_id": contact_id}
    ]
    (talk,) = amojo.state()["crm"]["talks"]
    got = crm.get(f"/api/v4/talks/{talk['id']}").json()
    assert (got["chat_id"], got["contact_id"], got["entity_id"], got["entity_type"], got["is_in_work"]) == (
        chat_id,
        contact_id,
        lead_id,
        "lead",
        True,
    )
    assert [lead["id"] for lead in amojo.leads] == [lead_id]  # the fake's own view is the same lead


def test_a_silent_message_makes_no_incoming_lead(amojo: Sandbox, crm: httpx.Client) -> None:
    amojo.connect()
    answer = amojo.client.send_message(
        {
            "timestamp": 1,
            "msgid": "s-1",
            "conversation_id": "c-9",
            "sender": {"id": "u-9", "name": "U"},
            "message": {"type": "text", "text": "x"},
            "silent": True,
        }
    )
    assert answer.status_code == 200, answer.text
    assert crm.get("/api/v4/leads/unsorted").status_code == 204 and crm.get("/api/v4/leads").status_code == 204


def test_a_source_routes_its_chats_incoming_leads_to_its_pipeline(amojo: Sandbox, crm: httpx.Client) -> None:
    (pipeline,) = crm.post("/api/v4/leads/pipelines", json=[{"name": "Widget chats"}]).json()["_embedded"]["pipelines"]
    added = crm.post("/api/v4/sources", json=[{"name": "Site widget", "external_id": "widget-1", "pipeline_id": pipeline["id"]}])
    source = added.json()["_embedded"]["sources"][0]
    assert source["request_id"] == "0" and source["pipeline_id"] == pipeline["id"]
    _message(amojo, "m-1", "c-widget", source="widget-1")
    _message(amojo, "m-2", "c-other", source="unknown-source")
    by_chat = {u["metadata"]["origin"]["chat_id"]: u for u in crm.get("/api/v4/leads/unsorted").json()["_embedded"]["unsorted"]}
    chats = {c["conversation_id"]: c["id"] for c in amojo.chats}
    assert by_chat[chats["c-widget"]]["pipeline_id"] == pipeline["id"] and by_chat[chats["c-widget"]]["source_name"] == "Site widget"
    assert by_chat[chats["c-other"]]["pipeline_id"] != pipeline["id"]
    lead_id = by_chat[chats["c-widget"]]["_embedded"]["leads"][0]["id"]
    assert crm.get(f"/api/v4/leads/{lead_id}", params={"with": "source"}).json()["_embedded"]["source"]["external_id"] == "widget-1"
    only = crm.get("/api/v4/leads/unsorted", params={"filter[pipeline_id]": pipeline["id"]}).json()["_embedded"]["unsorted"]
    assert len(only) == 1


def test_sources_are_validated_unique_and_limited_as_documented(crm: httpx.Client) -> None:
    refused = crm.post("/api/v4/sources", json=[{"external_id": "x" * 41}])
    assert refused.status_code == 400
    errors = refused.json()["validation-errors"][0]["errors"]
    assert {e["path"] for e in errors} == {"0.name", "0.external_id"}
    assert crm.post("/api/v4/sources", json=[{"name": "A", "external_id": "a"}]).status_code == 200
    duplicate = crm.post("/api/v4/sources", json=[{"name": "B", "external_id": "a"}]).json()
    assert duplicate["validation-errors"][0]["errors"][0]["code"] == "NotUnique"
    many = [{"name": f"S{n}", "external_id": f"s{n}"} for n in range(50)]
    assert crm.post("/api/v4/sources", json=many).status_code == 400  # 1 + 50 > 50
    (source,) = crm.get("/api/v4/sources").json()["_embedded"]["sources"]
    assert crm.patch(f"/api/v4/sources/{source['id']}", json={"name": "Renamed", "default": True}).json()["default"] is True
    assert crm.request("DELETE", f"/api/v4/sources/{source['id']}").status_code == 204
    assert crm.get("/api/v4/sources").status_code == 204
    assert crm.get(f"/api/v4/sources/{source['id']}").status_code == 404


def test_accepting_moves_the_lead_into_the_chosen_status(amojo: Sandbox, crm: httpx.Client) -> None:
    _message(amojo, "m-1")
    (unsorted,) = crm.get("/api/v4/leads/unsorted").json()["_embedded"]["unsorted"]
    users = crm.get("/api/v4/users").json()["_embedded"]["users"]
    accepted = crm.post(f"/api/v4/leads/unsorted/{unsorted['uid']}/accept", json={"user_id": users[0]["id"], "status_id": 142})
    assert accepted.status_code == 200 and accepted.json()["uid"] == unsorted["uid"]
    lead = crm.get(f"/api/v4/leads/{unsorted['_embedded']['leads'][0]['id']}").json()
    assert (lead["status_id"], lead["responsible_user_id"]) == (142, users[0]["id"]) and lead["closed_at"] is not None
    assert crm.get("/api/v4/leads/unsorted").status_code == 204
    summary = crm.get("/api/v4/leads/unsorted/summary").json()
    assert (summary["total"], summary["accepted"], summary["declined"], summary["categories"]["chats"]["total"]) == (1, 1, 0, 1)
    again = crm.post(f"/api/v4/leads/unsorted/{unsorted['uid']}/accept", json={})
    assert again.status_code == 400
    wrong = crm.get("/api/v4/leads/unsorted/nope")
    assert wrong.status_code == 404 and wrong.json()["type"] == "https://httpstatus.es/404"


def test_declining_deletes_the_lead_and_the_next_message_opens_a_new_one(amojo: Sandbox, crm: httpx.Client) -> None:
    _message(amojo, "m-1")
    (first,) = crm.get("/api/v4/leads/unsorted").json()["_embedded"]["unsorted"]
    assert crm.request("DELETE", f"/api/v4/leads/unsorted/{first['uid']}/decline").status_code == 200
    assert crm.get(f"/api/v4/leads/{first['_embedded']['leads'][0]['id']}").status_code == 404
    _message(amojo, "m-2")
    (second,) = crm.get("/api/v4/leads/unsorted").json()["_embedded"]["unsorted"]
    assert second["uid"] != first["uid"] and second["_embedded"]["contacts"] == first["_embedded"]["contacts"]


def test_linking_puts_the_chat_on_an_existing_lead(amojo: Sandbox, crm: httpx.Client) -> None:
    (existing,) = crm.post("/api/v4/leads", json=[{"name": "Big deal", "price": 1000}]).json()["_embedded"]["leads"]
    _message(amojo, "m-1")
    (unsorted,) = crm.get("/api/v4/leads/unsorted").json()["_embedded"]["unsorted"]
    linked = crm.post(
        f"/api/v4/leads/unsorted/{unsorted['uid']}/link", json={"link": {"entity_id": existing["id"], "entity_type": "leads"}}
    )
    assert linked.status_code == 200 and linked.json()["_embedded"]["leads"] == [{"id": existing["id"]}]
    assert amojo.chats[0]["lead_id"] == existing["id"]
    assert [lead["id"] for lead in crm.get("/api/v4/leads").json()["_embedded"]["leads"]] == [existing["id"]]


def test_a_chat_linked_to_a_contact_gives_its_incoming_lead_that_contact(amojo: Sandbox, crm: httpx.Client) -> None:
    (contact,) = crm.post("/api/v4/contacts", json=[{"name": "Known client"}]).json()["_embedded"]["contacts"]
    chat = amojo.client.create_chat("c-1", {"id": "user-c-1", "name": "Ann"}).json()
    linked = crm.post("/api/v4/contacts/chats", json=[{"chat_id": chat["id"], "contact_id": contact["id"]}])
    assert linked.json()["_embedded"]["chats"] == [{"chat_id": chat["id"], "contact_id": contact["id"], "request_id": "0"}]
    _message(amojo, "m-1")
    (unsorted,) = crm.get("/api/v4/leads/unsorted").json()["_embedded"]["unsorted"]
    assert unsorted["_embedded"]["contacts"][0]["id"] == contact["id"]
    refused = crm.post("/api/v4/contacts/chats", json=[{"chat_id": "no-such-chat", "contact_id": contact["id"]}])
    assert refused.status_code == 400 and refused.json()["validation-errors"][0]["errors"][0]["path"] == "0.chat_id"


def test_a_contact_added_through_rest_is_the_one_a_chat_with_its_phone_finds(amojo: Sandbox, crm: httpx.Client) -> None:
    body = [{"name": "Bob", "custom_fields_values": [{"field_code": "PHONE", "values": [{"value": "+7 (916) 000-11-22"}]}]}]
    (contact,) = crm.post("/api/v4/contacts", json=body).json()["_embedded"]["contacts"]
    _message(amojo, "m-1", profile={"phone": "79160001122"})
    (unsorted,) = crm.get("/api/v4/leads/unsorted").json()["_embedded"]["unsorted"]
    assert unsorted["_embedded"]["contacts"][0]["id"] == contact["id"]
    found = crm.get("/api/v4/contacts", params={"query": "8 916 000 11 22"[2:]}).json()["_embedded"]["contacts"]
    assert [c["id"] for c in found] == [contact["id"]]
    assert crm.get("/api/v4/contacts", params={"query": "nobody@example.com"}).status_code == 204


def test_leads_are_added_updated_and_validated_naming_the_field(crm: httpx.Client) -> None:
    refused = crm.post("/api/v4/leads", json=[{"name": "ok"}, {"price": "1000", "status_id": 999}])
    assert refused.status_code == 400
    assert {(e["code"], e["path"]) for e in refused.json()["validation-errors"][0]["errors"]} == {
        ("InvalidType", "1.price"),
        ("NotFound", "1.status_id"),
    }
    assert crm.get("/api/v4/leads").status_code == 204  # a refused batch adds nothing
    assert crm.post("/api/v4/leads", json=[{"price": 1.5}]).status_code == 400
    (lead,) = crm.post("/api/v4/leads", json=[{"name": "Deal", "price": 100}]).json()["_embedded"]["leads"]
    assert crm.patch(f"/api/v4/leads/{lead['id']}", json={"price": 250, "status_id": 143}).status_code == 200
    got = crm.get(f"/api/v4/leads/{lead['id']}").json()
    assert (got["name"], got["price"], got["status_id"]) == ("Deal", 250, 143)
    assert crm.get("/api/v4/leads/999999").status_code == 404
    assert crm.get("/api/v4/leads/abc").status_code == 404
    assert crm.get("/api/v4/leads", params={"limit": 251}).status_code == 400


def test_lists_page_with_hal_links(crm: httpx.Client) -> None:
    crm.post("/api/v4/leads", json=[{"name": f"L{n}"} for n in range(3)])
    first = crm.get("/api/v4/leads", params={"limit": 2}).json()
    assert first["_page"] == 1 and len(first["_embedded"]["leads"]) == 2 and "next" in first["_links"]
    second = crm.get("/api/v4/leads", params={"limit": 2, "page": 2}).json()
    assert [lead["name"] for lead in second["_embedded"]["leads"]] == ["L2"] and "next" not in second["_links"]
    assert crm.get("/api/v4/leads", params={"limit": 2, "page": 3}).status_code == 204


def test_closing_a_talk_and_the_next_client_message_opens_a_new_one(amojo: Sandbox, crm: httpx.Client) -> None:
    _message(amojo, "m-1")
    (talk,) = amojo.state()["crm"]["talks"]
    assert crm.post(f"/api/v4/talks/{talk['id']}/close", json={"force_close": True}).status_code == 202
    assert crm.get(f"/api/v4/talks/{talk['id']}").json()["is_in_work"] is False
    _message(amojo, "m-2")
    talks = amojo.state()["crm"]["talks"]
    assert [t["is_in_work"] for t in talks] == [False, True] and talks[1]["lead_id"] == talk["lead_id"]
    assert crm.get("/api/v4/talks/424242").status_code == 404


def test_disconnecting_and_reconnecting_keeps_the_crm_objects(amojo: Sandbox, crm: httpx.Client) -> None:
    _message(amojo, "m-1")
    before = crm.get("/api/v4/leads/unsorted").json()["_embedded"]["unsorted"]
    amojo.disconnect()
    amojo.connect()
    assert crm.get("/api/v4/leads/unsorted").json()["_embedded"]["unsorted"] == before


@pytest.mark.amojo(served=True)
def test_the_served_fake_answers_the_rest_api_on_its_own_address(amojo: Sandbox) -> None:
    amojo.connect()
    assert amojo.crm.base_url == amojo.base_url
    answer = httpx.get(f"{amojo.crm.base_url}/api/v4/account?with=amojo_id", headers={"Authorization": f"Bearer {amojo.crm.token()}"})
    assert answer.status_code == 200 and answer.json()["amojo_id"] == amojo.account_id
    assert answer.headers["content-type"] == "application/hal+json"


def test_the_console_lead_card_shows_the_stage_the_rest_api_moved_it_to(amojo: Sandbox, crm: httpx.Client) -> None:
    _message(amojo, "m-1")
    (unsorted,) = crm.get("/api/v4/leads/unsorted").json()["_embedded"]["unsorted"]
    crm.post(f"/api/v4/leads/unsorted/{unsorted['uid']}/accept", json={"status_id": 142})
    leads = amojo.http.get("/__mock__/ui/fragments/leads").text
    assert "Успешно реализовано" in leads
    timeline = amojo.http.get(f"/__mock__/ui/fragments/chats/{amojo.chats[0]['id']}").text
    assert f"lead #{unsorted['_embedded']['leads'][0]['id']} · Воронка: Успешно реализовано" in timeline


def test_a_restart_on_the_state_file_keeps_the_crm_side(tmp_path: Path) -> None:
    config = Config(db=str(tmp_path / "state.sqlite"), crm_rate_limit=0)
    app = create_app(config, clock=ManualClock(1_764_000_000))
    with httpx.Client(transport=SyncASGITransport(app), base_url="https://amojo.amocrm.com") as http:
        integration = http.post("/__mock__/integrations", json={"redirect_uri": "https://integration.test/oauth"}).json()
        code = http.post(f"/__mock__/integrations/{integration['client_id']}/install", json={"deliver": False}).json()["code"]
        body = {k: integration[k] for k in ("client_id", "client_secret", "redirect_uri")}
        tokens = http.post("/oauth2/access_token", json={**body, "grant_type": "authorization_code", "code": code}).json()
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert http.post("/api/v4/sources", json=[{"name": "W", "external_id": "w"}], headers=auth).status_code == 200
        assert http.post("/api/v4/leads", json=[{"name": "Deal"}], headers=auth).status_code == 200
        before = http.get("/__mock__/state").json()
    app.state.store.close()
    again = create_app(config, clock=ManualClock(1_764_000_100))
    with httpx.Client(transport=SyncASGITransport(again), base_url="https://amojo.amocrm.com") as http:
        assert http.get("/__mock__/state").json() == before
        assert http.get("/api/v4/sources", headers=auth).json()["_embedded"]["sources"][0]["external_id"] == "w"  # the token too
        refreshed = http.post(
            "/oauth2/access_token", json={**body, "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        )
        assert refreshed.status_code == 200
    again.state.store.close()
