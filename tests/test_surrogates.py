"""Lone surrogates (U+D800–U+DFFF without their pair): never a 500, always a 400 naming the field.

UTF-8 cannot encode one, so a JSON body on the wire can only spell one as a ``\\ud800`` escape (or as
the invalid bytes ``ED A0 80``): the parser refuses both, and the answer says which string it was. A
Python caller can hand one over directly (the sandbox's helpers): the schema check refuses it there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mock_amojo import Sandbox, sign_request
from mock_amojo.errors import SchemaViolation
from mock_amojo.wire._validation import load_schemas

PREFIX = "/v2/origin/custom"
#: How a client can spell a lone surrogate in a body: the JSON escape, and the bytes a lax encoder writes.
SPELLINGS = {"escape": b"\\ud800", "utf-8 bytes": "\ud800".encode("utf-8", "surrogatepass")}


@pytest.mark.parametrize("spelling", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_a_json_body_with_a_lone_surrogate_gets_a_400_naming_the_field(amojo: Sandbox, spelling: bytes) -> None:
    amojo.connect()
    body = b'{"conversation_id": "c1", "user": {"id": "u1", "name": "Ann ' + spelling + b'"}}'
    path = f"{PREFIX}/{amojo.scope_id}/chats"
    answer = amojo.http.post(path, content=body, headers=sign_request(amojo.channel_secret, "POST", path, body))
    assert answer.status_code == 400, answer.text
    if spelling == SPELLINGS["escape"]:  # the bytes are not UTF-8 at all: the answer says so, at position 0
        assert answer.json()["detail"]["pointer"] == "/user/name"
        assert "/user/name" in answer.json()["error_description"]


def test_the_control_plane_and_the_crm_name_the_field_too(amojo: Sandbox) -> None:
    amojo.connect()
    reply = b'{"scope_id": "%s", "conversation_id": "c1", "message": {"type": "text", "text": "\\udfff"}}' % amojo.scope_id.encode()  # type: ignore[union-attr]
    answer = amojo.http.post("/__mock__/operator/reply", content=reply)
    assert answer.status_code == 400 and answer.json()["detail"]["pointer"] == "/message/text", answer.text
    lead = amojo.crm.http.post("/api/v4/leads", content=b'[{"name": "\\ud800 deal"}]', headers={"Content-Type": "application/json"})
    assert lead.status_code == 400 and "/0/name" in lead.json()["detail"], lead.text
    token = amojo.http.post("/oauth2/access_token", content=b'{"client_id": "\\ud800"}', headers={"Content-Type": "application/json"})
    assert token.status_code == 400 and "/client_id" in token.json()["detail"], token.text


CALLS: dict[str, tuple[Callable[[Sandbox], Any], str]] = {
    "connect": (lambda amojo: amojo.connect(title="Shop \ud800"), "/title"),
    "reply": (lambda amojo: amojo.reply("c1", "hi \udc00"), "/message/text"),
    "initiate": (lambda amojo: amojo.initiate(phone="+79990001122", name="\ud83d", text="hello"), "/name"),
    "typing": (lambda amojo: amojo.typing("\ud800"), "/conversation_id"),
    "add_account": (lambda amojo: amojo.add_account(users=["Ann \ud800"]), "/users/0/name"),
}


@pytest.mark.parametrize(("call", "pointer"), CALLS.values(), ids=CALLS.keys())
def test_a_lone_surrogate_from_python_is_refused_naming_the_field(amojo: Sandbox, call: Callable[[Sandbox], Any], pointer: str) -> None:
    amojo.connect()
    amojo.client.create_chat("c1", {"id": "u1", "name": "Ann"})
    with pytest.raises(SchemaViolation) as refused:
        call(amojo)
    assert refused.value.detail["pointer"] == pointer and refused.value.detail["rule"] == "unicode"
    # Nothing was stored that the state could not show.
    assert amojo.http.get("/__mock__/state").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"event_type": "new_message\ud800", "payload": {}},  # a field with an enum: the compiled check choked on it
        {"event_type": "new_message", "payload": {"\udfff": 1}},  # an object key
        {"event_type": "new_message", "payload": {"message": {"type": "text", "text": "\ud800"}}},  # a plain string: passed
    ],
    ids=["enum", "key", "text"],
)
def test_the_schema_check_gives_a_verdict_on_a_lone_surrogate(body: dict[str, Any]) -> None:
    schemas = load_schemas()
    assert schemas.is_valid("message.request.json", body) is False
    with pytest.raises(SchemaViolation, match="lone surrogate"):
        schemas.validate("message.request.json", body)


def test_the_signed_client_names_the_field_it_cannot_send(amojo: Sandbox) -> None:
    amojo.connect()
    with pytest.raises(ValueError, match=r"body\['user'\]\['name'\] holds a lone surrogate"):
        amojo.client.create_chat("c1", {"id": "u1", "name": "Ann \ud800"})
