"""The durable format: named domain events, pinned, recorded from mutations and replayed through the table."""

from __future__ import annotations

import inspect
from typing import Any

import orjson
import pytest

from mock_amojo.domain import Backend, ChannelChanges
from mock_amojo.domain._changes import Change, mutation
from mock_amojo.domain._clock import ManualClock, SequentialIds
from mock_amojo.domain._events import EVENTS, FORMAT_VERSION
from mock_amojo.http._control import state_snapshot
from mock_amojo.testing._sandbox import SandboxHost, SandboxSettings
from mock_amojo.wire import (
    Connect,
    parse_connect,
    parse_content,
    parse_create_chat,
    parse_delivery_status,
    parse_disconnect,
    parse_react,
    parse_send_message,
    parse_typing,
)
from mock_amojo.wire import _rest_requests as rest

#: The format as files hold it. A change here is a new format: bump FORMAT_VERSION, add the upgrade
#: from the old one to mock_amojo.domain._upgrades with a test on a file of the old format, then update this.
PINNED_FORMAT = {
    "version": 2,
    "events": {
        "state_cleared": (),
        "channel_registered": (
            "id",
            "secret",
            "name",
            "webhook_url",
            "hook_api_version",
            "strict",
            "allowed_accounts",
            "write_first",
            "replace",
        ),
        "channel_webhook_set": ("channel_id", "webhook_url"),
        # Added in format 2 (a new kind, not a change: every file written before holds none).
        "channel_changed": (
            "channel_id",
            "secret",
            "name",
            "webhook_url",
            "hook_api_version",
            "strict",
            "allowed_accounts",
            "write_first",
        ),
        "account_registered": ("amojo_id", "name", "users"),
        "account_allowed": ("channel_id", "account_id"),
        "account_connected": ("channel_id", "account_id", "title", "hook_api_version", "is_time_window_disabled"),
        "account_disconnected": ("channel_id", "account_id"),
        "chat_created": ("scope_id", "conversation_id", "user", "source"),
        "message_received": (
            "scope_id",
            "msgid",
            "conversation_id",
            "conversation_ref_id",
            "timestamp",
            "msec_timestamp",
            "sender",
            "message",
            "silent",
            "source",
            "reply_to",
            "forwards",
        ),
        "message_imported": (
            "scope_id",
            "msgid",
            "conversation_id",
            "conversation_ref_id",
            "timestamp",
            "msec_timestamp",
            "sender",
            "message",
            "silent",
            "source",
            "reply_to",
            "forwards",
            "receiver",
        ),
        "message_edited": ("scope_id", "id", "msgid", "conversation_id", "message"),
        "delivery_status_reported": ("scope_id", "message_id", "delivery_status", "status_code", "error_code", "error"),
        "typing_reported": ("scope_id", "conversation_id", "conversation_ref_id", "sender", "duration_ms"),
        "reaction_reported": ("scope_id", "conversation_id", "conversation_ref_id", "id", "msgid", "user", "type", "emoji"),
        "manager_replied": ("scope_id", "conversation_id", "chat_id", "message", "user_id", "reply_to"),
        "manager_wrote_first": ("scope_id", "phone", "message", "name", "user_id", "source"),
        "manager_typed": ("scope_id", "conversation_id", "chat_id", "user_id"),
        "manager_reacted": ("scope_id", "message_id", "emoji", "type", "user_id"),
        # amoCRM's REST side: new kinds (files without them still read the same, so no new version).
        "crm_subdomain_set": ("account_id", "subdomain"),
        "integration_registered": ("client_id", "client_secret", "redirect_uri", "name"),
        "integration_installed": ("client_id", "account_id"),
        "integration_uninstalled": ("client_id", "account_id"),
        "oauth_token_requested": ("client_id", "client_secret", "grant_type", "code", "refresh_token", "redirect_uri"),
        "long_lived_token_issued": ("client_id", "account_id", "lifetime"),
        "pipelines_added": ("account_id", "body"),
        "sources_added": ("account_id", "client_id", "body"),
        "sources_updated": ("account_id", "client_id", "body", "source_id"),
        "sources_deleted": ("account_id", "client_id", "source_ids"),
        "leads_added": ("account_id", "body"),
        "leads_updated": ("account_id", "body", "lead_id"),
        "contacts_added": ("account_id", "body"),
        "chats_linked": ("account_id", "body"),
        "unsorted_accepted": ("account_id", "uid", "body"),
        "unsorted_declined": ("account_id", "uid"),
        "unsorted_linked": ("account_id", "uid", "body"),
        "talk_closed": ("account_id", "talk_id", "force_close"),
    },
}


