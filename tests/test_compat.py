"""State files written by earlier releases load whole: the durable format is a public contract.

``tests/data/compat/state-0.1.0.sqlite`` was written by mock-amojo 0.1.0 (a channel, an account,
3 chats, 8 messages with an edit, statuses and a reaction, 3 leads);
``state-0.1.0.expected.json`` is what it must yield. ``state-v2.sqlite`` was written in format 2
by the domain before it took typed requests (every event kind, with explicit nulls and unknown
fields); ``state-v2.expected.json`` is what it must yield (``make_state_v2.py`` made both).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mock_amojo.domain import Backend
from mock_amojo.domain._events import EVENTS, FORMAT_VERSION
from mock_amojo.domain._store import SqliteStore
from mock_amojo.domain._upgrades import upgrade_record
from mock_amojo.wire import parse_connect, parse_content, parse_send_message

DATA = Path(__file__).parent / "data" / "compat"


@pytest.fixture
def state_010(tmp_path: Path) -> Path:
    # A copy: opening a state file appends to it, and the original must stay as 0.1.0 wrote it.
    copy = tmp_path / "state.sqlite"
    shutil.copyfile(DATA / "state-0.1.0.sqlite", copy)
    return copy


def _contents(backend: Backend, scope_id: str) -> dict[str, Any]:
    scope = backend.scope(scope_id)
    chats = sorted(scope.chats.values(), key=lambda chat: chat.created_at)
    return {
        "scope_id": scope_id,
        "chats": [{"id": chat.id, "conversation_id": chat.conversation_id} for chat in chats],
        "messages": [
            {
                "id": message.id,
                "msgid": message.msgid,
                "chat_id": message.chat_id,
                "message": message.content,
                "status": message.status,
                "edits": list(message.edits),
                "reactions": list(message.reactions),
            }
            for chat in chats
            for message in chat.messages
        ],
        "leads": [
            {
                "id": lead.id,
                "account_id": lead.account_id,
                "scope_id": lead.scope_id,
                "chat_id": lead.chat_id,
                "contact_id": lead.contact_id,
                "first_message_id": lead.first_message_id,
                "created_at": lead.created_at,
                "source": lead.source,
                "status": lead.status,
            }
            for lead in sorted(backend.snapshot().leads, key=lambda lead: lead.id)
        ],
    }


def test_a_state_file_written_by_0_1_0_loads_with_everything_in_it(state_010: Path) -> None:
    expected = json.loads((DATA / "state-0.1.0.expected.json").read_text(encoding="utf-8"))
    with SqliteStore(state_010) as store:
        backend = store.attach(Backend())
        assert store.diverged == 0
        assert _contents(backend, expected["scope_id"]) == expected


def test_a_0_1_0_state_file_keeps_working_after_new_changes(state_010: Path) -> None:
    expected = json.loads((DATA / "state-0.1.0.expected.json").read_text(encoding="utf-8"))
    scope_id = expected["scope_id"]
    with SqliteStore(state_010) as store:
        backend = store.attach(Backend())
        backend.operator_reply(scope_id, conversation_id="compat-c2", message=parse_content({"type": "text", "text": "after upgrade"}))
    with SqliteStore(state_010) as store:
        backend = store.attach(Backend())
        chat = backend.scope(scope_id).chats_by_conversation["compat-c2"]
        assert [m.content.get("text") for m in chat.messages] == [None, "second chat", "after upgrade"]
        assert store.diverged == 0


def _made_v2() -> Any:
    spec = importlib.util.spec_from_file_location("make_state_v2", DATA / "make_state_v2.py")
    assert spec is not None and spec.loader is not None
    made = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(made)
    return made


def test_a_format_2_state_file_loads_with_everything_in_it(tmp_path: Path) -> None:
    copy = tmp_path / "state.sqlite"
    shutil.copyfile(DATA / "state-v2.sqlite", copy)
    expected = json.loads((DATA / "state-v2.expected.json").read_text(encoding="utf-8"))
    with SqliteStore(copy) as store:
        backend = store.attach(Backend())
        assert store.diverged == 0
        assert json.loads(json.dumps(_made_v2().contents(backend))) == expected


def test_a_format_2_state_file_keeps_working_after_new_changes(tmp_path: Path) -> None:
    copy = tmp_path / "state.sqlite"
    shutil.copyfile(DATA / "state-v2.sqlite", copy)
    expected = json.loads((DATA / "state-v2.expected.json").read_text(encoding="utf-8"))
    with SqliteStore(copy) as store:
        backend = store.attach(Backend())
        backend.connect("ch-v2", parse_connect({"account_id": "acc-v2"}))
        payload = {"timestamp": 1796450300, "msgid": "after", "conversation_id": "c-1", "sender": {"id": "u-1"}}
        backend.send_message(
            "ch-v2_acc-v2",
            parse_send_message({"event_type": "new_message", "payload": {**payload, "message": {"type": "text", "text": "later"}}}),
        )
    with SqliteStore(copy) as store:
        backend = store.attach(Backend())
        assert store.diverged == 0
        shown = json.loads(json.dumps(_made_v2().contents(backend)))
    assert shown["scopes"][0]["connected"] is True
    assert [m["message"] for m in shown["chats"][0]["messages"]][-1] == {"type": "text", "text": "later"}
    assert shown["chats"][0]["messages"][:-1] == expected["chats"][0]["messages"]


# -- the upgrade from format 1 (0.1.0) to the current format ------------------------------


def _format_and_records(path: Path) -> tuple[int, list[dict[str, Any]]]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        version = int(db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])
        return version, [json.loads(raw) for (raw,) in db.execute("SELECT change FROM changes ORDER BY seq")]


def test_a_0_1_0_file_is_upgraded_in_place_and_the_old_file_kept_aside(state_010: Path) -> None:
    original = _format_and_records(DATA / "state-0.1.0.sqlite")
    with SqliteStore(state_010) as store:
        store.attach(Backend())
    version, records = _format_and_records(state_010)
    assert version == FORMAT_VERSION == 2
    assert len(records) == len(original[1])
    assert all(set(r) == {"event", "data", "tape", "failed"} and r["event"] in EVENTS for r in records)
    assert [r["tape"] for r in records] == [r["tape"] for r in original[1]]
    assert _format_and_records(state_010.with_name("state.sqlite.v1.bak")) == original


def test_an_upgraded_file_opens_without_another_upgrade(state_010: Path) -> None:
    expected = json.loads((DATA / "state-0.1.0.expected.json").read_text(encoding="utf-8"))
    SqliteStore(state_010).close()
    backup = state_010.with_name("state.sqlite.v1.bak")
    backup.unlink()
    with SqliteStore(state_010) as store:
        assert _contents(store.attach(Backend()), expected["scope_id"]) == expected
    assert not backup.exists()


def test_an_upgrade_that_fails_leaves_the_file_as_it_was(state_010: Path) -> None:
    with contextlib.closing(sqlite3.connect(state_010)) as db, db:
        db.execute(
            """INSERT INTO changes (change) VALUES ('{"method": "rename_chat", "args": [], "kwargs": {}, "tape": [], "failed": false}')"""
        )
    before = _format_and_records(state_010)
    with pytest.raises(
        ValueError, match=r"change 18 cannot be upgraded from format 1: format 1 has no change 'rename_chat'; the file is unchanged"
    ):
        SqliteStore(state_010)
    assert _format_and_records(state_010) == before


def test_a_file_of_a_newer_format_is_refused_in_one_line(state_010: Path) -> None:
    SqliteStore(state_010).close()
    with contextlib.closing(sqlite3.connect(state_010)) as db, db:
        db.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    with pytest.raises(ValueError, match=r"state file format 3 is newer than this mock-amojo reads \(format 2\)"):
        SqliteStore(state_010)
    served = subprocess.run(  # our own CLI, fixed arguments
        [sys.executable, "-m", "mock_amojo", "serve", "--db", str(state_010), "--port", "0"], capture_output=True, text=True, timeout=60
    )
    assert served.returncode == 2
    assert served.stderr.count("\n") == 1 and "Traceback" not in served.stderr
    assert served.stderr.startswith("mock-amojo: error: db: cannot use") and "is newer than this mock-amojo reads" in served.stderr


@pytest.mark.parametrize(
    ("record", "upgraded"),
    [
        # Positional and keyword arguments become named fields; 0.1.0's defaults are written out.
        (
            {"method": "register_channel", "args": [], "kwargs": {"id": "ch"}, "tape": ["b"], "failed": False},
            {
                "event": "channel_registered",
                "data": {
                    "id": "ch",
                    "secret": None,
                    "name": "mock-amojo channel",
                    "webhook_url": None,
                    "hook_api_version": "v1",
                    "strict": False,
                    "allowed_accounts": None,
                    "write_first": True,
                    "replace": False,
                },
                "tape": ["b"],
                "failed": False,
            },
        ),
        (
            {
                "method": "delivery_status",
                "args": ["s", "m"],
                "kwargs": {"body": {"msgid": "m", "status_code": 2}},
                "tape": [],
                "failed": False,
            },
            {
                "event": "delivery_status_reported",
                "data": {"scope_id": "s", "message_id": "m", "status_code": 2},
                "tape": [],
                "failed": False,
            },
        ),
        (
            {"method": "operator_typing", "args": ["s"], "kwargs": {"chat_id": "c"}, "tape": [1.0], "failed": True},
            {
                "event": "manager_typed",
                "data": {"scope_id": "s", "conversation_id": None, "chat_id": "c", "user_id": None},
                "tape": [1.0],
                "failed": True,
            },
        ),
        # A call 0.1.0 refused for its arguments (recorded as failed) changed nothing: dropped.
        ({"method": "operator_typing", "args": ["s", "c"], "kwargs": {}, "tape": [], "failed": True}, None),
        ({"method": "connect", "args": ["ch"], "kwargs": {}, "tape": [], "failed": True}, None),
    ],
)
def test_format_1_records_become_named_events(record: dict[str, Any], upgraded: dict[str, Any] | None) -> None:
    assert upgrade_record(record, 1) == upgraded
