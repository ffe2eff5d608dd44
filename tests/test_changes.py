"""The changes feed: what one state change records, and that replaying it lands in the same state."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from mock_amojo.domain import Backend
from mock_amojo.domain._changes import Change
from mock_amojo.domain._clock import ManualClock, SequentialIds
from mock_amojo.errors import ChatNotFound
from mock_amojo.http._control import state_snapshot
from mock_amojo.wire import parse_connect, parse_react, parse_send_message, parse_typing

START = 1764000000.0


def fresh() -> tuple[Backend, list[Change]]:
    backend = Backend(clock=ManualClock(START), ids=SequentialIds())
    heard: list[Change] = []
    backend.changes.add_recorder(heard.append)
    return backend, heard


def rebuild(changes: list[Change]) -> Backend:
    """A backend that only ever saw the recorded changes (its own ids and clock would differ)."""
    backend = Backend(clock=ManualClock(0), ids=SequentialIds(start=900))
    for change in changes:
        assert backend.changes.replay(backend, Change.decode(change.encode()))
    return backend


def connected(backend: Backend) -> str:
    channel = backend.register_channel(id="ch-1", secret="0" * 40)
    return backend.connect(channel.id, parse_connect({"account_id": "acc-1", "hook_api_version": "v2"})).id


def incoming(msgid: str, conversation_id: str = "c-1", **extra: Any) -> dict[str, Any]:
    payload = {"timestamp": 1, "msgid": msgid, "conversation_id": conversation_id, "sender": {"id": "u-1", "name": "Ann"}}
    payload["message"] = {"type": "text", "text": msgid}
    return {"event_type": "new_message", "payload": {**payload, **extra}}


def test_a_nested_mutation_is_part_of_the_outer_change() -> None:
    backend, heard = fresh()
    connected(backend)  # connect registers the unknown account (a mutation itself) inside
    assert [c.event for c in heard] == ["channel_registered", "account_connected"]
    assert heard[1].tape == [next(a for a in backend.snapshot().accounts if a.id == "acc-1").users[0].id]


def test_the_tape_holds_ids_times_and_generated_secrets_in_order() -> None:
    backend, heard = fresh()
    channel = backend.register_channel()  # id, secret and bot id all generated
    assert heard[0].tape[0] == channel.id
    assert channel.secret in heard[0].tape
    assert channel.bot.id in heard[0].tape
    scope = connected(backend)
    backend.send_message(scope, parse_send_message(incoming("m-1")))
    assert START in heard[-1].tape


def test_replay_rebuilds_the_same_state_including_refusals_partial_effects() -> None:
    backend, heard = fresh()
    scope = connected(backend)
    backend.send_message(scope, parse_send_message(incoming("m-1")))
    with pytest.raises(ChatNotFound):
        backend.typing(scope, parse_typing({"conversation_id": "nope", "sender": {"id": "u-1"}}))
    assert heard[-1].failed
    backend.clock.advance(30)  # type: ignore[attr-defined]  # TapedClock forwards to the ManualClock
    backend.send_message(scope, parse_send_message(incoming("m-2")))
    backend.react(scope, parse_react({"conversation_id": "c-1", "msgid": "m-1", "user": {"id": "u-1"}, "type": "react", "emoji": "👍"}))
    assert state_snapshot(rebuild(heard)) == state_snapshot(backend)


def test_arguments_are_recorded_as_they_were_when_the_call_began() -> None:
    backend, heard = fresh()
    scope = connected(backend)
    body = incoming("m-1")
    backend.send_message(scope, parse_send_message(body))
    body["payload"]["message"]["text"] = "changed afterwards"
    assert heard[-1].data["message"]["text"] == "m-1"


def test_reads_outside_a_change_are_not_taped() -> None:
    backend, heard = fresh()
    connected(backend)
    before = [list(c.tape) for c in heard]
    backend.clock.now()
    backend.ids.new()
    assert [c.tape for c in heard] == before


def test_a_broken_listener_does_not_fail_the_call(caplog: pytest.LogCaptureFixture) -> None:
    backend, _ = fresh()

    def broken(change: Change) -> None:
        raise RuntimeError("listener bug")

    unsubscribe = backend.changes.subscribe(broken)
    with caplog.at_level(logging.ERROR, logger="mock_amojo.domain._changes"):
        backend.register_account(amojo_id="acc-1")
    assert "change listener failed" in caplog.text
    unsubscribe()
    unsubscribe()  # twice is harmless
    backend.register_account(amojo_id="acc-2")


def test_a_replay_that_ends_differently_says_so() -> None:
    backend, _ = fresh()
    recorded_ok = Change("message_received", {"scope_id": "no-such-scope", **incoming("m-1")["payload"]}, [], failed=False)
    assert backend.changes.replay(backend, recorded_ok) is False
    recorded_failed = Change("account_registered", {"amojo_id": "acc-1", "name": None, "users": None}, [], failed=True)
    assert backend.changes.replay(backend, recorded_failed) is False  # it succeeded this time


def test_a_short_tape_draws_fresh_values() -> None:
    backend, _ = fresh()
    change = Change(
        "account_registered", {"amojo_id": "acc-1", "name": None, "users": None}, [], failed=False
    )  # the manager's id is missing
    assert backend.changes.replay(backend, change)
    assert next(a for a in backend.snapshot().accounts if a.id == "acc-1").users[0].id  # drawn from the backend's own id source


def test_revision_counts_every_change() -> None:
    backend, _ = fresh()
    start = backend.changes.revision
    connected(backend)
    with pytest.raises(ChatNotFound):
        backend.typing("ch-1_acc-1", parse_typing({"conversation_id": "nope", "sender": {"id": "u"}}))
    assert backend.changes.revision == start + 3