def test_the_event_table_is_the_pinned_format() -> None:
    current = {"version": FORMAT_VERSION, "events": {name: event.fields for name, event in EVENTS.items()}}
    assert current == PINNED_FORMAT, "the durable format changed: bump FORMAT_VERSION and add an upgrade (mock_amojo.domain._upgrades)"


def test_every_event_is_recorded_by_a_mutation_and_every_mutation_names_events() -> None:
    named = [getattr(f, "__mutation__", ()) for _, f in inspect.getmembers(Backend, inspect.isfunction)]
    recorded = [name for names in named for name in names]
    assert sorted(recorded) == sorted(EVENTS)  # each event once, no unknown one


def test_a_renamed_parameter_fails_at_import_instead_of_changing_the_format() -> None:
    def register_account(self: Any, *, amojo_id: str, title: str, users: list[Any]) -> None:  # "name" renamed
        raise AssertionError

    def send_message(self: Any, scope: str, body: dict[str, Any]) -> None:  # "scope_id" renamed
        raise AssertionError

    with pytest.raises(TypeError, match="no longer the fields"):
        mutation("account_registered")(register_account)
    with pytest.raises(TypeError, match="record function differ"):
        mutation("message_received", "message_imported", "message_edited")(send_message)
    with pytest.raises(TypeError, match="unknown ones"):
        mutation("account_renamed")(register_account)


def rebuild(changes: list[Change]) -> Backend:
    """A backend that only ever saw the recorded changes, read back from their encoding."""
    backend = Backend(clock=ManualClock(0), ids=SequentialIds(start=900))
    for change in changes:
        assert backend.changes.replay(backend, Change.decode(change.encode())), change
    return backend


