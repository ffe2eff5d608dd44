"""Every amojo endpoint: its success shape and each of its error paths."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from mock_amojo.wire._signing import hmac_sha1, sign_request

from .conftest import START, Fake, text_payload

PREFIX = "/v2/origin/custom"


def error_type(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) >= {"error_code", "error_type", "error_description", "hint"}
    assert body["error_code"] == response.status_code
    value: str = body["error_type"]
    return value


# -- connect / disconnect ---------------------------------------------------------------


def test_connect_echoes_fields_and_scope_id(fake: Fake) -> None:
    response = fake.amojo.connect(fake.config.account_id, title="Shop", hook_api_version="v2", is_time_window_disabled=True)
    assert response.status_code == 200
    assert response.json() == {
        "account_id": fake.config.account_id,
        "scope_id": fake.scope_id,
        "title": "Shop",
        "hook_api_version": "v2",
        "is_time_window_disabled": True,
    }


def test_connect_defaults_hook_version_v1_and_channel_name(fake: Fake) -> None:
    body = fake.amojo.connect(fake.config.account_id).json()
    assert body["hook_api_version"] == "v1"
    assert body["title"] == fake.config.channel_name
    assert body["is_time_window_disabled"] is False


def test_connect_is_idempotent_and_provisions_new_accounts(fake: Fake) -> None:
    first = fake.amojo.connect("11111111-2222-3333-4444-555555555555").json()
    second = fake.amojo.connect("11111111-2222-3333-4444-555555555555", title="Again").json()
    assert first["scope_id"] == second["scope_id"]
    assert second["title"] == "Again"
    assert any(a["id"] == "11111111-2222-3333-4444-555555555555" for a in fake.state()["accounts"])


def test_connect_unknown_channel_is_404(fake: Fake) -> None:
    response = fake.amojo.request("POST", "00000000-0000-0000-0000-000000000000/connect", {"account_id": "a"})
    assert response.status_code == 404
    assert error_type(response) == "CHANNEL_NOT_FOUND"


def test_connect_null_optional_fields_are_defaults(fake: Fake) -> None:
    response = fake.amojo.request(
        "POST", f"{fake.config.channel_id}/connect", {"account_id": fake.config.account_id, "title": None, "hook_api_version": None}
    )
    assert response.status_code == 200
    assert response.json()["hook_api_version"] == "v1"


@pytest.mark.parametrize(
    ("body", "pointer"),
    [({}, "/"), ({"account_id": 5}, "/account_id"), ({"account_id": "a", "hook_api_version": "v3"}, "/hook_api_version")],
)
def test_connect_schema_violations_name_the_pointer(fake: Fake, body: dict[str, Any], pointer: str) -> None:
    response = fake.amojo.request("POST", f"{fake.config.channel_id}/connect", body)
    assert response.status_code == 400
    assert error_type(response) == "SCHEMA_VIOLATION"
    assert response.json()["detail"]["pointer"] == pointer


def test_private_channel_refuses_unlisted_account(fake: Fake) -> None:
    fake.http.post(
        "/__mock__/channels",
        json={"id": "aaaaaaaa-0000-4000-8000-000000000001", "secret": "1" * 40, "strict": True, "allowed_accounts": ["allowed-1"]},
    ).raise_for_status()
    fake.amojo.channel_id, fake.amojo.secret = "aaaaaaaa-0000-4000-8000-000000000001", "1" * 40
    assert fake.amojo.connect("allowed-1").status_code == 200
    refused = fake.amojo.connect("someone-else")
    assert refused.status_code == 403
    assert error_type(refused) == "ACCOUNT_NOT_ALLOWED"


def test_legacy_body_only_signature_on_connect(fake: Fake) -> None:
    body = orjson.dumps({"account_id": fake.config.account_id})
    headers = {"Content-Type": "application/json", "X-Signature": hmac_sha1(fake.config.channel_secret, body)}
    response = fake.http.post(f"{PREFIX}/{fake.config.channel_id}/connect", content=body, headers=headers)
    assert response.status_code == 200
    assert fake.backend.journal.entries()[-1]["verdict"]["scheme"] == "legacy"


def test_legacy_signature_is_refused_on_new_scheme_endpoints(connected: Fake) -> None:
    body = orjson.dumps({"conversation_id": "c", "user": {"id": "u", "name": "U"}})
    headers = {"Content-Type": "application/json", "X-Signature": hmac_sha1(connected.config.channel_secret, body)}
    response = connected.http.post(f"{PREFIX}/{connected.scope_id}/chats", content=body, headers=headers)
    assert response.status_code == 403
    assert error_type(response) == "MISSING_DATE"


def test_disconnect_answers_empty_200_and_closes_the_scope(connected: Fake) -> None:
    connected.amojo.create_chat("conv-1", {"id": "user-1", "name": "Client"})
    response = connected.amojo.disconnect(connected.config.account_id)
    assert response.status_code == 200
    assert response.content == b""
    refused = connected.amojo.create_chat("conv-2", {"id": "user-1", "name": "Client"})
    assert refused.status_code == 404
    assert error_type(refused) == "SCOPE_NOT_FOUND"
    # Reconnecting brings the account's chats back, as in amoCRM.
    connected.amojo.connect(connected.config.account_id)
    assert connected.amojo.create_chat("conv-1", {"id": "user-1", "name": "Client"}).status_code == 200
    assert len(connected.state()["chats"]) == 1


def test_disconnect_unknown_channel_is_404(fake: Fake) -> None:
    fake.amojo.channel_id = "00000000-0000-0000-0000-000000000000"
    assert fake.amojo.disconnect("a").status_code == 404


# -- signing at the HTTP level ------------------------------------------------------------


def test_bad_signature_is_403_with_canonical_string(connected: Fake) -> None:
    response = connected.amojo.request("POST", f"{connected.scope_id}/typing", {"conversation_id": "c"}, headers={"X-Signature": "f" * 40})
    assert response.status_code == 403
    body = response.json()
    assert body["error_type"] == "SIGNATURE_MISMATCH"
    assert body["detail"]["canonical"].startswith("POST\n")
    assert body["detail"]["canonical"].endswith("/typing")
    assert connected.config.channel_secret not in response.text


def test_md5_mismatch_is_403(connected: Fake) -> None:
    response = connected.amojo.request("POST", f"{connected.scope_id}/chats", {"conversation_id": "c"}, headers={"Content-MD5": "0" * 32})
    assert response.status_code == 403
    assert error_type(response) == "CONTENT_MD5_MISMATCH"


def test_stale_date_is_403_after_fifteen_minutes(connected: Fake) -> None:
    body = b'{"conversation_id":"c","user":{"id":"u","name":"U"}}'
    path = f"{PREFIX}/{connected.scope_id}/chats"
    headers = sign_request(connected.config.channel_secret, "POST", path, body, now=connected.clock.now())
    connected.clock.advance(15 * 60 + 1)
    response = connected.http.post(path, content=body, headers=headers)
    assert response.status_code == 403
    assert error_type(response) == "STALE_DATE"


def test_unknown_scope_with_known_channel_is_404_after_signature(fake: Fake) -> None:
    response = fake.amojo.create_chat("c", {"id": "u", "name": "U"}, scope_id=f"{fake.config.channel_id}_nobody")
    assert response.status_code == 404
    assert error_type(response) == "SCOPE_NOT_FOUND"


def test_wrong_content_type_is_400(connected: Fake) -> None:
    response = connected.amojo.request(
        "POST", f"{connected.scope_id}/chats", raw=b"conversation_id=c", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    # The header is signed as sent, so the signature holds and the media type is what fails.
    assert response.status_code == 403  # signed with application/json, sent with another: signature mismatch
    body = b"conversation_id=c"
    path = f"{PREFIX}/{connected.scope_id}/chats"
    headers = sign_request(connected.config.channel_secret, "POST", path, body, now=connected.clock.now(), content_type="text/plain")
    response = connected.http.post(path, content=body, headers=headers)
    assert response.status_code == 400  # amojo-api.md §6; amojo documents no 415
    assert error_type(response) == "UNSUPPORTED_MEDIA_TYPE"


def test_content_type_with_charset_is_json(connected: Fake) -> None:
    body = b'{"conversation_id":"c","user":{"id":"u","name":"U"}}'
    path = f"{PREFIX}/{connected.scope_id}/chats"
    ctype = "application/json; charset=utf-8"
    headers = sign_request(connected.config.channel_secret, "POST", path, body, now=connected.clock.now(), content_type=ctype)
    assert connected.http.post(path, content=body, headers=headers).status_code == 200


@pytest.mark.parametrize("raw", [b"{", b"", b"\xff\xfe", b'{"a":1}{"b":2}', b"[" * 5000 + b"]" * 5000])
def test_malformed_json_is_400(connected: Fake, raw: bytes) -> None:
    response = connected.amojo.request("POST", f"{connected.scope_id}/chats", raw=raw)
    assert response.status_code == 400
    assert error_type(response) == "INVALID_JSON"


def test_body_over_the_limit_is_413(connected: Fake) -> None:
    raw = b'{"x":"' + b"a" * (connected.config.body_limit + 10) + b'"}'
    response = connected.amojo.request("POST", f"{connected.scope_id}/chats", raw=raw)
    assert response.status_code == 413
    assert error_type(response) == "BODY_TOO_LARGE"


def test_wrong_method_is_json_405(connected: Fake) -> None:
    response = connected.http.get(f"{PREFIX}/{connected.scope_id}/typing")
    assert response.status_code == 405
    assert error_type(response) == "METHOD_NOT_ALLOWED"
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize("path", ["/nope", f"{PREFIX}/a/b/c/d/e", f"{PREFIX}/x/connect/"])
def test_unknown_route_is_json_404(fake: Fake, path: str) -> None:
    response = fake.http.post(path)
    assert response.status_code == 404
    assert error_type(response) == "ROUTE_NOT_FOUND"


# -- chats --------------------------------------------------------------------------------


def test_create_chat_returns_amojo_ids_and_normalised_phone(connected: Fake) -> None:
    user = {"id": "user-1", "name": "Вася", "avatar": "https://x/a.png", "profile": {"phone": "+7 (915) 111-22-33", "email": "v@x.io"}}
    response = connected.amojo.create_chat("conv-1", user, source={"external_id": "78001234567"})
    assert response.status_code == 200
    body = response.json()
    assert body["user"] == {
        "id": body["user"]["id"],
        "client_id": "user-1",
        "name": "Вася",
        "avatar": "https://x/a.png",
        "phone": "79151112233",
        "email": "v@x.io",
    }
    assert body["id"] != body["user"]["id"]
    again = connected.amojo.create_chat("conv-1", {"id": "user-1", "name": "Other"}).json()
    assert again["id"] == body["id"]
    assert connected.state()["leads"] == []  # an empty chat creates no lead


def test_create_chat_requires_user_name(connected: Fake) -> None:
    response = connected.amojo.create_chat("conv-1", {"id": "user-1"})
    assert response.status_code == 400
    assert response.json()["detail"]["pointer"] == "/user"


def test_create_chat_rejects_long_external_id(connected: Fake) -> None:
    response = connected.amojo.create_chat("conv-1", {"id": "u", "name": "U"}, source={"external_id": "x" * 41})
    assert response.status_code == 400
    assert response.json()["detail"]["pointer"] == "/source/external_id"


# -- messages -----------------------------------------------------------------------------


def test_new_message_response_and_incoming_lead(connected: Fake) -> None:
    response = connected.amojo.send_message(text_payload("m-1"))
    assert response.status_code == 200
    new = response.json()["new_message"]
    assert new["conversation_id"] == "conv-1"
    assert new["ref_id"] == "m-1"
    assert new["receiver_id"] is None
    state = connected.state()
    assert [m["id"] for m in state["messages"]] == [new["msgid"]]
    assert state["messages"][0]["sender"]["id"] == new["sender_id"]
    [lead] = state["leads"]
    assert lead["first_message_id"] == new["msgid"]
    [contact] = state["contacts"]
    assert contact["name"] == "Client"
    # A second message in the same chat adds no lead.
    connected.amojo.send_message(text_payload("m-2"))
    assert len(connected.state()["leads"]) == 1


def test_silent_messages_create_no_lead_until_a_loud_one(connected: Fake) -> None:
    connected.amojo.send_message(text_payload("m-1", silent=True))
    assert connected.state()["leads"] == []
    connected.amojo.send_message(text_payload("m-2", silent=False))
    assert len(connected.state()["leads"]) == 1


def test_contacts_are_deduplicated_by_phone(connected: Fake) -> None:
    for n in (1, 2):
        payload = text_payload(f"m-{n}", conversation_id=f"conv-{n}", user_id=f"user-{n}")
        payload["sender"]["profile"] = {"phone": "+79151112233"}
        connected.amojo.send_message(payload)
    state = connected.state()
    assert len(state["leads"]) == 2
    assert len(state["contacts"]) == 1


def test_contacts_are_deduplicated_by_email_and_the_oldest_match_wins(connected: Fake) -> None:
    profiles = [{"email": "a@example.com"}, {"phone": "+7 915 111-22-33"}, {"phone": "+79151112233", "email": "a@example.com"}]
    for n, profile in enumerate(profiles):
        payload = text_payload(f"m-{n}", conversation_id=f"conv-{n}", user_id=f"user-{n}")
        payload["sender"]["profile"] = profile
        connected.amojo.send_message(payload)
    state = connected.state()
    # The third client matches the first by email and the second by phone: the first (older) contact is theirs.
    assert len(state["contacts"]) == 2
    assert [lead["contact_id"] for lead in state["leads"]] == [
        state["contacts"][0]["id"],
        state["contacts"][1]["id"],
        state["contacts"][0]["id"],
    ]
    connected.http.post("/__mock__/reset")
    assert connected.amojo.connect(connected.config.account_id, hook_api_version="v2").status_code == 200
    again = text_payload("m-9", user_id="user-9")
    again["sender"]["profile"] = {"email": "a@example.com"}
    assert connected.amojo.send_message(again).status_code == 200
    assert len(connected.state()["contacts"]) == 1  # a reset forgets the contacts and what finds them


def test_duplicate_msgid_is_400(connected: Fake) -> None:
    assert connected.amojo.send_message(text_payload("m-1")).status_code == 200
    response = connected.amojo.send_message(text_payload("m-1", text="again"))
    assert response.status_code == 400
    assert error_type(response) == "DUPLICATE_MSGID"
    assert len(connected.state()["messages"]) == 1


@pytest.mark.parametrize(
    ("message", "pointer"),
    [
        ({"type": "picture", "file_name": "p.jpg", "file_size": 1}, "/payload/message"),
        ({"type": "location"}, "/payload/message"),
        ({"type": "contact", "contact": {"name": "A"}}, "/payload/message/contact"),
        ({"type": "video", "media": "https://x/v.mp4", "file_name": "v.mp4", "file_size": "12"}, "/payload/message/file_size"),
        ({"type": "gif", "text": "x"}, "/payload/message/type"),
    ],
)
def test_message_type_requirements(connected: Fake, message: dict[str, Any], pointer: str) -> None:
    response = connected.amojo.send_message({**text_payload("m-1"), "message": message})
    assert response.status_code == 400
    assert response.json()["detail"]["pointer"] == pointer


@pytest.mark.parametrize(
    "message",
    [
        {"type": "text", "text": "hi"},
        {"type": "picture", "media": "https://x/p.jpg", "file_name": "p.jpg", "file_size": 10},
        {"type": "file", "media": "https://x/f.pdf", "file_name": "f.pdf", "file_size": 10},
        {"type": "video", "media": "https://x/v.mp4", "file_name": "v.mp4", "file_size": 10, "media_duration": 3},
        {"type": "voice", "media": "https://x/v.ogg", "media_duration": 3},
        {"type": "audio", "media": "https://x/a.mp3"},
        {"type": "sticker", "media": "https://x/s.webp", "sticker_id": "s1"},
        {"type": "location", "location": {"lon": 37.6, "lat": 55.7}},
        {"type": "contact", "contact": {"name": "A", "phone": "+1"}},
    ],
    ids=lambda m: m["type"],
)
def test_all_nine_message_types_are_accepted_and_in_history(connected: Fake, message: dict[str, Any]) -> None:
    response = connected.amojo.send_message({**text_payload("m-1"), "message": message})
    assert response.status_code == 200, response.text
    chat_id = connected.state()["chats"][0]["id"]
    [item] = connected.amojo.history(chat_id).json()["messages"]
    assert item["message"]["type"] == message["type"]
    for name in ("text", "media", "thumbnail", "file_name"):
        assert isinstance(item["message"][name], str)
    assert isinstance(item["message"]["file_size"], int)


@pytest.mark.parametrize("timestamp", [str(int(START)), START + 0.5, float(int(START))], ids=["string", "fraction", "integral-float"])
def test_timestamp_must_be_an_integer(connected: Fake, timestamp: object) -> None:
    # amojo's typing is strict: even 1764000000.0 is not an integer there.
    response = connected.amojo.send_message(text_payload("m-1", timestamp=timestamp))
    assert response.status_code == 400
    assert response.json()["detail"]["pointer"] == "/payload/timestamp"


def test_location_coordinates_may_be_integral_floats(connected: Fake) -> None:
    message = {"type": "location", "location": {"lon": 37.0, "lat": 55}}
    assert connected.amojo.send_message({**text_payload("m-1"), "message": message}).status_code == 200


def test_outgoing_import_from_bot_and_user(connected: Fake) -> None:
    bot_id = connected.state()["channels"][0]["bot"]["id"]
    payload = text_payload("m-1")
    payload["sender"] = {"ref_id": bot_id}
    payload["receiver"] = {"id": "user-1", "name": "Client"}
    response = connected.amojo.send_message(payload)
    assert response.status_code == 200, response.text
    new = response.json()["new_message"]
    assert new["sender_id"] == bot_id
    assert new["receiver_id"] is not None
    manager = connected.state()["accounts"][0]["users"][0]["id"]
    payload = {**text_payload("m-2"), "sender": {"ref_id": manager}, "receiver": {"id": "user-1", "name": "Client"}}
    assert connected.amojo.send_message(payload).status_code == 200
    state = connected.state()
    assert [m["direction"] for m in state["messages"]] == ["outgoing", "outgoing"]
    assert [m["status"] for m in state["messages"]] == ["sent", "sent"]
    assert state["leads"] == []  # outgoing messages create no incoming lead


def test_outgoing_without_sender_ref_id_is_400(connected: Fake) -> None:
    payload = {**text_payload("m-1"), "receiver": {"id": "user-1", "name": "Client"}}
    response = connected.amojo.send_message(payload)
    assert response.status_code == 400
    # The schema says it (the OpenAPI document shows that schema), so the refusal is a schema violation.
    assert (error_type(response), response.json()["detail"]["pointer"]) == ("SCHEMA_VIOLATION", "/payload/sender")
    assert "ref_id" in response.json()["error_description"]


def test_unknown_conversation_ref_id_is_404(connected: Fake) -> None:
    response = connected.amojo.send_message(text_payload("m-1", conversation_ref_id="00000000-0000-0000-0000-00000000dead"))
    assert response.status_code == 404
    assert error_type(response) == "CHAT_NOT_FOUND"


def test_reply_to_must_quote_a_message_of_the_same_chat(connected: Fake) -> None:
    first = connected.amojo.send_message(text_payload("m-1")).json()["new_message"]["msgid"]
    other = connected.amojo.send_message(text_payload("m-2", conversation_id="conv-2")).json()["new_message"]["msgid"]
    ok = connected.amojo.send_message(text_payload("m-3", reply_to={"message": {"id": first}}))
    assert ok.status_code == 200
    wrong = connected.amojo.send_message(text_payload("m-4", reply_to={"message": {"id": other}}))
    assert (
        connected.amojo.send_message(text_payload("m-6", conversation_id="conv-new", reply_to={"message": {"id": first}})).status_code
        == 400
    )
    assert wrong.status_code == 400
    assert error_type(wrong) == "INVALID_REFERENCE"
    missing = connected.amojo.send_message(text_payload("m-5", reply_to={"message": {"msgid": "nope"}}))
    assert missing.status_code == 404
    assert error_type(missing) == "MESSAGE_NOT_FOUND"
    [quoting] = [m for m in connected.state()["messages"] if m["msgid"] == "m-3"]
    assert quoting["reply_to"]["message"]["id"] == first
    assert [c["conversation_id"] for c in connected.state()["chats"]] == ["conv-1", "conv-2"]  # refusals created nothing


def test_forwards_take_at_most_one_message(connected: Fake) -> None:
    connected.amojo.send_message(text_payload("m-1"))
    one = connected.amojo.send_message(text_payload("m-2", conversation_id="conv-2", forwards={"messages": [{"msgid": "m-1"}]}))
    assert one.status_code == 200
    two = connected.amojo.send_message(text_payload("m-3", forwards={"messages": [{"msgid": "m-1"}, {"msgid": "m-2"}]}))
    assert two.status_code == 400
    assert two.json()["detail"]["pointer"] == "/payload/forwards/messages"


def test_edit_message_by_msgid_and_by_id(connected: Fake) -> None:
    amojo_id = connected.amojo.send_message(text_payload("m-1")).json()["new_message"]["msgid"]
    edit = {"msgid": "m-1", "conversation_id": "conv-1", "message": {"type": "text", "text": "edited"}}
    response = connected.amojo.send_message(edit, event_type="edit_message")
    assert response.status_code == 200
    assert response.json()["new_message"]["msgid"] == amojo_id
    rename = {"id": amojo_id, "msgid": "m-1b", "message": {"type": "text", "text": "again"}}
    assert connected.amojo.send_message(rename, event_type="edit_message").status_code == 200
    [message] = connected.state()["messages"]
    assert message["message"]["text"] == "again"
    assert message["msgid"] == "m-1b"
    assert [e["changes"]["text"] for e in message["edits"]] == ["edited", "again"]
    assert len(connected.state()["leads"]) == 1  # edits never create leads


def test_edit_unknown_message_is_404(connected: Fake) -> None:
    edit = {"msgid": "nope", "message": {"type": "text", "text": "x"}}
    response = connected.amojo.send_message(edit, event_type="edit_message")
    assert response.status_code == 404
    assert error_type(response) == "MESSAGE_NOT_FOUND"


def test_edit_requires_an_id(connected: Fake) -> None:
    response = connected.amojo.send_message({"message": {"type": "text", "text": "x"}}, event_type="edit_message")
    assert response.status_code == 400


def test_unknown_event_type_is_400(connected: Fake) -> None:
    response = connected.amojo.send_message(text_payload("m-1"), event_type="delete_message")
    assert response.status_code == 400
    assert response.json()["detail"]["pointer"] == "/event_type"


# -- delivery status ----------------------------------------------------------------------


def _outgoing(fake: Fake, msgid: str = "m-out") -> str:
    manager = fake.state()["accounts"][0]["users"][0]["id"]
    payload = {**text_payload(msgid), "sender": {"ref_id": manager}, "receiver": {"id": "user-1", "name": "Client"}}
    value: str = fake.amojo.send_message(payload).json()["new_message"]["msgid"]
    return value


def test_delivery_status_lifecycle_is_recorded(connected: Fake) -> None:
    msgid = _outgoing(connected)
    for status in (1, 2):
        response = connected.amojo.delivery_status(msgid, status)
        assert response.status_code == 200
        assert response.content == b""
    failed = connected.amojo.delivery_status(msgid, -1, error_code=905, error="Blocked by user")
    assert failed.status_code == 200
    [message] = connected.state()["messages"]
    assert [s["status"] for s in message["statuses"]] == ["sent", "delivered", "read", "error"]
    assert message["statuses"][-1]["error"] == "Blocked by user"
    assert message["statuses"][-1]["error_code"] == 905


def test_delivery_status_accepts_status_code_and_nulls(connected: Fake) -> None:
    msgid = _outgoing(connected)
    body = {"msgid": msgid, "status_code": 1, "error_code": None, "error": None}
    response = connected.amojo.request("POST", f"{connected.scope_id}/{msgid}/delivery_status", body)
    assert response.status_code == 200
    assert connected.state()["messages"][0]["status"] == "delivered"


def test_delivery_status_unknown_message_is_404(connected: Fake) -> None:
    response = connected.amojo.delivery_status("00000000-0000-0000-0000-000000000000", 1)
    assert response.status_code == 404
    assert error_type(response) == "MESSAGE_NOT_FOUND"


def test_delivery_status_error_needs_a_code(connected: Fake) -> None:
    msgid = _outgoing(connected)
    response = connected.amojo.delivery_status(msgid, -1)
    assert response.status_code == 400
    assert error_type(response) == "SCHEMA_VIOLATION"


# -- history ------------------------------------------------------------------------------


def test_history_is_newest_first_with_offset_and_limit(connected: Fake) -> None:
    for n in range(5):
        connected.amojo.send_message(text_payload(f"m-{n}", text=f"text {n}"))
    chat_id = connected.state()["chats"][0]["id"]
    texts = [m["message"]["text"] for m in connected.amojo.history(chat_id).json()["messages"]]
    assert texts == ["text 4", "text 3", "text 2", "text 1", "text 0"]
    page = connected.amojo.history(chat_id, offset=1, limit=2).json()["messages"]
    assert [m["message"]["text"] for m in page] == ["text 3", "text 2"]
    assert connected.amojo.history(chat_id, offset=5).status_code == 204


def test_history_limit_is_clamped_to_fifty(connected: Fake) -> None:
    for n in range(60):
        connected.amojo.send_message(text_payload(f"m-{n}"))
    chat_id = connected.state()["chats"][0]["id"]
    assert len(connected.amojo.history(chat_id, limit=500).json()["messages"]) == 50
    assert len(connected.amojo.history(chat_id).json()["messages"]) == 50


@pytest.mark.parametrize("params", [{"limit": "ten"}, {"offset": "-1"}, {"limit": "0"}])
def test_history_bad_query_is_400(connected: Fake, params: dict[str, str]) -> None:
    connected.amojo.send_message(text_payload("m-1"))
    chat_id = connected.state()["chats"][0]["id"]
    response = connected.amojo.request("GET", f"{connected.scope_id}/chats/{chat_id}/history", params=params)
    assert response.status_code == 400
    assert error_type(response) == "INVALID_QUERY"


def test_history_of_unknown_or_empty_chat_is_204(connected: Fake) -> None:
    assert connected.amojo.history("00000000-0000-0000-0000-000000000000").status_code == 204
    chat_id = connected.amojo.create_chat("conv-1", {"id": "u", "name": "U"}).json()["id"]
    response = connected.amojo.history(chat_id)
    assert response.status_code == 204
    assert response.content == b""


def test_history_get_with_a_json_body_signed_over_it(connected: Fake) -> None:
    # amojowrapper sends "[]" as the GET body and signs its MD5; amojo accepts it.
    connected.amojo.send_message(text_payload("m-1"))
    chat_id = connected.state()["chats"][0]["id"]
    response = connected.amojo.request("GET", f"{connected.scope_id}/chats/{chat_id}/history", raw=b"[]")
    assert response.status_code == 200
    assert connected.backend.journal.entries()[-1]["verdict"]["body_md5"] == "d751713988987e9331980363e24189ce"


def test_history_shows_only_this_scopes_chats(connected: Fake) -> None:
    connected.amojo.send_message(text_payload("m-1"))
    chat_id = connected.state()["chats"][0]["id"]
    connected.amojo.connect("22222222-0000-4000-8000-000000000000")
    other_scope = f"{connected.config.channel_id}_22222222-0000-4000-8000-000000000000"
    assert connected.amojo.history(chat_id, scope_id=other_scope).status_code == 204


# -- typing and reactions -------------------------------------------------------------------


def test_typing_is_204_and_recorded(connected: Fake) -> None:
    connected.amojo.send_message(text_payload("m-1"))
    response = connected.amojo.typing("conv-1", "user-1", duration_ms=3000)
    assert response.status_code == 204
    assert connected.state()["chats"][0]["typing"] == {"user": "user-1", "until": START + 3}


def test_typing_in_unknown_chat_is_404(connected: Fake) -> None:
    response = connected.amojo.typing("nope", "user-1")
    assert response.status_code == 404
    assert error_type(response) == "CHAT_NOT_FOUND"


def test_react_and_unreact(connected: Fake) -> None:
    connected.amojo.send_message(text_payload("m-1"))
    react = {"conversation_id": "conv-1", "msgid": "m-1", "user": {"id": "user-1"}, "type": "react", "emoji": "👍"}
    assert connected.amojo.react(react).status_code == 200
    assert connected.amojo.react({**react, "emoji": "😍"}).status_code == 200
    assert [r["emoji"] for r in connected.state()["messages"][0]["reactions"]] == ["😍"]
    unreact = {"conversation_id": "conv-1", "msgid": "m-1", "user": {"id": "user-1"}, "type": "unreact"}
    assert connected.amojo.react(unreact).status_code == 200
    assert connected.state()["messages"][0]["reactions"] == []


def test_react_to_unknown_message_is_404(connected: Fake) -> None:
    connected.amojo.send_message(text_payload("m-1"))
    react = {"conversation_id": "conv-1", "msgid": "nope", "user": {"id": "user-1"}, "type": "react", "emoji": "👍"}
    response = connected.amojo.react(react)
    assert response.status_code == 404
    assert error_type(response) == "MESSAGE_NOT_FOUND"


def test_react_without_emoji_is_400(connected: Fake) -> None:
    connected.amojo.send_message(text_payload("m-1"))
    react = {"conversation_id": "conv-1", "msgid": "m-1", "user": {"id": "user-1"}, "type": "react"}
    assert connected.amojo.react(react).status_code == 400


# -- journal ------------------------------------------------------------------------------


def test_journal_entries_read_alike_every_time_and_keep_big_answers_short(connected: Fake) -> None:
    heard: list[dict[str, Any]] = []
    connected.backend.journal.subscribe(heard.append)
    for n in range(50):
        connected.amojo.send_message(text_payload(f"m-{n}", text="x" * 400))
    connected.amojo.send_message(text_payload("m-last"))
    chat_id = connected.state()["chats"][0]["id"]
    history = connected.amojo.history(chat_id)
    first, second = connected.backend.journal.entries(), connected.backend.journal.entries()
    assert first == second and first[-1] is not second[-1]  # built afresh: a reader's edits stay its own
    first[-1]["status"] = 599
    assert connected.backend.journal.entries()[-1]["status"] == 200
    entry = second[-1]
    assert entry["endpoint"] == "history" and entry["path_params"] == {"scope_id": connected.scope_id, "chat_id": chat_id}
    assert entry["response"]["truncated"] is True and entry["response"]["size"] == len(history.content)
    sent = second[-2]
    assert sent["response"] == {"new_message": connected.backend.journal.entries()[-2]["response"]["new_message"]}
    assert sent["request"]["headers"].keys() == {"date", "content-type", "content-md5", "x-signature"}
    assert sent["verdict"]["check"] == "OK" and sent["duration_ms"] >= 0
    # Listeners get the same dict a reader gets, seq included.
    assert [e["seq"] for e in heard] == [e["seq"] for e in second[1:]]
    assert heard[-1] == entry


def test_journal_records_accepted_and_refused_requests(connected: Fake) -> None:
    connected.amojo.send_message(text_payload("m-1"))
    connected.amojo.request("POST", connected.scope_id, {"event_type": "new_message"}, headers={"X-Signature": "bad"})
    entries = connected.http.get("/__mock__/journal").json()["entries"]
    assert [(e["endpoint"], e["status"]) for e in entries] == [("connect", 200), ("send_message", 200), ("send_message", 403)]
    assert entries[1]["verdict"]["check"] == "OK"
    assert entries[2]["error_type"] == "SIGNATURE_MISMATCH"
    refused = connected.http.get("/__mock__/journal", params={"refused": "1"}).json()["entries"]
    assert [e["seq"] for e in refused] == [entries[2]["seq"]]
    assert connected.config.channel_secret not in connected.http.get("/__mock__/journal").text
