"""§3.3 Create chat."""

from __future__ import annotations

import pytest

from .expect import example, examples, expect_empty, expect_error, expect_json
from .targets import Target
from .wire import Wire, new_id

rule = pytest.mark.rule


@rule("§3.3", evidence="doc")
def test_create_chat_returns_amojo_ids(amojo: Wire) -> None:
    """200 with the amojo chat id and user {id, client_id = user.id, name}."""
    user_id = new_id("user")
    body = expect_json(amojo.create_chat(new_id("conv"), {"id": user_id, "name": "Vasya"}), 200, "create_chat.response.json")
    assert body["id"]
    assert body["user"]["id"]
    assert body["user"]["client_id"] == user_id
    assert body["user"]["name"] == "Vasya"


@rule("§3.3", evidence="doc")
def test_create_chat_is_idempotent_on_conversation_id(amojo: Wire) -> None:
    """Creating the same conversation_id again returns the existing chat's id."""
    conversation, user = new_id("conv"), {"id": new_id("user"), "name": "Twice"}
    first = expect_json(amojo.create_chat(conversation, user), 200)
    second = expect_json(amojo.create_chat(conversation, user), 200)
    assert first["id"] == second["id"]
    assert first["user"]["id"] == second["user"]["id"]


@rule("§3.3", evidence="doc")
def test_create_chat_accepts_the_vector_body(amojo: Wire) -> None:
    """The verified vector's body (source, avatar, profile, profile_link) creates a chat."""
    body = example("create_chat.request.vector.json")
    body["conversation_id"] = new_id("conv")
    body["user"]["id"] = new_id("user")
    response = amojo.send("POST", f"{amojo.channel.scope_id}/chats", body)
    expect_json(response, 200, "create_chat.response.json")


@rule("§3.3", evidence="doc")
def test_create_chat_normalises_phone_to_digits(amojo: Wire) -> None:
    """A phone sent as +79151112233 comes back as 79151112233 (step-by-step example)."""
    user = {"id": new_id("user"), "name": "Phone", "profile": {"phone": "+79151112233", "email": "a@example.com"}}
    body = expect_json(amojo.create_chat(new_id("conv"), user), 200, "create_chat.response.json")
    phone = body["user"].get("phone", body["user"].get("profile", {}).get("phone"))
    assert phone == "79151112233"


@rule("§3.3", evidence="doc")
def test_create_chat_omits_phone_and_email_not_sent(amojo: Wire) -> None:
    """phone/email are omitted from the answer when the request had none."""
    body = expect_json(amojo.create_chat(new_id("conv"), {"id": new_id("user"), "name": "Bare"}), 200)
    assert "phone" not in body["user"]
    assert "email" not in body["user"]


@rule("§3.3", evidence="doc")
def test_new_chat_has_no_history(amojo: Wire) -> None:
    """A chat created without a message is empty: its history answers 204."""
    chat_id = expect_json(amojo.create_chat(new_id("conv"), {"id": new_id("user"), "name": "Empty"}), 200)["id"]
    expect_empty(amojo.history(chat_id), 204)


@rule("§3.3", evidence="doc")
@pytest.mark.fake_only("counts the CRM's leads")
def test_create_chat_creates_no_lead(amojo: Wire, target: Target) -> None:
    """Creating a chat makes no contact or lead in the CRM."""
    expect_json(amojo.create_chat(new_id("conv"), {"id": new_id("user"), "name": "No lead"}), 200)
    assert target.state(amojo.channel.scope_id)["leads"] == []


@rule("§3.3", evidence="doc")
@pytest.mark.parametrize("name", examples("invalid/create_chat.request.*.json"))
def test_create_chat_with_invalid_data_is_400(amojo: Wire, target: Target, name: str) -> None:
    """Missing user.name, empty user.id, null conversation_id, a bad source.external_id: 400."""
    response = amojo.send("POST", f"{amojo.channel.scope_id}/chats", example(name))
    expect_error(response, 400, "SCHEMA_VIOLATION", fake=target.is_fake)