def test_every_event_is_recorded_with_its_named_fields_and_replays_to_the_same_state() -> None:
    backend = Backend(clock=ManualClock(1764000000), ids=SequentialIds())
    heard: list[Change] = []
    backend.changes.add_recorder(heard.append)
    backend.clear()
    account = backend.register_account(amojo_id="acc-1", name="Shop", users=[{"name": "Kate"}])
    channel = backend.register_channel(id="ch-1", strict=True, allowed_accounts=["acc-1"])
    backend.allow_account("ch-1", "acc-2")
    backend.set_webhook_url("ch-1", "http://integration.test/hook")
    backend.update_channel(
        "ch-1", ChannelChanges(secret=None, name="Shop chat", hook_api_version="v2", allowed_accounts=["acc-1", "acc-2"])
    )
    scope = backend.connect("ch-1", parse_connect({"account_id": "acc-2", "title": "Second"})).id
    backend.disconnect("ch-1", parse_disconnect({"account_id": "acc-2"}))
    scope = backend.connect(channel.id, parse_connect({"account_id": account.id, "hook_api_version": "v2"})).id
    client = {"id": "u-1", "name": "Ann", "profile": {"phone": "+7 915 111-22-33"}}
    backend.create_chat(scope, parse_create_chat({"conversation_id": "c-1", "user": client, "source": {"external_id": "widget"}}))
    payload = {
        "timestamp": 1764000001,
        "msgid": "m-1",
        "conversation_id": "c-1",
        "sender": client,
        "message": {"type": "text", "text": "hi"},
    }
    backend.send_message(scope, parse_send_message({"event_type": "new_message", "payload": payload}))
    manager = account.users[0].id
    imported = {
        **payload,
        "msgid": "m-2",
        "sender": {"ref_id": manager},
        "receiver": {"id": "u-1"},
        "message": {"type": "text", "text": "yo"},
    }
    out = backend.send_message(scope, parse_send_message({"event_type": "new_message", "payload": imported}))
    backend.send_message(
        scope, parse_send_message({"event_type": "edit_message", "payload": {"msgid": "m-1", "message": {"type": "text", "text": "hi!"}}})
    )
    backend.delivery_status(
        scope, out.id, parse_delivery_status({"msgid": out.id, "delivery_status": -1, "error_code": 905, "error": "blocked"})
    )
    backend.typing(scope, parse_typing({"conversation_id": "c-1", "sender": {"id": "u-1"}, "duration_ms": 3000}))
    backend.react(scope, parse_react({"conversation_id": "c-1", "msgid": "m-2", "user": {"id": "u-1"}, "type": "react", "emoji": "👍"}))
    reply = backend.operator_reply(scope, conversation_id="c-1", message=parse_content({"type": "text", "text": "Hello"}))
    backend.operator_initiate(
        scope, phone="+7 916 123-45-67", message=parse_content({"type": "text", "text": "We write first"}), name="Bob"
    )
    backend.operator_typing(scope, conversation_id="c-1")
    backend.operator_react(scope, message_id=reply.id, emoji="🔥")
    # amoCRM's REST side
    backend.set_subdomain("acc-1", "shop")
    backend.register_integration(client_id="app", redirect_uri="https://app.test/oauth")
    secret = backend.integration("app").client_secret
    grant = backend.install_integration("app", "acc-1")
    token = backend.oauth_token("app", secret, "authorization_code", code=grant.code)
    backend.oauth_token("app", secret, "refresh_token", refresh_token=token.refresh_token)
    backend.issue_token("app", "acc-1")
    pipeline = backend.add_pipelines("acc-1", rest.parse_pipelines_add([{"name": "Chats"}]))[0].id
    source = backend.add_sources(
        "acc-1", "app", rest.parse_sources_add([{"name": "Widget", "external_id": "widget", "pipeline_id": pipeline}])
    )[0]
    backend.update_sources("acc-1", "app", rest.parse_sources_update({"name": "Site widget"}, source.id), source.id)
    ((lead, _),) = backend.add_leads("acc-1", rest.parse_leads_add([{"name": "Deal", "price": 10}]))
    backend.update_leads("acc-1", rest.parse_leads_update({"price": 20}, lead.id), lead.id)
    ((contact, _),) = backend.add_contacts("acc-1", rest.parse_contacts_add([{"name": "Bob"}]))
    chat = backend.create_chat(scope, parse_create_chat({"conversation_id": "c-2", "user": {"id": "u-2", "name": "Eve"}}))
    backend.link_chats("acc-1", rest.parse_chat_links([{"chat_id": chat.id, "contact_id": contact.id}]))
    uid = backend.crm_unsorted("acc-1")[0].uid
    backend.accept_unsorted("acc-1", uid, rest.parse_accept({"status_id": 142}))
    later = {**payload, "msgid": "m-3", "conversation_id": "c-2", "sender": {"id": "u-2"}}
    backend.send_message(scope, parse_send_message({"event_type": "new_message", "payload": later}))
    backend.decline_unsorted("acc-1", backend.crm_unsorted("acc-1")[1].uid)
    later = {**payload, "msgid": "m-4", "conversation_id": "c-2", "sender": {"id": "u-2"}}
    backend.send_message(scope, parse_send_message({"event_type": "new_message", "payload": later}))
    link = rest.parse_link_unsorted({"link": {"entity_id": lead.id, "entity_type": "leads"}})
    backend.link_unsorted("acc-1", backend.crm_unsorted("acc-1")[2].uid, link)
    backend.close_talk("acc-1", backend.crm_talks()[0].id)
    backend.delete_sources("acc-1", "app", [source.id])
    backend.uninstall_integration("app", "acc-1")

    assert {change.event for change in heard} == set(EVENTS)
    for change in heard:
        record = orjson.loads(change.encode())
        assert set(record) == {"event", "data", "tape", "failed"}
        assert set(record["data"]) <= set(EVENTS[record["event"]].fields), record
    edited = next(change for change in heard if change.event == "message_edited")
    assert edited.data == {"scope_id": scope, "msgid": "m-1", "message": {"type": "text", "text": "hi!"}}
    status = next(change for change in heard if change.event == "delivery_status_reported")
    assert status.data == {"scope_id": scope, "message_id": out.id, "delivery_status": -1, "error_code": 905, "error": "blocked"}
    changed = next(change for change in heard if change.event == "channel_changed")
    assert set(changed.data) == {"channel_id", "secret", "name", "hook_api_version", "allowed_accounts"}  # what was not given stays absent
    assert changed.data["secret"] is None and changed.tape == [channel.secret]  # the drawn secret replays as it was drawn
    # amoCRM's REST bodies are recorded as received (the format of 0.1's successors did so before they were typed).
    leads = next(change for change in heard if change.event == "leads_updated")
    assert leads.data == {"account_id": "acc-1", "body": {"price": 20}, "lead_id": lead.id}
    accepted = next(change for change in heard if change.event == "unsorted_accepted")
    assert accepted.data == {"account_id": "acc-1", "uid": uid, "body": {"status_id": 142}}
    assert state_snapshot(rebuild(heard)) == state_snapshot(backend)
    assert rebuild(heard).channel("ch-1").secret == channel.secret


