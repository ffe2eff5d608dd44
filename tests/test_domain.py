"""The domain's entities carry amojo's rules, and its read API hands out copies, never its own collections."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mock_amojo.domain import Backend, Message, Participant
from mock_amojo.domain._clock import ManualClock, SequentialIds
from mock_amojo.errors import ControlError, InvalidReference, MessageNotFound
from mock_amojo.wire import StatusReport, Text, parse_connect, parse_content, parse_react, parse_send_message
from mock_amojo.wire._stances import Stances

START = 1_764_000_000.0


def _message(**fields: Any) -> Message:
    client = Participant(id="p-1", name="Ann", client_id="u-1")
    defaults: dict[str, Any] = {
        "id": "m-1",
        "chat_id": "c-1",
        "direction": "incoming",
        "origin": "integration",
        "sender": client,
        "receiver": None,
        "timestamp": 1,
        "msec_timestamp": 1000,
        "content": Text("hi"),
        "received_at": START,
    }
    return Message(**{**defaults, **fields})


def _backend() -> tuple[Backend, str]:
    backend = Backend(clock=ManualClock(START), ids=SequentialIds())
    channel = backend.register_channel(secret="0" * 40)
    scope = backend.connect(channel.id, parse_connect({"account_id": "acc-1", "hook_api_version": "v2"}))
    return backend, scope.id


def _incoming(msgid: str, conversation_id: str, user: dict[str, Any], **extra: Any) -> dict[str, Any]:
    payload = {
        "msgid": msgid,
        "conversation_id": conversation_id,
        "timestamp": 1,
        "sender": user,
        "message": {"type": "text", "text": msgid},
    }
    return {"event_type": "new_message", "payload": {**payload, **extra}}


def test_an_edit_keeps_what_the_content_was_and_ignores_nulls() -> None:
    message = _message()
    message.edit(parse_content({"type": "text", "text": "fixed", "media": None}), at=START + 1)
    message.edit(parse_content({"type": "text", "text": "fixed again"}), at=START + 2)
    assert message.content == {"type": "text", "text": "fixed again"}
    assert [e["previous"] for e in message.edits] == [{"type": "text", "text": "hi"}, {"type": "text", "text": "fixed"}]
    assert message.edits[0]["changes"] == {"type": "text", "text": "fixed"}


@pytest.mark.parametrize(
    "content",
    [
        {"type": "text", "text": "hi"},
        {"text": "hi", "type": "text"},
        {"type": "text", "text": "hi", "media": "https://example.com/a.png"},
        {"type": "picture", "text": "hi"},
        {"type": "text", "text": 5},
    ],
)
def test_a_message_gives_back_its_content_as_given_in_the_same_key_order(content: dict[str, Any]) -> None:
    message = _message(content=parse_content(content), reply_to={"message": {"id": "m-0"}})
    message.react("u-1", "👍", START)
    message.edit(parse_content({"type": content["type"], "media": None}), START)
    assert list(message.content.items()) == list(content.items())
    assert message.edits[0]["previous"] == content and message.reply_to == {"message": {"id": "m-0"}} and message.forwards is None
    assert message == _message(
        content=parse_content(dict(content)), reply_to={"message": {"id": "m-0"}}, edits=message.edits, reactions=message.reactions
    )


def test_every_reported_status_is_kept_and_only_an_error_keeps_its_error() -> None:
    message = _message()
    message.record_status(StatusReport(2), at=START)
    message.record_status(StatusReport(1, 902, "ignored"), at=START + 1)  # read, then delivered: no transition is refused
    message.record_status(StatusReport(-1, 902), at=START + 2)
    message.record_status(StatusReport(None), at=START + 3)
    assert [(s.status, s.error_code, s.error) for s in message.statuses] == [
        ("read", None, ""),
        ("delivered", None, ""),
        ("error", 902, "integration disabled on channel side"),
        ("unknown", None, ""),
    ]
    assert message.status == "unknown"


def test_one_reaction_per_user_and_unreact_takes_only_that_users_back() -> None:
    message = _message()
    message.react("ann", "👍", at=START)
    message.react("bob", "🔥", at=START)
    message.react("ann", "😀", at=START + 1)
    assert [(r["user"], r["emoji"]) for r in message.reactions] == [("bob", "🔥"), ("ann", "😀")]
    message.unreact("bob")
    message.unreact("nobody")
    assert [(r["user"], r["emoji"]) for r in message.reactions] == [("ann", "😀")]


def test_a_write_first_chat_is_linked_by_the_clients_first_answer_and_only_to_that_conversation() -> None:
    backend, scope_id = _backend()
    first = backend.operator_initiate(scope_id, phone="+7 916 123-45-67", message=parse_content({"type": "text", "text": "Hello"}))
    chat = backend.chat_of(first)
    client = {"id": "u-1", "ref_id": chat.client.id}
    answer = backend.send_message(scope_id, parse_send_message(_incoming("a-1", "conv-1", client, conversation_ref_id=chat.id)))
    assert answer.chat_id == chat.id and chat.conversation_id == "conv-1"
    backend.stances = Stances.resolve(strict=True)  # another conversation_id is a stance (write_first_new_conversation_id)
    with pytest.raises(InvalidReference, match="is linked to conversation_id 'conv-1'"):
        backend.send_message(scope_id, parse_send_message(_incoming("a-2", "conv-2", client, conversation_ref_id=chat.id)))
    stranger = backend.send_message(scope_id, parse_send_message(_incoming("s-1", "conv-3", {"id": "u-2"})))
    with pytest.raises(InvalidReference, match="not the client"):
        backend.send_message(scope_id, parse_send_message(_incoming("s-2", "conv-1", {"id": "u-2"}, conversation_ref_id=chat.id)))
    assert backend.chat(scope_id, stranger.chat_id) is not chat
    # The manager wrote from a lead: the client's answer opened no other one.
    assert chat.lead_id is not None
    lead = backend.lead(chat.lead_id)
    assert lead is not None and lead.status == "opened_from_crm"
    assert [lead.chat_id for lead in backend.snapshot(scope_id).leads] == [chat.id, stranger.chat_id]


def test_contacts_are_found_again_by_phone_or_email_per_account() -> None:
    backend, scope_id = _backend()
    profile = {"name": "Ann", "profile": {"phone": "+7 915 111-22-33", "email": "ann@example.com"}}
    backend.send_message(scope_id, parse_send_message(_incoming("m-1", "c-1", {"id": "u-1", **profile})))
    backend.send_message(scope_id, parse_send_message(_incoming("m-2", "c-2", {"id": "u-2", "profile": {"phone": "79151112233"}})))
    backend.send_message(scope_id, parse_send_message(_incoming("m-3", "c-3", {"id": "u-3", "profile": {"email": "ann@example.com"}})))
    backend.send_message(scope_id, parse_send_message(_incoming("m-4", "c-4", {"id": "u-4", "profile": {"phone": "+1 555"}})))
    state = backend.snapshot()
    assert len(state.leads) == 4
    assert [lead.contact_id for lead in state.leads] == [state.contacts[0].id] * 3 + [state.contacts[1].id]


def test_messages_are_found_by_amojo_id_or_msgid_in_their_own_scope_only() -> None:
    backend, scope_id = _backend()
    sent = backend.send_message(scope_id, parse_send_message(_incoming("m-1", "c-1", {"id": "u-1"})))
    assert backend.message_named(scope_id, sent.id) is sent
    assert backend.message_named(scope_id, "m-1") is sent
    assert backend.message_named(scope_id, "m-2") is None
    with pytest.raises(MessageNotFound):
        backend.react(
            scope_id, parse_react({"conversation_id": "c-1", "msgid": "m-2", "user": {"id": "u-1"}, "type": "react", "emoji": "👍"})
        )


def test_reads_hand_out_copies_not_the_backends_own_collections() -> None:
    backend, scope_id = _backend()
    backend.send_message(scope_id, parse_send_message(_incoming("m-1", "c-1", {"id": "u-1"})))
    backend.channel_list().clear()
    backend.all_chats().clear()
    backend.connected_scopes(backend.channel_for_scope(scope_id).id).clear()
    assert len(backend.channel_list()) == 1
    assert len(backend.all_chats()) == 1
    assert [s.id for s in backend.snapshot().scopes] == [scope_id]
    other = backend.connect(backend.register_channel().id, parse_connect({"account_id": "acc-2"}))
    assert [s.id for s in backend.snapshot(other.id).scopes] == [other.id]
    assert backend.snapshot(other.id).chats == () and backend.snapshot(other.id).leads == ()


def test_a_failing_test_that_prints_a_channel_or_an_oauth_token_shows_no_secret() -> None:
    # pytest prints the objects an assertion compared: a channel secret signs amojo's requests, a token calls amoCRM.
    from mock_amojo.domain._oauth import OAuth

    secret = "f2d7f8704eff95087ed45b23ba99c0b5aac8278e"
    channel = Backend().register_channel(secret=secret, name="Shop")
    assert secret not in repr(channel) and "secret=f2d7…278e" in repr(channel) and "name='Shop'" in repr(channel)
    oauth = OAuth()
    integration = oauth.register("c1", "k" * 64, "https://app.test/oauth", "App")
    oauth.authorize("c1", "acc", "code-1", 100.0)
    token = oauth.exchange_code("c1", "k" * 64, "code-1", "https://app.test/oauth", ("access-token-1", "refresh-token-1"), 200.0)
    shown = repr(integration) + repr(token)
    assert "k" * 64 not in shown and "access-token-1" not in shown and "refresh-token-1" not in shown
    assert "client_id='c1'" in shown and "account_id='acc'" in shown


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda b: b.register_account(name="Shop \ud800"), "account: name"),
        (lambda b: b.register_account(users=[{"name": "\udfff"}]), "account: users.0.name"),
        (lambda b: b.register_channel(name="\ud83d"), "channel: name"),
        (lambda b: b.register_channel(webhook_url="http://x/\ud800"), "channel: webhook_url"),
    ],
)
def test_a_python_caller_cannot_store_text_no_json_can_carry(change: Any, where: str) -> None:
    # Requests cannot carry a lone surrogate; a Python caller of the domain can, and the state, the control
    # plane's views and the durable log could then never write what was accepted.
    backend = Backend()
    before = backend.snapshot()
    with pytest.raises(ControlError, match=f"^{re.escape(where)} holds a lone surrogate"):
        change(backend)
    assert backend.snapshot() == before


def test_a_channel_change_holding_a_lone_surrogate_changes_nothing() -> None:
    from mock_amojo.domain._parties import ChannelChanges

    backend = Backend()
    channel = backend.register_channel(name="Shop")
    with pytest.raises(ControlError, match=r"^channel: name holds a lone surrogate"):
        backend.update_channel(channel.id, ChannelChanges(name="\ud800", write_first=False))
    assert (channel.name, channel.write_first) == ("Shop", True)
