"""No accepted request may break a read: generated writes interleaved with every read, in memory and in SQLite.

A hypothesis state machine sends writes of every kind — amojo's API (connect, disconnect,
create chat, new messages incoming and imported, edits that turn any message into any shape,
delivery statuses, typing, reactions), the control plane (channels, accounts, webhook faults,
reset), the manager's actions (reply, write first, typing, react) and the virtual clock — with
bodies that are valid, edge cases (``mock_amojo.strategies``: integers at the 64-bit edges,
deep nesting in every free-form object, odd markup, unicode edge cases) or broken in one
place. No write may get a 5xx. After every step *every* read must still work: the state (all
and per scope), the journal, the webhooks, each chat's history page by page, the OpenAPI
document, the console page, every fragment and every chat's timeline, and the event stream.
With SQLite the machine also restarts the fake on its state file and reads everything again.

Seeded and bounded; ``MOCK_AMOJO_TEST_EXAMPLES`` raises the number of runs (``tox -e fuzz``).
The request count of a run is shown in pytest's summary and recorded as the ``requests``
property of each test (junit XML).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import os
from collections import Counter
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from mock_amojo import Config, ManualClock, create_app, strategies
from mock_amojo.client import AmojoClient
from mock_amojo.clock import SequentialIds
from mock_amojo.control import state_snapshot
from mock_amojo.inprocess import SyncASGITransport

from .conftest import Receiver, free_port

EXAMPLES = int(os.environ.get("MOCK_AMOJO_TEST_EXAMPLES", "0")) or 15
STEPS = 30
START = 1_764_000_000.0
UI = "/__mock__/ui"
HISTORY_PAGE = 10

Json = Any

#: How a body is drawn: as a client should send it, at the edges, or broken in one place.
VARIANTS = st.sampled_from(["valid", "edge", "defect"])
#: Jumps of the virtual clock: none, sub-second, past the typing window, past a signature's max age, years.
CLOCK_STEPS = st.sampled_from([0.0, 0.001, 1.0, 5.0, 6.0, 901.0, 86_400.0, 10 * 365 * 86_400.0])
uuids = st.uuids().map(str)


@dataclass
class Tally:
    """Requests one test sent, by endpoint: what the lead reports as requests per run."""

    writes: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    reads: int = 0
    examples: int = 0

    @property
    def total(self) -> int:
        return sum(self.writes.values()) + self.reads

    def summary(self) -> str:
        accepted = sum(self.writes.values()) - sum(self.refused.values())
        return (
            f"{self.total} requests in {self.examples} runs: {sum(self.writes.values())} writes "
            f"({accepted} accepted, {sum(self.refused.values())} refused with a 4xx), {self.reads} reads"
        )


def _draw_body(data: st.DataObject, variant: str, valid: st.SearchStrategy[Json], edge: st.SearchStrategy[Json] | None = None) -> Json:
    """A body of the drawn variant: valid, an edge case (a targeted one or one edge value anywhere), or one defect."""
    if variant == "valid":
        return data.draw(valid)
    if variant == "edge":
        edges = strategies.edge_cases(valid)
        return data.draw(edges if edge is None else edge | edges)
    return data.draw(strategies.one_defect(valid))


def _answer(what: str, send: Callable[[], httpx.Response]) -> httpx.Response:
    """``send()``'s answer; an exception the app lets out (in process) is the 500 a served fake answers."""
    try:
        return send()
    except Exception as exc:
        raise AssertionError(f"{what}: 500, the app raised {type(exc).__name__}: {exc}") from exc


def _read_event_stream(app: Any) -> bytes:
    """The console's event stream up to its first event (``hello``, which reads every feed's mark), then hang up.

    Driven straight through ASGI: the in-process transport would buffer the whole stream (seconds).
    """

    async def run() -> bytes:
        received = bytearray()
        first_event = asyncio.Event()
        status: list[int] = []

        async def receive() -> MutableMapping[str, Any]:
            await first_event.wait()  # the request has no body; the client leaves once it has the first event
            return {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            elif message["type"] == "http.response.body":
                received.extend(message.get("body", b""))
                if b"\n\n" in received:
                    first_event.set()

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": f"{UI}/events",
            "raw_path": f"{UI}/events".encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"amojo"), (b"accept", b"text/event-stream")],
            "client": ("127.0.0.1", 123),
            "server": ("amojo", 80),
        }
        # A guard, not a timed assertion: a stream that never speaks ends by itself after STREAM_SECONDS.
        await asyncio.wait_for(app(scope, receive, send), timeout=30)
        assert status == [200], f"event stream answered {status}: {bytes(received)[:500]!r}"
        return bytes(received)

    return asyncio.run(run())


