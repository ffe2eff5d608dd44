"""A hypothesis state machine driving the fake over HTTP against a small model of amojo.

Rules: connect, disconnect, create chat, incoming messages (silent or not), duplicates,
edits, delivery statuses, reactions, manager replies, history reads. After every step the
fake's history, statuses and leads must equal the model's, and no request may get a 5xx.
Seeded and bounded (``MOCK_AMOJO_TEST_EXAMPLES`` raises the number of runs for nightly use).
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from typing import Any

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from mock_amojo import Config, ManualClock, create_app
from mock_amojo.testing._client import AmojoClient
from mock_amojo.testing._inprocess import SyncASGITransport

RUNS = int(os.environ.get("MOCK_AMOJO_TEST_EXAMPLES", "0")) or 25
START = 1_764_000_000.0
texts = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=20)


@dataclass
class ModelMessage:
    amojo_id: str
    msgid: str | None
    text: str
    statuses: list[int] = field(default_factory=list)


@dataclass
class ModelChat:
    conversation_id: str
    user_id: str
    chat_id: str | None = None
    messages: list[ModelMessage] = field(default_factory=list)
    lead: bool = False


class AmojoMachine(RuleBasedStateMachine):
    """Model: which chats exist, their messages (oldest first) with statuses, which have a lead."""

    def __init__(self) -> None:
        super().__init__()
        self.config = Config(hook_api_version="v2")
        self.clock = ManualClock(START)
        self.app = create_app(self.config, clock=self.clock, webhook_mode="sync")
        self.http = httpx.Client(transport=SyncASGITransport(self.app), base_url="http://amojo")
        self.amojo = AmojoClient(self.http, self.config.channel_id, self.config.channel_secret, now=self.clock.now)
        self.scope_id = f"{self.config.channel_id}_{self.config.account_id}"
        self.connected = False
        self.chats: dict[str, ModelChat] = {}
        self.ids = itertools.count(1)

    def teardown(self) -> None:
        self.http.close()
        self.app.state.webhooks.close()

    # -- helpers -------------------------------------------------------------------------

    def checked(self, response: httpx.Response, *expected: int) -> httpx.Response:
        assert response.status_code < 500, response.text
        assert response.status_code in expected, (
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
        )
        assert not self.app.state.backend.server_errors
        return response

    def messages(self) -> list[tuple[ModelChat, ModelMessage]]:
        return [(c, m) for c in self.chats.values() for m in c.messages]

    def payload(self, chat: ModelChat, text: str, msgid: str, silent: bool) -> dict[str, Any]:
        return {
            "timestamp": int(self.clock.now()),
            "msec_timestamp": int(self.clock.now() * 1000),
            "msgid": msgid,
            "conversation_id": chat.conversation_id,
            "sender": {"id": chat.user_id, "name": "Client"},
            "message": {"type": "text", "text": text},
            "silent": silent,
        }

    # -- rules -----------------------------------------------------------------------------

    @rule()
    def connect(self) -> None:
        body = self.checked(self.amojo.connect(self.config.account_id, hook_api_version="v2"), 200).json()
        assert body["scope_id"] == self.scope_id
        self.connected = True

    @precondition(lambda self: self.connected)
    @rule()
    def disconnect(self) -> None:
        self.checked(self.amojo.disconnect(self.config.account_id), 200)
        self.connected = False

    @rule(new=st.booleans(), data=st.data())
    def create_chat(self, new: bool, data: st.DataObject) -> None:
        if new or not self.chats:
            n = next(self.ids)
            chat = ModelChat(f"conv-{n}", f"user-{n}")
        else:
            chat = data.draw(st.sampled_from(sorted(self.chats.values(), key=lambda c: c.conversation_id)))
        response = self.amojo.create_chat(chat.conversation_id, {"id": chat.user_id, "name": "Client"}, scope_id=self.scope_id)
        if not self.connected:
            self.checked(response, 404)
            return
        chat_id = self.checked(response, 200).json()["id"]
        if chat.chat_id is not None:
            assert chat_id == chat.chat_id, "create chat is idempotent on conversation_id"
        chat.chat_id = chat_id
        self.chats.setdefault(chat.conversation_id, chat)

    @rule(new=st.booleans(), text=texts, silent=st.booleans(), data=st.data())
    def incoming(self, new: bool, text: str, silent: bool, data: st.DataObject) -> None:
        if new or not self.chats:
            n = next(self.ids)
            chat = ModelChat(f"conv-{n}", f"user-{n}")
        else:
            chat = data.draw(st.sampled_from(sorted(self.chats.values(), key=lambda c: c.conversation_id)))
        msgid = f"msg-{next(self.ids)}"
        response = self.amojo.send_message(self.payload(chat, text, msgid, silent), scope_id=self.scope_id)
        if not self.connected:
            self.checked(response, 404)
            return
        sent = self.checked(response, 200).json()["new_message"]
        assert sent["ref_id"] == msgid
        chat.messages.append(ModelMessage(sent["msgid"], msgid, text))
        if not silent and not chat.lead:
            chat.lead = True
        self.chats.setdefault(chat.conversation_id, chat)
        self.clock.advance(1)

    @precondition(lambda self: self.connected and any(m.msgid for c in self.chats.values() for m in c.messages))
    @rule(data=st.data())
    def duplicate_msgid(self, data: st.DataObject) -> None:
        chat, message = data.draw(st.sampled_from([(c, m) for c, m in self.messages() if m.msgid]))
        assert message.msgid is not None
        response = self.amojo.send_message(self.payload(chat, "again", message.msgid, True), scope_id=self.scope_id)
        assert self.checked(response, 400).json()["error_type"] == "DUPLICATE_MSGID"

    @precondition(lambda self: self.connected and any(c.messages for c in self.chats.values()))
    @rule(text=texts, by_msgid=st.booleans(), data=st.data())
    def edit(self, text: str, by_msgid: bool, data: st.DataObject) -> None:
        chat, message = data.draw(st.sampled_from(self.messages()))
        key = {"msgid": message.msgid} if by_msgid and message.msgid else {"id": message.amojo_id}
        payload = {**key, "conversation_id": chat.conversation_id, "message": {"type": "text", "text": text}}
        self.checked(self.amojo.send_message(payload, scope_id=self.scope_id, event_type="edit_message"), 200)
        message.text = text

    @precondition(lambda self: self.connected and any(c.messages for c in self.chats.values()))
    @rule(status=st.sampled_from([1, 2, -1]), data=st.data())
    def delivery_status(self, status: int, data: st.DataObject) -> None:
        _, message = data.draw(st.sampled_from(self.messages()))
        extra = {"error_code": 905, "error": "Blocked"} if status == -1 else {}
        self.checked(self.amojo.delivery_status(message.amojo_id, status, scope_id=self.scope_id, **extra), 200)
        message.statuses.append(status)

    @precondition(lambda self: self.connected and any(c.messages for c in self.chats.values()))
    @rule(emoji=st.sampled_from(["👍", "😍", "🔥"]), data=st.data())
    def react(self, emoji: str, data: st.DataObject) -> None:
        chat, message = data.draw(st.sampled_from(self.messages()))
        body = {
            "conversation_id": chat.conversation_id,
            "id": message.amojo_id,
            "user": {"id": chat.user_id},
            "type": "react",
            "emoji": emoji,
        }
        self.checked(self.amojo.react(body, scope_id=self.scope_id), 200)

    @precondition(lambda self: self.connected and any(c.chat_id for c in self.chats.values()))
    @rule(text=texts, data=st.data())
    def manager_reply(self, text: str, data: st.DataObject) -> None:
        chat = data.draw(st.sampled_from(sorted((c for c in self.chats.values() if c.chat_id), key=lambda c: c.conversation_id)))
        body = {"scope_id": self.scope_id, "conversation_id": chat.conversation_id, "message": {"type": "text", "text": text}}
        result = self.checked(self.http.post("/__mock__/operator/reply", json=body), 201).json()
        chat.messages.append(ModelMessage(result["message_id"], None, text))
        self.clock.advance(1)

    @precondition(lambda self: any(c.chat_id for c in self.chats.values()))
    @rule(offset=st.integers(min_value=0, max_value=6), limit=st.integers(min_value=1, max_value=60), data=st.data())
    def history_page(self, offset: int, limit: int, data: st.DataObject) -> None:
        chat = data.draw(st.sampled_from(sorted((c for c in self.chats.values() if c.chat_id), key=lambda c: c.conversation_id)))
        assert chat.chat_id is not None
        response = self.amojo.history(chat.chat_id, offset=offset, limit=limit, scope_id=self.scope_id)
        if not self.connected:
            self.checked(response, 404)
            return
        expected = [m.text for m in reversed(chat.messages)][offset : offset + min(limit, 50)]
        if not expected:
            self.checked(response, 204)
        else:
            assert [m["message"]["text"] for m in self.checked(response, 200).json()["messages"]] == expected

    # -- invariants --------------------------------------------------------------------------

    @invariant()
    def history_agrees(self) -> None:
        if not self.connected:
            return
        for chat in self.chats.values():
            if chat.chat_id is None:
                continue
            response = self.amojo.history(chat.chat_id, limit=50, scope_id=self.scope_id)
            got = [] if response.status_code == 204 else [m["message"]["text"] for m in self.checked(response, 200).json()["messages"]]
            assert got == [m.text for m in reversed(chat.messages)][:50]

    @invariant()
    def statuses_and_leads_agree(self) -> None:
        state = self.checked(self.http.get("/__mock__/state", params={"scope_id": self.scope_id}), 200).json()
        codes = {m["id"]: [s["code"] for s in m["statuses"] if s["code"] is not None] for m in state["messages"]}
        for _, message in self.messages():
            assert codes[message.amojo_id] == message.statuses
        by_conversation = {c["id"]: c["conversation_id"] for c in state["chats"]}
        with_lead = {by_conversation[lead["chat_id"]] for lead in state["leads"]}
        assert with_lead == {c.conversation_id for c in self.chats.values() if c.lead}
        assert len(state["leads"]) == len(with_lead), "at most one incoming lead per chat"


AmojoMachine.TestCase.settings = settings(
    max_examples=RUNS, stateful_step_count=30, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestAmojoMachine = AmojoMachine.TestCase
