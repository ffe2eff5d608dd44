"""State files written by earlier releases load whole: the durable format is a public contract.

``tests/data/compat/state-0.1.0.sqlite`` was written by mock-amojo 0.1.0 (a channel, an account,
3 chats, 8 messages with an edit, statuses and a reaction, 3 leads);
``state-0.1.0.expected.json`` is what it must yield.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from mock_amojo.models import Backend
from mock_amojo.store import SqliteStore

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
            for lead in sorted(backend.leads.values(), key=lambda lead: lead.id)
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
        backend.operator_reply(scope_id, conversation_id="compat-c2", message={"type": "text", "text": "after upgrade"})
    with SqliteStore(state_010) as store:
        backend = store.attach(Backend())
        chat = backend.scope(scope_id).chats_by_conversation["compat-c2"]
        assert [m.content.get("text") for m in chat.messages] == [None, "second chat", "after upgrade"]
        assert store.diverged == 0