class InvariantMachine(RuleBasedStateMachine):
    """The fake as a black box; its own ``/__mock__/state``, read after every step, says which ids exist."""

    def __init__(self, *, sqlite: Path | None, receiver: Receiver, tally: Tally) -> None:
        super().__init__()
        self.tally = tally
        tally.examples += 1
        self.receiver = receiver
        self.refused_url = f"http://127.0.0.1:{free_port()}/hooks/:scope_id"
        self.clock = ManualClock(START)
        # One id source for every app this machine opens: ids stay unique across restarts, and examples print the same ids.
        self.ids = SequentialIds()
        self.config = Config(hook_api_version="v2", webhook_url=receiver.url, db=str(sqlite) if sqlite else None)
        self.secrets = {self.config.channel_id: self.config.channel_secret}
        self.state: dict[str, Any] = {}
        self.names = itertools.count(1)
        self._open()

    def _open(self) -> None:
        self.app = create_app(self.config, clock=self.clock, ids=self.ids, webhook_mode="sync")
        self.http = httpx.Client(transport=SyncASGITransport(self.app), base_url="https://amojo.amocrm.com")

    def _close(self) -> None:
        self.http.close()  # also stops the app's webhook dispatcher
        if self.app.state.store is not None:
            self.app.state.store.close()

    def teardown(self) -> None:
        self._close()

    # -- what exists (from the last read of the state) ----------------------------------------

    def scopes(self) -> list[dict[str, Any]]:
        return [s for s in self.state.get("scopes", []) if s["channel_id"] in self.secrets]

    def chats(self, scope_id: str) -> list[dict[str, Any]]:
        return [c for c in self.state.get("chats", []) if c["scope_id"] == scope_id]

    def messages(self, scope_id: str) -> list[dict[str, Any]]:
        chats = {c["id"] for c in self.chats(scope_id)}
        return [m for m in self.state.get("messages", []) if m["chat_id"] in chats]

    def has_scope(self) -> bool:
        return bool(self.scopes())

    def has_chat(self) -> bool:
        return any(self.chats(s["id"]) for s in self.scopes())

    def has_message(self) -> bool:
        return any(self.messages(s["id"]) for s in self.scopes())

    def pick_scope(self, data: st.DataObject) -> dict[str, Any]:
        scopes = {s["id"]: s for s in self.scopes()}
        return scopes[data.draw(st.sampled_from(list(scopes)), label="scope_id")]

    def pick_chat(self, data: st.DataObject) -> tuple[dict[str, Any], dict[str, Any]]:
        chats = {c["id"]: (s, c) for s in self.scopes() for c in self.chats(s["id"])}
        return chats[data.draw(st.sampled_from(list(chats)), label="chat_id")]

    def pick_message(self, data: st.DataObject) -> tuple[dict[str, Any], dict[str, Any]]:
        messages = {m["id"]: (s, m) for s in self.scopes() for m in self.messages(s["id"])}
        return messages[data.draw(st.sampled_from(list(messages)), label="message_id")]

    def conversation(self, data: st.DataObject, scope_id: str) -> str:
        """An existing conversation of the scope, or a new one."""
        known = [c["conversation_id"] for c in self.chats(scope_id) if c["conversation_id"]]
        fresh = st.just(f"conv-{next(self.names)}")
        conversation: str = data.draw(st.sampled_from(known) | fresh if known else fresh, label="conversation_id")
        return conversation

    # -- sending ------------------------------------------------------------------------------

    def written(self, endpoint: str, send: Callable[[], httpx.Response]) -> httpx.Response:
        """No write gets a 5xx; every answer with a body is JSON."""
        self.tally.writes[endpoint] += 1
        response = _answer(endpoint, send)
        status = response.status_code
        assert status < 500, f"{endpoint} answered {status}: {response.text[:3000]}"
        if status >= 400:
            self.tally.refused[endpoint] += 1
            assert isinstance(orjson.loads(response.content), dict), f"{endpoint}: a {status} without a JSON error body"
        elif response.content:
            orjson.loads(response.content)
        assert not self.app.state.backend.server_errors, self.app.state.backend.server_errors
        return response

    def amojo(self, endpoint: str, channel_id: str, method: str, path: str, body: Json) -> httpx.Response:
        client = AmojoClient(self.http, channel_id, self.secrets[channel_id], now=self.clock.now)
        return self.written(endpoint, lambda: client.request(method, path, raw=strategies.json_bytes(body)))

    def control(self, endpoint: str, method: str, path: str, body: Json = None) -> httpx.Response:
        content = None if body is None else strategies.json_bytes(body)
        headers = {"Content-Type": "application/json"} if content is not None else {}
        return self.written(endpoint, lambda: self.http.request(method, f"/__mock__/{path}", content=content, headers=headers))

    # -- amojo's API --------------------------------------------------------------------------

    @rule(data=st.data(), variant=VARIANTS)
    def connect(self, data: st.DataObject, variant: str) -> None:
        channels = [c for c in self.state["channels"] if c["id"] in self.secrets]
        if not channels:
            return
        channel = {c["id"]: c for c in channels}[data.draw(st.sampled_from([c["id"] for c in channels]), label="channel_id")]
        known = [a["id"] for a in self.state["accounts"]]
        account = data.draw(st.sampled_from(known) | uuids if known else uuids, label="account_id")
        body = _draw_body(data, variant, strategies.connect_requests(account))
        self.amojo("connect", channel["id"], "POST", f"{channel['id']}/connect", body)

    @precondition(has_scope)
    @rule(data=st.data(), variant=VARIANTS)
    def disconnect(self, data: st.DataObject, variant: str) -> None:
        scope = self.pick_scope(data)
        valid = st.fixed_dictionaries({"account_id": st.just(scope["account_id"])})
        body = _draw_body(data, variant, valid)
        self.amojo("disconnect", scope["channel_id"], "DELETE", f"{scope['channel_id']}/disconnect", body)

    @precondition(has_scope)
    @rule(data=st.data(), variant=VARIANTS)
    def create_chat(self, data: st.DataObject, variant: str) -> None:
        scope = self.pick_scope(data)
        conversation = self.conversation(data, scope["id"])
        valid = strategies.create_chat_requests().map(lambda b: {**b, "conversation_id": conversation})
        body = _draw_body(data, variant, valid)
        self.amojo("create_chat", scope["channel_id"], "POST", f"{scope['id']}/chats", body)

    @precondition(has_scope)
    @rule(data=st.data(), variant=VARIANTS, quote=st.sampled_from(["none", "reply_to", "forward"]))
    def new_message(self, data: st.DataObject, variant: str, quote: str) -> None:
        """A client's message: every type, silent or not, quoting or forwarding an earlier message by id."""
        scope = self.pick_scope(data)
        conversation = self.conversation(data, scope["id"])
        valid = strategies.incoming_messages(conversation_id=conversation)
        body = _draw_body(data, variant, valid, strategies.edge_incoming_messages(conversation_id=conversation))
        self._quote(data, scope["id"], body, quote)
        self.amojo("new_message", scope["channel_id"], "POST", scope["id"], body)

    @precondition(has_scope)
    @rule(data=st.data(), variant=VARIANTS, sender=st.sampled_from(["bot", "manager", "unknown"]))
    def import_message(self, data: st.DataObject, variant: str, sender: str) -> None:
        """An outgoing message imported as the channel's bot, a manager, or a CRM user the fake has not seen."""
        scope = self.pick_scope(data)
        channel = next(c for c in self.state["channels"] if c["id"] == scope["channel_id"])
        users = [u["id"] for a in self.state["accounts"] if a["id"] == scope["account_id"] for u in a["users"]]
        ref_id = {"bot": channel["bot"]["id"], "manager": users[0] if users else channel["bot"]["id"]}.get(sender) or data.draw(uuids)
        conversation = self.conversation(data, scope["id"])
        valid = strategies.outgoing_messages(ref_id, conversation_id=conversation)
        edge = strategies.edge_outgoing_messages(ref_id, conversation_id=conversation)
        body = _draw_body(data, variant, valid, edge)
        self.amojo("import_message", scope["channel_id"], "POST", scope["id"], body)

    def _quote(self, data: st.DataObject, scope_id: str, body: Json, quote: str) -> None:
        messages = self.messages(scope_id)
        if quote == "none" or not messages or not isinstance(body.get("payload"), dict):
            return
        target = {m["id"]: m for m in messages}[data.draw(st.sampled_from([m["id"] for m in messages]), label="quoted")]
        reference = {"id": target["id"]} if target["msgid"] is None or data.draw(st.booleans()) else {"msgid": target["msgid"]}
        if quote == "reply_to":
            body["payload"]["reply_to"] = {"message": reference}
        else:
            body["payload"]["forwards"] = {"messages": [reference]}

    @precondition(has_message)
    @rule(data=st.data(), variant=VARIANTS, by=st.sampled_from(["id", "msgid", "both"]))
    def edit_message(self, data: st.DataObject, variant: str, by: str) -> None:
        """Any message edited into any type and shape (a caption added, a type changed, edge-case content)."""
        scope, message = self.pick_message(data)
        msgid = message["msgid"] if by != "id" else None
        if by == "both":
            msgid = data.draw(st.sampled_from([message["msgid"] or "m-new", f"renamed-{next(self.names)}"]), label="new msgid")
        amojo_id = message["id"] if by != "msgid" or msgid is None else None
        valid = strategies.reshaping_edits(msgid=msgid, message_id=amojo_id)
        body = _draw_body(data, variant, valid)
        self.amojo("edit_message", scope["channel_id"], "POST", scope["id"], body)

    @precondition(has_message)
    @rule(data=st.data(), variant=VARIANTS)
    def delivery_status(self, data: st.DataObject, variant: str) -> None:
        scope, message = self.pick_message(data)
        body = _draw_body(data, variant, strategies.delivery_status_requests(message["id"]))
        self.amojo("delivery_status", scope["channel_id"], "POST", f"{scope['id']}/{message['id']}/delivery_status", body)

    @precondition(has_chat)
    @rule(data=st.data(), variant=VARIANTS)
    def typing(self, data: st.DataObject, variant: str) -> None:
        scope, chat = self.pick_chat(data)
        valid = strategies.typing_requests(chat["conversation_id"] or "none", chat["client"]["client_id"] or chat["client"]["id"])
        body = _draw_body(data, variant, valid)
        self.amojo("typing", scope["channel_id"], "POST", f"{scope['id']}/typing", body)

    @precondition(has_message)
    @rule(data=st.data(), variant=VARIANTS, by_id=st.booleans())
    def react(self, data: st.DataObject, variant: str, by_id: bool) -> None:
        """A client reacts to a message or takes its reaction back."""
        scope, message = self.pick_message(data)
        chat = next(c for c in self.chats(scope["id"]) if c["id"] == message["chat_id"])
        user = chat["client"]["client_id"] or chat["client"]["id"]
        valid = strategies.react_requests(chat["conversation_id"] or "none", message["msgid"] or "none", user)
        if by_id or message["msgid"] is None:
            valid = valid.map(lambda b: {**{k: v for k, v in b.items() if k != "msgid"}, "id": message["id"]})
        body = _draw_body(data, variant, valid)
        self.amojo("react", scope["channel_id"], "POST", f"{scope['id']}/react", body)

    # -- the manager (operator actions) ---------------------------------------------------------

    def _faults(self) -> st.SearchStrategy[Json]:
        # delay stays 0: in sync mode a delayed hook would sleep in the test.
        return st.fixed_dictionaries(
            {},
            optional={
                "delay": st.sampled_from([0, 0.0]),
                "duplicate": st.booleans(),
                "out_of_order": st.booleans(),
                "tamper_signature": st.booleans(),
                "stale_time": st.sampled_from([0, 1, 315_360_000]) | st.integers(0, 315_360_000),
            },
        )

    def _chat_ref(self, chat: dict[str, Any]) -> st.SearchStrategy[dict[str, str]]:
        by_chat = st.just({"chat_id": chat["id"]})
        if not chat["conversation_id"]:
            return by_chat
        return by_chat | st.just({"conversation_id": chat["conversation_id"]})

    @precondition(has_scope)
    @rule(data=st.data(), variant=VARIANTS)
    def manager(self, data: st.DataObject, variant: str) -> None:
        """A CRM manager replies (quoting a message or not), writes first, types or reacts; each sends its webhook."""
        actions = ["initiate"] + (["reply", "typing"] if self.has_chat() else []) + (["react"] if self.has_message() else [])
        act = {
            "reply": self.operator_reply,
            "initiate": self.operator_initiate,
            "typing": self.operator_typing,
            "react": self.operator_react,
        }
        act[data.draw(st.sampled_from(actions), label="action")](data, variant)

    def operator_reply(self, data: st.DataObject, variant: str) -> None:
        scope, chat = self.pick_chat(data)
        quoted = [m["id"] for m in self.messages(scope["id"]) if m["chat_id"] == chat["id"]]
        valid = st.fixed_dictionaries(
            {"scope_id": st.just(scope["id"]), "message": strategies.operator_messages()},
            optional={"faults": self._faults()},
        )
        valid = st.tuples(valid, self._chat_ref(chat)).map(lambda t: {**t[0], **t[1]})
        quote: bool = bool(quoted) and data.draw(st.booleans(), label="quote")
        if quote:
            valid = st.tuples(valid, st.sampled_from(quoted)).map(lambda t: {**t[0], "reply_to": {"message_id": t[1]}})
        body = _draw_body(data, variant, valid)
        self.control("operator_reply", "POST", "operator/reply", body)

    def operator_initiate(self, data: st.DataObject, variant: str) -> None:
        scope = self.pick_scope(data)
        phones = st.from_regex(r"\+?[0-9]{5,15}", fullmatch=True)
        valid = st.fixed_dictionaries(
            {"scope_id": st.just(scope["id"]), "phone": phones, "message": strategies.operator_messages()},
            optional={"name": st.text(min_size=1, max_size=20), "source": st.fixed_dictionaries({"external_id": st.just("src-1")})},
        )
        body = _draw_body(data, variant, valid)
        self.control("operator_initiate", "POST", "operator/initiate", body)

    def operator_typing(self, data: st.DataObject, variant: str) -> None:
        scope, chat = self.pick_chat(data)
        valid = st.tuples(st.fixed_dictionaries({"scope_id": st.just(scope["id"])}), self._chat_ref(chat)).map(lambda t: {**t[0], **t[1]})
        body = _draw_body(data, variant, valid)
        self.control("operator_typing", "POST", "operator/typing", body)

    def operator_react(self, data: st.DataObject, variant: str) -> None:
        scope, message = self.pick_message(data)
        react = data.draw(st.booleans(), label="react")
        fields: dict[str, st.SearchStrategy[Json]] = {"scope_id": st.just(scope["id"]), "message_id": st.just(message["id"])}
        if react:
            fields["emoji"] = st.sampled_from(["👍", "🔥", "❤️"])
        else:
            fields["type"] = st.just("unreact")
        body = _draw_body(data, variant, st.fixed_dictionaries(fields))
        self.control("operator_react", "POST", "operator/react", body)

    # -- the control plane and the clock ----------------------------------------------------------

    @rule(data=st.data(), variant=VARIANTS, action=st.sampled_from(["channel", "account", "faults", "no faults", "clock", "reset"]))
    def control_plane(self, data: st.DataObject, variant: str, action: str) -> None:
        """Register a channel or an account, set or clear webhook faults, move the clock, or reset everything."""
        if action == "channel":
            self.add_channel(data, variant)
        elif action == "account":
            self.add_account(data, variant)
        elif action == "faults":
            self.set_faults(data, variant)
        elif action == "no faults":
            self.clear_faults(data)
        elif action == "clock":
            self.clock.advance(data.draw(CLOCK_STEPS, label="seconds"))
        else:
            self.control("reset", "POST", "reset")

    def add_channel(self, data: st.DataObject, variant: str) -> None:
        """A channel with a hook URL that answers, one that refuses connections, or none; its secret given or generated."""
        generated_secret = data.draw(st.booleans(), label="generated secret")
        hooks = st.sampled_from([self.receiver.url, self.refused_url]) | st.none()
        fields: dict[str, st.SearchStrategy[Json]] = {"id": uuids}
        if not generated_secret:
            fields["secret"] = st.binary(min_size=20, max_size=20).map(bytes.hex)
        valid = st.fixed_dictionaries(
            fields,
            optional={
                "name": st.text(min_size=1, max_size=30),
                "webhook_url": hooks,
                "hook_api_version": st.sampled_from(["v1", "v2"]),
                "strict": st.booleans(),
                "allowed_accounts": st.lists(uuids, max_size=2),
                "write_first": st.booleans(),
            },
        )
        body = _draw_body(data, variant, valid)
        if isinstance(body, dict) and isinstance(body.get("webhook_url"), str) and "127.0.0.1" not in body["webhook_url"]:
            body["webhook_url"] = self.refused_url  # a test never calls out of this machine
        response = self.control("add_channel", "POST", "channels", body)
        if response.status_code == 201:
            created = response.json()
            self.secrets[created["id"]] = created.get("secret") or body["secret"]

    def add_account(self, data: st.DataObject, variant: str) -> None:
        known = [a["id"] for a in self.state["accounts"]]
        user = st.fixed_dictionaries({"name": st.text(min_size=1, max_size=20)}, optional={"amojo_id": uuids})
        valid = st.fixed_dictionaries(
            {"name": st.text(max_size=20)},
            optional={"amojo_id": st.sampled_from(known) | uuids if known else uuids, "users": st.lists(user, max_size=3)},
        )
        body = _draw_body(data, variant, valid)
        self.control("add_account", "POST", "accounts", body)

    def set_faults(self, data: st.DataObject, variant: str) -> None:
        method = data.draw(st.sampled_from(["PUT", "POST"]), label="method")
        channels = [c["id"] for c in self.state["channels"]]
        valid = st.fixed_dictionaries({"faults": self._faults()}, optional={"channel_id": st.sampled_from(channels) if channels else uuids})
        body = _draw_body(data, variant, valid)
        if isinstance(body, dict) and isinstance(body.get("faults"), dict) and body["faults"].get("delay"):
            body["faults"]["delay"] = 0  # a delayed hook would sleep in the test (sync mode)
        self.control("set_faults", method, "faults", body)

    def clear_faults(self, data: st.DataObject) -> None:
        channels = [c["id"] for c in self.state["channels"]]
        channel = data.draw(st.none() | st.sampled_from(channels) if channels else st.none(), label="channel_id")
        self.control("clear_faults", "DELETE", "faults" + (f"?channel_id={channel}" if channel else ""))

    @precondition(lambda self: self.config.db is not None)
    @rule()
    def restart(self) -> None:
        """Stop the fake and start a new one on the same state file: it holds exactly what the old one held."""
        before = state_snapshot(self.app.state.backend)
        self._close()
        self._open()
        assert self.app.state.store.diverged == 0, "a recorded change replayed differently"
        assert state_snapshot(self.app.state.backend) == before

    # -- the invariant: every read works -------------------------------------------------------

    def read(self, what: str, send: Callable[[], httpx.Response], *expected: int) -> httpx.Response:
        self.tally.reads += 1
        response = _answer(f"broken read {what}", send)
        assert response.status_code in (expected or (200,)), f"broken read {what}: {response.status_code} {response.text[:3000]}"
        return response

    def read_json(self, path: str, **params: str) -> Any:
        response = self.read(path, lambda: self.http.get(path, params=params))
        assert response.headers["content-type"].startswith("application/json"), path
        return orjson.loads(response.content)

    def read_html(self, path: str) -> None:
        response = self.read(path, lambda: self.http.get(path))
        assert response.headers["content-type"] == "text/html; charset=utf-8", path

    @invariant()
    def every_read_works(self) -> None:
        self.state = self.read_json("/__mock__/state")
        for scope in self.state["scopes"]:
            narrowed = self.read_json("/__mock__/state", scope_id=scope["id"])
            assert [s["id"] for s in narrowed["scopes"]] == [scope["id"]]
        for path in ("journal", "webhooks", "channels", "accounts", "faults", "health", "openapi.json"):
            self.read_json(f"/__mock__/{path}")
        for chat in self.state["chats"]:
            self.read_history(chat)
        self.read_console()
        self.tally.reads += 1
        try:
            events = _read_event_stream(self.app)
        except Exception as exc:
            raise AssertionError(f"broken read {UI}/events: the app raised {type(exc).__name__}: {exc}") from exc
        hello = events.split(b"\n\n", 1)[0].split(b"\n")
        assert hello[:2] == [b"retry: 500", b"event: hello"], events[:300]
        marks = orjson.loads(hello[2].removeprefix(b"data: "))
        assert set(marks) == {"state", "journal", "webhooks"} and all(isinstance(v, int) for v in marks.values())

    def read_history(self, chat: dict[str, Any]) -> None:
        """Every page of a chat's history (404 once its scope is disconnected, 204 past the last page)."""
        scope = next(s for s in self.state["scopes"] if s["id"] == chat["scope_id"])
        if scope["channel_id"] not in self.secrets:
            return
        amojo = AmojoClient(self.http, scope["channel_id"], self.secrets[scope["channel_id"]], now=self.clock.now)
        path = f"history of {chat['id']}"
        if not scope["connected"]:
            self.read(path, lambda: amojo.history(chat["id"], scope_id=scope["id"]), 404)
            return
        seen: list[str] = []
        while True:
            page_at = functools.partial(amojo.history, chat["id"], offset=len(seen), limit=HISTORY_PAGE, scope_id=scope["id"])
            response = self.read(path, page_at, 200, 204)
            if response.status_code == 204:
                break
            page = [item["message"]["id"] for item in orjson.loads(response.content)["messages"]]
            assert 0 < len(page) <= HISTORY_PAGE, path
            seen += page
            assert len(seen) <= chat["message_count"], f"{path}: more messages than the chat holds"
        assert len(seen) == len(set(seen)) == chat["message_count"], f"{path}: pages skip or repeat messages"

    def read_console(self) -> None:
        chats = self.state["chats"]
        self.read_html(UI)
        for fragment in ("sidebar", "journal", "webhooks", "leads"):
            self.read_html(f"{UI}/fragments/{fragment}")
        for chat in chats:
            self.read_html(f"{UI}/fragments/chats/{chat['id']}")
        if chats:
            self.read_html(f"{UI}?chat={chats[-1]['id']}&tab=webhooks")


