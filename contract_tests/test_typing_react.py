"""§3.7 Typing and §3.8 reactions."""

from __future__ import annotations

from typing import Any

import pytest

from .expect import example, examples, expect_empty, expect_error, expect_json
from .targets import Target
from .wire import Wire, new_id

rule = pytest.mark.rule


def conversation_with_message(amojo: Wire) -> dict[str, str]:
    conversation, user, msgid = new_id("conv"), new_id("user"), new_id("msg")
    sent = expect_json(amojo.incoming(conversation, user, msgid=msgid), 200)["new_message"]
    chat = expect_json(amojo.create_chat(conversation, {"id": user, "name": "Contract Client"}), 200)
    return {
        "conversation_id": conversation,
        "user_id": user,
        "msgid": msgid,
        "amojo_msgid": sent["msgid"],
        "chat_id": chat["id"],
        "amojo_user_id": chat["user"]["id"],
    }


@rule("§3.7", evidence="doc")
def test_typing_answers_204(amojo: Wire) -> None:
    """conversation_id + sender.id (+ duration_ms): 204, no body."""
    chat = conversation_with_message(amojo)
    expect_empty(amojo.typing({"conversation_id": chat["conversation_id"], "sender": {"id": chat["user_id"]}, "duration_ms": 3000}), 204)


@rule("§3.7", evidence="client")
def test_typing_by_amojo_ref_ids_answers_204(amojo: Wire) -> None:
    """Clients also send conversation_ref_id / sender.ref_id (amojo ids)."""
    chat = conversation_with_message(amojo)
    body = example("typing.request.constructed-ref-ids.json")
    body["conversation_ref_id"] = chat["chat_id"]
    body["sender"]["ref_id"] = chat["amojo_user_id"]
    expect_empty(amojo.typing(body), 204)


@rule("§3.7", evidence="doc")
@pytest.mark.parametrize("name", examples("invalid/typing.request.*.json"))
def test_invalid_typing_bodies_are_400(amojo: Wire, target: Target, name: str) -> None:
    """No conversation, a sender without ids, a negative duration: 400."""
    expect_error(amojo.typing(example(name)), 400, "SCHEMA_VIOLATION", fake=target.is_fake)


@rule("§3.8", evidence="doc")
def test_react_answers_200_without_body(amojo: Wire) -> None:
    """react by conversation_id + msgid + user.id with an emoji: 200, no body."""
    chat = conversation_with_message(amojo)
    body = {
        "conversation_id": chat["conversation_id"],
        "msgid": chat["msgid"],
        "user": {"id": chat["user_id"]},
        "type": "react",
        "emoji": "👍",
    }
    expect_empty(amojo.react(body), 200)


@rule("§3.8", evidence="doc")
def test_unreact_by_amojo_ids_answers_200(amojo: Wire) -> None:
    """unreact by conversation_ref_id + id (amojo ids), without emoji: 200, no body."""
    chat = conversation_with_message(amojo)
    base: dict[str, Any] = {"conversation_ref_id": chat["chat_id"], "id": chat["amojo_msgid"], "user": {"id": chat["user_id"]}}
    expect_empty(amojo.react({**base, "type": "react", "emoji": "😍"}), 200)
    expect_empty(amojo.react({**base, "type": "unreact"}), 200)


@rule("§3.8", evidence="doc")
def test_react_to_unknown_message_is_404(amojo: Wire, target: Target) -> None:
    """A reaction to a message amojo does not know: 404."""
    chat = conversation_with_message(amojo)
    body = {
        "conversation_id": chat["conversation_id"],
        "msgid": new_id("ghost"),
        "user": {"id": chat["user_id"]},
        "type": "react",
        "emoji": "👍",
    }
    expect_error(amojo.react(body), 404, "MESSAGE_NOT_FOUND", fake=target.is_fake)


@rule("§3.8", evidence="doc")
@pytest.mark.parametrize("name", examples("invalid/react.request.*.json"))
def test_invalid_react_bodies_are_400(amojo: Wire, target: Target, name: str) -> None:
    """No conversation, no message id, no user, an unknown type, react without emoji: 400."""
    expect_error(amojo.react(example(name)), 400, "SCHEMA_VIOLATION", fake=target.is_fake)


@rule("§3.8", evidence="assumption")
@pytest.mark.fake_only("reads the reactions the CRM recorded")
def test_one_reaction_per_user_and_message(amojo: Wire, target: Target) -> None:
    """react replaces the user's previous reaction; unreact removes it."""
    chat = conversation_with_message(amojo)
    base: dict[str, Any] = {"conversation_id": chat["conversation_id"], "msgid": chat["msgid"], "user": {"id": chat["user_id"]}}

    def reactions() -> list[str]:
        message = next(m for m in target.state(amojo.channel.scope_id)["messages"] if m["id"] == chat["amojo_msgid"])
        return [r["emoji"] for r in message["reactions"]]

    expect_empty(amojo.react({**base, "type": "react", "emoji": "👍"}), 200)
    expect_empty(amojo.react({**base, "type": "react", "emoji": "🔥"}), 200)
    assert reactions() == ["🔥"]
    expect_empty(amojo.react({**base, "type": "unreact"}), 200)
    assert reactions() == []
