"""§3.4 Send, import and edit messages."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from .expect import example, examples, expect_error, expect_json
from .targets import Target
from .wire import Wire, new_id

rule = pytest.mark.rule

#: Valid documented bodies that need no prior state once their ids are made unique.
SELF_CONTAINED = [
    "message.request.vector-text-incoming.json",
    "message.request.vector-with-source.json",
    "message.request.seed-en.json",
    "message.request.constructed-picture.json",
    "message.request.constructed-explicit-nulls.json",
    "message.request.constructed-comment.json",
]


def unique(name: str) -> dict[str, Any]:
    """A documented example body with fresh msgid, conversation and client ids (live runs share one account)."""
    body: dict[str, Any] = example(name)
    payload = body["payload"]
    payload["msgid"] = new_id("msg")
    payload["conversation_id"] = new_id("conv")
    party = payload.get("receiver") or payload["sender"]
    party["id"] = new_id("user")
    return body


def history_items(amojo: Wire, conversation_id: str, user_id: str) -> list[dict[str, Any]]:
    response = amojo.history(amojo.chat_id(conversation_id, user_id))
    if response.status_code == 204:
        return []
    items: list[dict[str, Any]] = expect_json(response, 200, "history.response.json")["messages"]
    return items


@rule("§3.4", evidence="doc")
def test_incoming_message_answers_new_message_ids(amojo: Wire) -> None:
    """An incoming text answers {new_message: {conversation_id, msgid = amojo id, ref_id = payload.msgid}}."""
    conversation, msgid = new_id("conv"), new_id("msg")
    response = amojo.incoming(conversation, new_id("user"), msgid=msgid)
    body = expect_json(response, 200, "message.response.json")["new_message"]
    assert body["conversation_id"] == conversation
    assert body["ref_id"] == msgid
    assert body["msgid"]
    assert body["msgid"] != msgid


@rule("§3.4", evidence="doc")
@pytest.mark.parametrize("name", SELF_CONTAINED)
def test_documented_message_bodies_are_accepted(amojo: Wire, name: str) -> None:
    """Published and constructed bodies (vectors, seed page, picture, explicit nulls, comment) are accepted."""
    response = amojo.send("POST", amojo.channel.scope_id, unique(name))
    expect_json(response, 200, "message.response.json")


@rule("§3.4", evidence="doc")
def test_unknown_conversation_id_creates_the_chat(amojo: Wire) -> None:
    """A message to a new conversation_id creates the chat; create chat then returns that chat, with the message in it."""
    conversation, user = new_id("conv"), new_id("user")
    expect_json(amojo.incoming(conversation, user, text="first words"), 200)
    items = history_items(amojo, conversation, user)
    assert [i["message"]["text"] for i in items] == ["first words"]


@rule("§3.4", evidence="doc")
def test_duplicate_msgid_is_refused(amojo: Wire, target: Target) -> None:
    """The same payload.msgid twice: the second is not accepted (400 assumed); nothing is added."""
    conversation, user, msgid = new_id("conv"), new_id("user"), new_id("msg")
    expect_json(amojo.incoming(conversation, user, msgid=msgid, text="once"), 200)
    expect_error(amojo.incoming(conversation, user, msgid=msgid, text="twice"), 400, "DUPLICATE_MSGID", fake=target.is_fake)
    assert [i["message"]["text"] for i in history_items(amojo, conversation, user)] == ["once"]


@rule("§3.4", evidence="doc")
def test_edit_by_amojo_id_changes_the_text(amojo: Wire) -> None:
    """edit_message with payload.id replaces the text; the history shows the edited text."""
    conversation, user = new_id("conv"), new_id("user")
    sent = expect_json(amojo.incoming(conversation, user, text="typo"), 200)["new_message"]
    edit = {"id": sent["msgid"], "conversation_id": conversation, "message": {"type": "text", "text": "fixed"}}
    expect_json(amojo.message(edit, event_type="edit_message"), 200)
    assert [i["message"]["text"] for i in history_items(amojo, conversation, user)] == ["fixed"]


@rule("§3.4", evidence="doc")
def test_edit_by_integration_msgid(amojo: Wire) -> None:
    """edit_message identified by msgid + conversation_id works as well."""
    conversation, user, msgid = new_id("conv"), new_id("user"), new_id("msg")
    expect_json(amojo.incoming(conversation, user, msgid=msgid, text="before"), 200)
    edit = {"msgid": msgid, "conversation_id": conversation, "message": {"type": "text", "text": "after"}}
    expect_json(amojo.message(edit, event_type="edit_message"), 200)
    assert [i["message"]["text"] for i in history_items(amojo, conversation, user)] == ["after"]


@rule("§3.4", evidence="assumption")
def test_edit_answers_with_new_message_key(amojo: Wire) -> None:
    """The edit response uses the new_message key with the amojo message id (shape undocumented)."""
    conversation, user = new_id("conv"), new_id("user")
    sent = expect_json(amojo.incoming(conversation, user), 200)["new_message"]
    edit = {"id": sent["msgid"], "message": {"type": "text", "text": "edited"}}
    body = expect_json(amojo.message(edit, event_type="edit_message"), 200, "message.response.json")
    assert body["new_message"]["msgid"] == sent["msgid"]


@rule("§3.4", evidence="doc")
def test_edit_with_both_ids_renames_msgid(amojo: Wire) -> None:
    """Given id and msgid, msgid becomes the message's new integration-side id."""
    conversation, user = new_id("conv"), new_id("user")
    sent = expect_json(amojo.incoming(conversation, user, text="v1"), 200)["new_message"]
    renamed = new_id("renamed")
    expect_json(
        amojo.message({"id": sent["msgid"], "msgid": renamed, "message": {"type": "text", "text": "v2"}}, event_type="edit_message"), 200
    )
    expect_json(amojo.message({"msgid": renamed, "message": {"type": "text", "text": "v3"}}, event_type="edit_message"), 200)
    items = history_items(amojo, conversation, user)
    assert [(i["message"]["text"], i["message"].get("client_id")) for i in items] == [("v3", renamed)]