def test_a_call_with_wrong_arguments_raises_as_python_would_and_records_nothing() -> None:
    backend = Backend()
    heard: list[Change] = []
    backend.changes.add_recorder(heard.append)
    with pytest.raises(TypeError, match="unexpected keyword argument 'nickname'"):
        backend.register_account(amojo_id="acc-1", nickname="Shop")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="missing a required argument"):
        backend.connect("ch-1")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="multiple values"):
        backend.connect("ch-1", Connect("acc-1"), channel_id="ch-2")  # type: ignore[misc]
    assert heard == []


def test_defaults_are_recorded_so_a_changed_default_does_not_change_old_files() -> None:
    backend = Backend()
    heard: list[Change] = []
    backend.changes.add_recorder(heard.append)
    backend.register_channel(id="ch-1", secret="0" * 40)
    assert heard[0].data["hook_api_version"] == "v1"
    assert heard[0].data["write_first"] is True


# -- state changes only through the domain's own operations (issue #15) -----------------------


def test_a_sandboxs_own_changes_are_recorded_and_replay_to_its_state() -> None:
    host = SandboxHost()
    heard: list[Change] = []
    host.backend.changes.add_recorder(heard.append)
    try:
        with host.open(SandboxSettings(clock=1639609975, strict_accounts=True)) as amojo:
            amojo.add_account("acc-extra", name="Second shop")
            amojo.serve_webhooks(_accept, "http://integration.test/hook/:scope_id")
            amojo.connect()
            assert amojo.client.send_message({**_text("m-1"), "conversation_id": "c-1"}).status_code == 200
            amojo.clock.advance(60)
            amojo.reply("c-1", "answered a minute later")
            state = state_snapshot(host.backend)
    finally:
        host.close()
    channel = next(c for c in state["channels"] if c["id"] == amojo.channel_id)
    assert "acc-extra" in channel["allowed_accounts"]
    assert channel["webhook_url"] == "http://integration.test/hook/:scope_id"
    assert state_snapshot(rebuild(heard)) == state


async def _accept(scope: Any, receive: Any, send: Any) -> None:
    """An integration's webhook endpoint that takes every hook."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def _text(msgid: str) -> dict[str, Any]:
    return {"timestamp": 1639609975, "msgid": msgid, "sender": {"id": "u-1", "name": "Ann"}, "message": {"type": "text", "text": msgid}}


def test_naming_the_acting_manager_changes_nothing() -> None:
    backend = Backend()
    channel = backend.register_channel(id="ch-1")
    scope = backend.connect(channel.id, parse_connect({"account_id": "acc-1"}))
    revision, participants = backend.changes.revision, dict(scope.participants)
    manager = backend.manager(scope)
    assert manager.id == next(a for a in backend.snapshot().accounts if a.id == "acc-1").users[0].id
    assert (backend.changes.revision, scope.participants) == (revision, participants)
