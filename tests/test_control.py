"""The /__mock__ control plane: health, reset, channels, accounts, journal, state, sign."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Fake, text_payload


def test_health(fake: Fake) -> None:
    body = fake.http.get("/__mock__/health").json()
    assert body["status"] == "ok"
    assert body["channels"] == 1


def test_reset_restores_the_start_up_state(connected: Fake) -> None:
    connected.amojo.send_message(text_payload("m-1"))
    assert connected.http.post("/__mock__/reset").status_code == 200
    state = connected.state()
    assert state["chats"] == state["messages"] == state["leads"] == state["scopes"] == []
    assert [c["id"] for c in state["channels"]] == [connected.config.channel_id]
    assert connected.http.get("/__mock__/journal").json()["entries"] == []


def test_register_channel_generates_a_secret_shown_once(fake: Fake) -> None:
    created = fake.http.post("/__mock__/channels", json={"name": "WhatsApp", "hook_api_version": "v2"})
    assert created.status_code == 201
    body = created.json()
    assert len(body["secret"]) == 40
    listed = fake.http.get("/__mock__/channels").json()["channels"]
    assert [c["name"] for c in listed] == ["mock-amojo demo channel", "WhatsApp"]
    assert body["secret"] not in fake.http.get("/__mock__/channels").text
    assert fake.config.channel_secret not in fake.http.get("/__mock__/state").text
    # The new channel works for signing with the secret it was given.
    fake.amojo.channel_id, fake.amojo.secret = body["id"], body["secret"]
    assert fake.amojo.connect(fake.config.account_id).json()["hook_api_version"] == "v2"


def test_register_channel_refuses_typos_and_duplicates(fake: Fake) -> None:
    typo = fake.http.post("/__mock__/channels", json={"webhok_url": "http://127.0.0.1:1/x"})
    assert typo.status_code == 400
    assert typo.json()["error_type"] == "SCHEMA_VIOLATION"
    duplicate = fake.http.post("/__mock__/channels", json={"id": fake.config.channel_id})
    assert duplicate.status_code == 409
    assert duplicate.json()["error_type"] == "CHANNEL_EXISTS"
    bad_json = fake.http.post("/__mock__/channels", content=b"{nope")
    assert bad_json.status_code == 400
    assert bad_json.json()["error_type"] == "INVALID_JSON"


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/hooks", "http://[::1/hooks", "http:///hooks"])
def test_register_channel_refuses_a_webhook_url_no_client_could_send_to(fake: Fake, url: str) -> None:
    # It was a 201, and then every manager reply's hook failed.
    refused = fake.http.post("/__mock__/channels", json={"name": "WhatsApp", "webhook_url": url})
    assert refused.status_code == 400
    assert refused.json()["detail"]["pointer"] == "/webhook_url"
    assert [c["name"] for c in fake.http.get("/__mock__/channels").json()["channels"]] == ["mock-amojo demo channel"]


def test_register_account_with_users(fake: Fake) -> None:
    created = fake.http.post("/__mock__/accounts", json={"amojo_id": "acc-7", "name": "Shop", "users": [{"name": "Anna"}]})
    assert created.status_code == 201
    assert [u["name"] for u in created.json()["users"]] == ["Anna"]
    accounts = fake.http.get("/__mock__/accounts").json()
    assert {a["id"] for a in accounts} == {fake.config.account_id, "acc-7"}


def test_state_can_be_narrowed_to_a_scope(connected: Fake) -> None:
    connected.amojo.send_message(text_payload("m-1"))
    assert len(connected.http.get("/__mock__/state", params={"scope_id": connected.scope_id}).json()["messages"]) == 1
    assert connected.http.get("/__mock__/state", params={"scope_id": "other_scope"}).json()["messages"] == []


def test_journal_since_and_limit(connected: Fake) -> None:
    for n in range(3):
        connected.amojo.send_message(text_payload(f"m-{n}"))
    entries = connected.http.get("/__mock__/journal").json()["entries"]
    since = connected.http.get("/__mock__/journal", params={"since": entries[1]["seq"]}).json()["entries"]
    assert [e["seq"] for e in since] == [e["seq"] for e in entries[2:]]
    assert len(connected.http.get("/__mock__/journal", params={"limit": 1}).json()["entries"]) == 1
    assert connected.http.get("/__mock__/journal", params={"since": "x"}).status_code == 400


def test_sign_endpoint_signs_with_the_server_side_secret(connected: Fake) -> None:
    path = f"/v2/origin/custom/{connected.scope_id}/chats"
    signed = connected.http.post(
        "/__mock__/sign", json={"method": "POST", "path": path, "body": {"conversation_id": "c", "user": {"id": "u", "name": "U"}}}
    )
    assert signed.status_code == 200
    data = signed.json()
    assert connected.config.channel_secret not in signed.text
    response = connected.http.post(path, content=data["body"].encode(), headers=data["headers"])
    assert response.status_code == 200


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"1" + b"]" * depth


@pytest.mark.parametrize("field", ["body", "channel_id", "method"])
def test_sign_refuses_deep_nesting_naming_the_field(fake: Fake, field: str) -> None:
    # Issue #14 item 5: a 255-deep body was a plain-text 500, a deep channel_id a RecursionError.
    raw = b'{"path": "/v2/origin/custom/x", "%s": %s}' % (field.encode(), _nested(255))
    refused = fake.http.post("/__mock__/sign", content=raw)
    assert refused.status_code == 400
    detail = refused.json()["detail"]
    assert (detail["rule"], detail["pointer"].startswith(f"/{field}/")) == ("maxDepth", True)
    assert fake.http.get("/__mock__/state").status_code == 200


def test_sign_still_signs_a_body_nested_a_few_levels(fake: Fake) -> None:
    signed = fake.http.post("/__mock__/sign", content=b'{"path": "/v2/origin/custom/x", "body": %s}' % _nested(20))
    assert signed.status_code == 200
    assert signed.json()["body"] == _nested(20).decode()


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"path": "/x", "channel_id": ["f90ba33d-c9d9-44da-b76c-c349b0ecbe41"]}, "/channel_id"),
        ({"path": "/x", "channel_id": 7}, "/channel_id"),
        ({"path": "/x", "method": 5}, "/method"),
        ({"path": "x"}, "/path"),
        ({"path": ["/x"]}, "/path"),
        ({"method": "POST"}, "/"),
        ({"path": "/x", "chanel_id": "f90ba33d-c9d9-44da-b76c-c349b0ecbe41"}, "/"),
        ([], "/"),
    ],
)
def test_sign_refuses_an_ill_shaped_request_naming_the_field(fake: Fake, body: Any, pointer: str) -> None:
    # A list channel_id was looked up as the id "['…']" (a 404) instead of being refused.
    refused = fake.http.post("/__mock__/sign", json=body)
    assert refused.status_code == 400
    assert refused.json()["error_type"] == "SCHEMA_VIOLATION"
    assert refused.json()["detail"]["pointer"] == pointer


@pytest.mark.parametrize("delay", [b"1e400", b"-1e400", b"NaN", b"Infinity", b"1e300"])
def test_faults_body_refuses_non_finite_and_huge_numbers(fake: Fake, delay: bytes) -> None:
    # Issue #14 item 8: control-plane bodies must not let NaN or infinity in.
    refused = fake.http.put("/__mock__/faults", content=b'{"faults": {"delay": %s}}' % delay)
    assert refused.status_code == 400
    assert refused.json()["error_type"] in ("INVALID_JSON", "SCHEMA_VIOLATION")
    assert fake.http.get("/__mock__/faults").json() == {"faults": {}}


def test_index_lists_the_planes(fake: Fake) -> None:
    body = fake.http.get("/", headers={"Accept": "application/json"}).json()
    assert body["api"] == "/v2/origin/custom"
    assert body["control"] == "/__mock__"