@rule("§3.4", evidence="assumption")
def test_edit_of_unknown_message_is_404(amojo: Wire, target: Target) -> None:
    """Editing a message amojo never received: 404."""
    edit = {"msgid": new_id("ghost"), "message": {"type": "text", "text": "?"}}
    expect_error(amojo.message(edit, event_type="edit_message"), 404, "MESSAGE_NOT_FOUND", fake=target.is_fake)


@rule("§3.4", evidence="doc")
def test_operator_import_is_outgoing_with_receiver(amojo: Wire) -> None:
    """sender.ref_id = a CRM user's amojo id plus receiver = client imports an outgoing message."""
    if amojo.channel.operator_id is None:
        pytest.skip("set AMOJO_OPERATOR_ID (a CRM user's amojo_id) to import operator messages on live amojo")
    conversation, user = new_id("conv"), new_id("user")
    body = unique("message.request.constructed-import-operator.json")
    payload = body["payload"]
    payload.update(conversation_id=conversation, timestamp=int(time.time()), msec_timestamp=int(time.time() * 1000))
    payload["sender"]["ref_id"] = amojo.channel.operator_id
    payload["receiver"]["id"] = user
    sent = expect_json(amojo.send("POST", amojo.channel.scope_id, body), 200, "message.response.json")["new_message"]
    assert sent["receiver_id"]
    (item,) = history_items(amojo, conversation, user)
    assert item["sender"]["id"] == amojo.channel.operator_id
    assert item["receiver"]["client_id"] == user


@rule("§3.4", evidence="doc")
def test_reply_to_a_message_of_another_chat_is_refused(amojo: Wire, target: Target) -> None:
    """reply_to must quote a message of the same chat (forwards may cross chats)."""
    elsewhere = expect_json(amojo.incoming(new_id("conv"), new_id("user")), 200)["new_message"]["msgid"]
    response = amojo.incoming(new_id("conv"), new_id("user"), reply_to={"message": {"id": elsewhere}})
    expect_error(response, 400, "INVALID_REFERENCE", fake=target.is_fake)