budget = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    derandomize=True,
    database=None,
    deadline=None,
    # Every step reads the whole fake (tens of requests), and invalid() filters for bodies the schema refuses.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.fixture(scope="module")
def tallies(request: pytest.FixtureRequest) -> dict[str, Tally]:
    """Request counts per test, shown in the terminal summary (when the run has one terminal, i.e. not under xdist)."""
    counts: dict[str, Tally] = {}

    class Report:
        def pytest_terminal_summary(self, terminalreporter: Any) -> None:
            for name, tally in counts.items():
                terminalreporter.write_line(f"{name}: {tally.summary()}")

    reporter = Report()
    request.config.pluginmanager.register(reporter, "mock-amojo-invariant-tally")
    return counts


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_no_accepted_request_breaks_a_read(
    backend: str,
    receiver: Receiver,
    state_file: Path,
    tallies: dict[str, Tally],
    record_property: Any,
) -> None:
    tally = tallies.setdefault(f"write→read invariant ({backend})", Tally())
    files = itertools.count(1)

    class Machine(InvariantMachine):
        def __init__(self) -> None:
            sqlite = state_file.with_name(f"state-{next(files)}.sqlite") if backend == "sqlite" else None
            super().__init__(sqlite=sqlite, receiver=receiver, tally=tally)

    run_state_machine_as_test(Machine, settings=budget)
    record_property("requests", tally.total)