@rule("§3.4", evidence="doc")
def test_reply_and_forward_by_id_are_accepted(amojo: Wire) -> None:
    """reply_to by msgid in the same chat, and forwards of one message from another chat, are accepted."""
    conversation, user, first = new_id("conv"), new_id("user"), new_id("msg")
    expect_json(amojo.incoming(conversation, user, msgid=first), 200)
    other = expect_json(amojo.incoming(new_id("conv"), new_id("user")), 200)["new_message"]["msgid"]
    response = amojo.incoming(conversation, user, reply_to={"message": {"msgid": first}}, forwards={"messages": [{"id": other}]})
    expect_json(response, 200, "message.response.json")


@rule("§3.4", evidence="assumption")
def test_unknown_top_level_fields_are_ignored(amojo: Wire) -> None:
    """Official examples put account_id at top level; unknown top-level fields do not break the call."""
    body = unique("message.request.seed-en.json")
    body["account_id"] = amojo.channel.account_id
    body["something_new"] = {"x": 1}
    expect_json(amojo.send("POST", amojo.channel.scope_id, body), 200)


@rule("§2", evidence="client")
def test_python_default_json_encoding_is_accepted_and_decoded(amojo: Wire) -> None:
    """ ", "/": " separators and \\uXXXX escapes (emoji as surrogate pairs) decode to the same text."""
    conversation, user = new_id("conv"), new_id("user")
    text = "Привет 👍 / ok"
    payload = {
        "timestamp": int(time.time()),
        "msgid": new_id("msg"),
        "conversation_id": conversation,
        "sender": {"id": user, "name": "Py"},
        "message": {"type": "text", "text": text},
    }
    raw = json.dumps({"event_type": "new_message", "payload": payload}).encode()
    assert b"\\ud83d\\udc4d" in raw and b", " in raw
    expect_json(amojo.send("POST", amojo.channel.scope_id, raw=raw), 200)
    assert [i["message"]["text"] for i in history_items(amojo, conversation, user)] == [text]


@rule("§3.4", evidence="doc")
@pytest.mark.fake_only("reads the CRM's incoming leads")
def test_first_non_silent_message_creates_one_incoming_lead(amojo: Wire, target: Target) -> None:
    """silent messages create no lead; the first non-silent incoming message creates exactly one."""
    conversation, user = new_id("conv"), new_id("user")
    expect_json(amojo.incoming(conversation, user, silent=True), 200)
    assert target.state(amojo.channel.scope_id)["leads"] == []
    expect_json(amojo.incoming(conversation, user, silent=False), 200)
    expect_json(amojo.incoming(conversation, user, silent=False), 200)
    assert len(target.state(amojo.channel.scope_id)["leads"]) == 1


@rule("§3.4", evidence="doc")
@pytest.mark.fake_only("reads the CRM's incoming leads")
def test_edits_never_create_leads(amojo: Wire, target: Target) -> None:
    """An edit of a silent message does not create a lead."""
    conversation, user, msgid = new_id("conv"), new_id("user"), new_id("msg")
    expect_json(amojo.incoming(conversation, user, msgid=msgid, silent=True), 200)
    expect_json(amojo.message({"msgid": msgid, "message": {"type": "text", "text": "e"}}, event_type="edit_message"), 200)
    assert target.state(amojo.channel.scope_id)["leads"] == []


@rule("§3.4", evidence="doc")
@pytest.mark.parametrize("name", examples("invalid/message.request.*.json"))
def test_invalid_message_bodies_are_400(amojo: Wire, target: Target, name: str) -> None:
    """Per-type requirements, strict typing, forwards ≤ 1, unknown event/message types: 400 with details."""
    response = amojo.send("POST", amojo.channel.scope_id, example(name))
    expect_error(response, 400, "SCHEMA_VIOLATION", fake=target.is_fake)
