"""No accepted request may break a read: generated writes interleaved with every read, in memory and in SQLite.

A hypothesis state machine sends writes of every kind — amojo's API (connect, disconnect,
create chat, new messages incoming and imported, edits that turn any message into any shape,
delivery statuses, typing, reactions), the control plane (channels registered and changed,
accounts, webhook faults, reset), the manager's actions (reply, write first, typing, react) and the virtual clock — with
bodies that are valid, edge cases (``mock_amojo.strategies``: integers at the 64-bit edges,
deep nesting in every free-form object, odd markup, unicode edge cases) or broken in one
place. No write may get a 5xx. After every step *every* read must still work: the state (all
and per scope), the journal, the webhooks, each chat's history page by page, the OpenAPI
document, the console page, every fragment and every chat's timeline, and the event stream.
With SQLite the machine also restarts the fake on its state file and reads everything again.

Each step is one kind of write, a few in a row for messages and edits, drawn one way: valid,
broken in one place, or with edge cases of one family (numbers, nesting, shapes, unicode). A run
of the machine is capped by how much hypothesis may draw, so the edge cases sit on lean bodies.

Derandomized (the SQLite machine's one more first step sends its runs elsewhere than the
in-memory ones: two explorations, not one twice) and bounded; ``MOCK_AMOJO_TEST_EXAMPLES``
raises the number of runs (``tox -e fuzz``). The request count of a test is shown in pytest's
summary (without xdist) and recorded as its ``requests`` property (junit XML).
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
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test

from mock_amojo import Config, ManualClock, create_app, strategies
from mock_amojo.client import AmojoClient
from mock_amojo.domain._clock import SequentialIds
from mock_amojo.http._control import state_snapshot
from mock_amojo.testing._inprocess import SyncASGITransport

from .conftest import Receiver, free_port

EXAMPLES = int(os.environ.get("MOCK_AMOJO_TEST_EXAMPLES", "0")) or 20
STEPS = 30
START = 1_764_000_000.0
UI = "/__mock__/ui"
HISTORY_PAGE = 10

Json = Any

#: How a step's bodies are drawn: as a client should send them, broken in one place, or with edge cases of one family.
VARIANTS = st.sampled_from(["numbers", "nesting", "shapes", "unicode", "valid", "defect"])
#: Jumps of the virtual clock: none, sub-second, past the typing window, past a signature's max age, years.
CLOCK_STEPS = st.sampled_from([0.0, 0.001, 1.0, 5.0, 6.0, 901.0, 86_400.0, 10 * 365 * 86_400.0])
uuids = st.uuids().map(str)
#: Messages and edits come a few in a row, as in a chat: a step costs a read of everything, a write next to nothing.
BATCH = st.integers(1, 8)
#: What a set-up step does (a restart: SQLite only); a reset undoes what the other steps built, so it comes up least.
SETUP_ACTIONS = [
    "connect",
    "channel",
    "change channel",
    "account",
    "faults",
    "restart",
    "disconnect",
    "no faults",
    "clock",
    "connect",
    "restart",
    "reset",
]


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
            f"{self.total} requests in {self.examples} machine runs: {sum(self.writes.values())} writes "
            f"({accepted} accepted, {sum(self.refused.values())} refused with a 4xx), {self.reads} reads"
        )


# -- bodies, built once (a strategy made per step costs more than the step's writes) ------------------
#
# Ids that exist only at run time (a chat, a message) are placeholders, filled in after the draw: a
# defect that changed one (made it a number, too long, left it out) stays a defect.

PLACEHOLDERS = {
    name: f"@{name}"
    for name in (
        "conversation",
        "user",
        "sender",
        "account",
        "scope",
        "chat",
        "message",
        "msgid",
        "new_msgid",
        "channel",
        "hook",
        "refused",
        "contact",
        "lead",
        "pipeline",
    )
}
CONVERSATION, USER, SENDER, ACCOUNT, SCOPE, CHAT, MESSAGE, MSGID, NEW_MSGID, CHANNEL, HOOK, REFUSED, CONTACT, LEAD, PIPELINE = (
    PLACEHOLDERS.values()
)


#: The families of edge cases: the kinds a message's edge cases are drawn from (mock_amojo.strategies.MESSAGE_EDGES),
#: and the values one edge case anywhere in another body is drawn from.
EDGE_FAMILIES: dict[str, tuple[tuple[str, ...], st.SearchStrategy[Json]]] = {
    "numbers": (("stamps", "stamps", "numbers"), strategies.edge_numbers()),
    "nesting": (("deep", "deep", "quotes"), strategies.deep_values()),
    "shapes": (("markup", "markup", "template", "extras"), st.sampled_from(strategies.ODD_MARKUPS) | strategies.json_values()),
    "unicode": (("texts", "names"), strategies.edge_texts()),
}


def _variants(
    valid: st.SearchStrategy[Json], targeted: Callable[[tuple[str, ...]], st.SearchStrategy[Json]] | None = None
) -> dict[str, st.SearchStrategy[Json]]:
    """A body as a client should send it, with one defect, or with an edge case of each family: mostly the
    ``targeted`` ones of that family's kinds (messages), else one edge value anywhere."""
    bodies = {"valid": valid, "defect": strategies.one_defect(valid)}
    for family, (kinds, values) in EDGE_FAMILIES.items():
        anywhere = strategies.edge_cases(valid, values)
        bodies[family] = anywhere if targeted is None else st.one_of(targeted(kinds), targeted(kinds), targeted(kinds), anywhere)
    return bodies


def _filled(body: Json, values: dict[str, str], depth: int = 0) -> Json:
    """``body`` with each placeholder string replaced by its value (they sit near the top: deep values are left alone)."""
    if isinstance(body, str):
        return values.get(body, body)
    if depth > 8:
        return body
    if isinstance(body, dict):
        return {key: _filled(value, values, depth + 1) for key, value in body.items()}
    if isinstance(body, list):
        return [_filled(value, values, depth + 1) for value in body]
    return body


def _with(base: st.SearchStrategy[Json], **fields: Json) -> st.SearchStrategy[Json]:
    return base.map(lambda body: {**body, **fields})


# delay stays 0: in sync mode a delayed hook would sleep in the test.
FAULTS = st.fixed_dictionaries(
    {},
    optional={
        "delay": st.sampled_from([0, 0.0]),
        "duplicate": st.booleans(),
        "out_of_order": st.booleans(),
        "tamper_signature": st.booleans(),
        "stale_time": st.sampled_from([0, 1, 315_360_000]) | st.integers(0, 315_360_000),
    },
)
_CHAT_REF = st.sampled_from([{"chat_id": CHAT}, {"conversation_id": CONVERSATION}])
_REACTIONS = strategies.react_requests(CONVERSATION, MSGID, USER)
BODIES: dict[str, dict[str, st.SearchStrategy[Json]]] = {
    "connect": _variants(strategies.connect_requests(ACCOUNT)),
    "disconnect": _variants(st.just({"account_id": ACCOUNT})),
    "create_chat": _variants(_with(strategies.create_chat_requests(), conversation_id=CONVERSATION)),
    "new_message": _variants(
        strategies.incoming_messages(conversation_id=CONVERSATION),
        lambda kinds: strategies.edge_incoming_messages(conversation_id=CONVERSATION, kinds=kinds),
    ),
    "import_message": _variants(
        strategies.outgoing_messages(SENDER, conversation_id=CONVERSATION),
        lambda kinds: strategies.edge_outgoing_messages(SENDER, conversation_id=CONVERSATION, kinds=kinds),
    ),
    "edit by id": _variants(strategies.reshaping_edits(message_id=MESSAGE)),
    "edit by msgid": _variants(strategies.reshaping_edits(msgid=MSGID)),
    "edit renaming": _variants(strategies.reshaping_edits(msgid=NEW_MSGID, message_id=MESSAGE)),
    "delivery_status": _variants(strategies.delivery_status_requests(MESSAGE)),
    "typing": _variants(strategies.typing_requests(CONVERSATION, USER)),
    "react by msgid": _variants(_REACTIONS),
    "react by id": _variants(_REACTIONS.map(lambda body: {**{k: v for k, v in body.items() if k != "msgid"}, "id": MESSAGE})),
    "operator_reply": _variants(
        st.tuples(
            st.fixed_dictionaries(
                {"scope_id": st.just(SCOPE), "message": strategies.operator_messages()},
                optional={"reply_to": st.just({"message_id": MESSAGE}), "faults": FAULTS},
            ),
            _CHAT_REF,
        ).map(lambda t: {**t[0], **t[1]})
    ),
    "operator_initiate": _variants(
        st.fixed_dictionaries(
            {
                "scope_id": st.just(SCOPE),
                "phone": st.from_regex(r"\+?[0-9]{5,15}", fullmatch=True),
                "message": strategies.operator_messages(),
            },
            optional={"name": st.text(min_size=1, max_size=20), "source": st.just({"external_id": "src-1"}), "faults": FAULTS},
        )
    ),
    "operator_typing": _variants(_CHAT_REF.map(lambda ref: {"scope_id": SCOPE, **ref})),
    "operator_react": _variants(
        st.fixed_dictionaries({"scope_id": st.just(SCOPE), "message_id": st.just(MESSAGE)}).flatmap(
            lambda body: st.sampled_from([{**body, "emoji": "👍"}, {**body, "emoji": "🔥"}, {**body, "type": "unreact"}])
        )
    ),
    "add_channel": _variants(
        st.fixed_dictionaries(
            {"id": uuids},
            optional={
                "secret": st.binary(min_size=20, max_size=20).map(bytes.hex),
                "name": st.text(min_size=1, max_size=30),
                "webhook_url": st.sampled_from([HOOK, REFUSED]) | st.none(),
                "hook_api_version": st.sampled_from(["v1", "v2"]),
                "strict": st.booleans(),
                "allowed_accounts": st.lists(uuids, max_size=2),
                "write_first": st.booleans(),
            },
        )
    ),
    "update_channel": _variants(
        st.fixed_dictionaries(
            {},
            optional={
                "secret": st.binary(min_size=20, max_size=20).map(bytes.hex) | st.none(),
                "name": st.text(min_size=1, max_size=30),
                "webhook_url": st.sampled_from([HOOK, REFUSED]) | st.none(),
                "hook_api_version": st.sampled_from(["v1", "v2"]),
                "strict": st.booleans(),
                "allowed_accounts": st.lists(st.just(ACCOUNT) | uuids, max_size=2),
                "write_first": st.booleans(),
            },
        ).map(lambda body: body or {"write_first": True})  # {} is refused as a whole, and leaves a defect nothing to break
    ),
    "add_account": _variants(
        st.fixed_dictionaries(
            {"name": st.text(max_size=20)},
            optional={
                "amojo_id": st.just(ACCOUNT) | uuids,
                "users": st.lists(
                    st.fixed_dictionaries({"name": st.text(min_size=1, max_size=20)}, optional={"amojo_id": uuids}), max_size=3
                ),
            },
        )
    ),
    "set_faults": _variants(st.fixed_dictionaries({"faults": FAULTS}, optional={"channel_id": st.just(CHANNEL) | uuids})),
    # amoCRM's REST API (ids that exist at run time are placeholders; a contact's, lead's or pipeline's is a number)
    "crm_pipelines": _variants(st.lists(st.fixed_dictionaries({"name": st.text(min_size=1, max_size=20)}), min_size=1, max_size=2)),
    "crm_sources": _variants(
        st.lists(
            st.fixed_dictionaries(
                {"name": st.text(min_size=1, max_size=20), "external_id": st.from_regex(r"[a-z0-9-]{1,40}", fullmatch=True)},
                optional={"pipeline_id": st.just(PIPELINE), "default": st.booleans(), "services": st.just([])},
            ),
            min_size=1,
            max_size=2,
        )
    ),
    "crm_leads": _variants(
        st.lists(
            st.fixed_dictionaries(
                {"name": st.text(max_size=30)},
                optional={
                    "price": st.integers(0, 10**9),
                    "status_id": st.sampled_from([142, 143]),
                    "_embedded": st.just({"contacts": [{"id": CONTACT}]}),
                },
            ),
            min_size=1,
            max_size=3,
        )
    ),
    "crm_update_lead": _variants(
        st.fixed_dictionaries({"id": st.just(LEAD)}, optional={"price": st.integers(0, 10**9), "name": st.text()})
    ),
    "crm_contacts": _variants(
        st.lists(
            st.fixed_dictionaries(
                {"name": st.text(max_size=30)},
                optional={
                    "custom_fields_values": st.lists(
                        st.fixed_dictionaries(
                            {
                                "field_code": st.sampled_from(["PHONE", "EMAIL"]),
                                "values": st.lists(st.fixed_dictionaries({"value": st.text(max_size=20)}), max_size=2),
                            }
                        ),
                        max_size=2,
                    )
                },
            ),
            min_size=1,
            max_size=2,
        )
    ),
    "crm_link_chat": _variants(st.just([{"chat_id": CHAT, "contact_id": CONTACT}])),
    "crm_accept": _variants(st.fixed_dictionaries({"status_id": st.sampled_from([142, 143])})),
    "crm_link_unsorted": _variants(st.just({"link": {"entity_id": LEAD, "entity_type": "leads"}})),
    "crm_close_talk": _variants(st.fixed_dictionaries({"force_close": st.booleans()})),
}
#: What a REST step does.
CRM_ACTIONS = ["pipelines", "sources", "update source", "delete source", "leads", "update lead", "contacts", "link chat"]
CRM_ACTIONS += ["accept", "decline", "link unsorted", "close talk", "oauth"]


def _answer(what: str, send: Callable[[], httpx.Response], context: str = "") -> httpx.Response:
    """``send()``'s answer; an exception the app lets out (in process) is the 500 a served fake answers."""
    try:
        return send()
    except Exception as exc:
        raise AssertionError(f"{what}: 500, the app raised {type(exc).__name__}: {exc}{context}") from exc


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
        # No REST rate limit: the machine reads everything after every step.
        self.config = Config(hook_api_version="v2", webhook_url=receiver.url, db=str(sqlite) if sqlite else None, crm_rate_limit=0)
        self.secrets = {self.config.channel_id: self.config.channel_secret}
        self.state: dict[str, Any] = {}
        self.accepted: list[str] = []
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
        """A scope, connected ones first: a disconnected scope answers 404 to everything (that is tried too)."""
        scopes = {s["id"]: s for s in self.scopes()}
        connected = [s for s in scopes if scopes[s]["connected"]]
        return scopes[data.draw(st.sampled_from(connected + [s for s in scopes if s not in connected]), label="scope_id")]

    def _connected_first(self) -> list[dict[str, Any]]:
        return sorted(self.scopes(), key=lambda s: not s["connected"])

    def pick_chat(self, data: st.DataObject) -> tuple[dict[str, Any], dict[str, Any]]:
        chats = {c["id"]: (s, c) for s in self._connected_first() for c in self.chats(s["id"])}
        return chats[data.draw(st.sampled_from(list(chats)), label="chat_id")]

    def pick_message(self, data: st.DataObject) -> tuple[dict[str, Any], dict[str, Any]]:
        messages = {m["id"]: (s, m) for s in self._connected_first() for m in self.messages(s["id"])}
        return messages[data.draw(st.sampled_from(list(messages)), label="message_id")]

    def conversation(self, data: st.DataObject, scope_id: str, *, new: bool | None = None) -> str:
        """An existing conversation of the scope, or a new one."""
        known = [c["conversation_id"] for c in self.chats(scope_id) if c["conversation_id"]]
        fresh = st.just(f"conv-{next(self.names)}")
        choice = fresh if new or not known else st.sampled_from(known) if new is False else st.sampled_from(known) | fresh
        conversation: str = data.draw(choice, label="conversation_id")
        return conversation

    # -- sending ------------------------------------------------------------------------------

    def body(self, data: st.DataObject, variant: str, kind: str, **values: str) -> Json:
        """A body of ``kind`` in ``variant``, its placeholders filled with ``values``."""
        drawn = data.draw(BODIES[kind][variant], label=kind)
        return _filled(drawn, {PLACEHOLDERS[name]: value for name, value in values.items()})

    def written(self, endpoint: str, send: Callable[[], httpx.Response], sent: bytes) -> httpx.Response:
        """No write gets a 5xx; every answer with a body is JSON."""
        self.tally.writes[endpoint] += 1
        response = _answer(endpoint, send, f"\nthe request: {sent[:2000]!r}")
        status = response.status_code
        assert status < 500, f"{endpoint} answered {status}: {response.text[:3000]}\nthe request: {sent[:2000]!r}"
        if status >= 400:
            self.tally.refused[endpoint] += 1
            assert isinstance(orjson.loads(response.content), dict), f"{endpoint}: a {status} without a JSON error body"
        else:
            self.accepted.append(f"{endpoint} → {status}: {sent[:600]!r}")
            if response.content:
                orjson.loads(response.content)
        assert not self.app.state.backend.server_errors, self.app.state.backend.server_errors
        return response

    def amojo(self, endpoint: str, channel_id: str, method: str, path: str, body: Json) -> httpx.Response:
        client = AmojoClient(self.http, channel_id, self.secrets[channel_id], now=self.clock.now)
        raw = strategies.json_bytes(body)
        return self.written(endpoint, lambda: client.request(method, path, raw=raw), raw)

    def control(self, endpoint: str, method: str, path: str, body: Json = None) -> httpx.Response:
        content = None if body is None else strategies.json_bytes(body)
        headers = {"Content-Type": "application/json"} if content is not None else {}
        sent = f"{method} /__mock__/{path} ".encode() + (content or b"")
        return self.written(endpoint, lambda: self.http.request(method, f"/__mock__/{path}", content=content, headers=headers), sent)

    # -- amojo's API --------------------------------------------------------------------------

    @initialize()
    def connect_the_demo_account(self) -> None:
        """Every run starts with a connected scope, so its steps go to chats and messages."""
        body = {"account_id": self.config.account_id, "hook_api_version": "v2"}
        assert self.amojo("connect", self.config.channel_id, "POST", f"{self.config.channel_id}/connect", body).status_code == 200

    def connect(self, data: st.DataObject, variant: str) -> None:
        channels = [c["id"] for c in self.state["channels"] if c["id"] in self.secrets]
        if not channels:
            return
        channel = data.draw(st.sampled_from(channels), label="channel_id")
        accounts = [a["id"] for a in self.state["accounts"]]
        account = data.draw(st.sampled_from(accounts) | uuids if accounts else uuids, label="account_id")
        self.amojo("connect", channel, "POST", f"{channel}/connect", self.body(data, variant, "connect", account=account))

    def disconnect(self, data: st.DataObject, variant: str) -> None:
        scope = self.pick_scope(data)
        body = self.body(data, variant, "disconnect", account=scope["account_id"])
        self.amojo("disconnect", scope["channel_id"], "DELETE", f"{scope['channel_id']}/disconnect", body)

    @precondition(has_scope)
    @rule(data=st.data(), variant=VARIANTS, new=st.booleans())
    def create_chat(self, data: st.DataObject, variant: str, new: bool) -> None:
        """Create a chat, or create one that exists again (idempotent on conversation_id)."""
        scope = self.pick_scope(data)
        body = self.body(data, variant, "create_chat", conversation=self.conversation(data, scope["id"], new=new))
        self.amojo("create_chat", scope["channel_id"], "POST", f"{scope['id']}/chats", body)

    @precondition(has_scope)
    @rule(data=st.data(), variant=VARIANTS, count=BATCH)
    def new_message(self, data: st.DataObject, variant: str, count: int) -> None:
        """A client's messages (a few in a row, as a chat goes): every type, silent or not, quoting or forwarding by id."""
        for _ in range(count):
            scope = self.pick_scope(data)
            body = self.body(data, variant, "new_message", conversation=self.conversation(data, scope["id"]))
            self._quote(data, scope["id"], body)
            self.amojo("new_message", scope["channel_id"], "POST", scope["id"], body)

    @precondition(has_scope)
    @rule(data=st.data(), variant=VARIANTS, count=BATCH)
    def import_message(self, data: st.DataObject, variant: str, count: int) -> None:
        """Outgoing messages imported as the channel's bot, a manager, or a CRM user the fake has not seen."""
        for _ in range(count):
            scope = self.pick_scope(data)
            channel = next(c for c in self.state["channels"] if c["id"] == scope["channel_id"])
            users = [u["id"] for a in self.state["accounts"] if a["id"] == scope["account_id"] for u in a["users"]]
            sender = data.draw(st.sampled_from([channel["bot"]["id"], *users[:1]]) | uuids, label="sender.ref_id")
            conversation = self.conversation(data, scope["id"])
            body = self.body(data, variant, "import_message", sender=sender, conversation=conversation)
            self.amojo("import_message", scope["channel_id"], "POST", scope["id"], body)

    def _quote(self, data: st.DataObject, scope_id: str, body: Json) -> None:
        """Now and then a quote or a forward of an earlier message, by amojo id or by msgid."""
        messages = self.messages(scope_id)
        payload = body.get("payload") if isinstance(body, dict) else None
        if not messages or not isinstance(payload, dict) or "reply_to" in payload or "forwards" in payload:
            return
        quote = data.draw(st.sampled_from(["none", "reply_to", "forward"]), label="quote")
        if quote == "none":
            return
        target = {m["id"]: m for m in messages}[data.draw(st.sampled_from([m["id"] for m in messages]), label="quoted")]
        reference = {"id": target["id"]} if target["msgid"] is None or data.draw(st.booleans()) else {"msgid": target["msgid"]}
        if quote == "reply_to":
            payload["reply_to"] = {"message": reference}
        else:
            payload["forwards"] = {"messages": [reference]}

    @precondition(has_message)
    @rule(data=st.data(), variant=VARIANTS, count=BATCH)
    def edit_message(self, data: st.DataObject, variant: str, count: int) -> None:
        """Messages edited into any type and shape (a caption added, a type changed, edge-case content)."""
        for _ in range(count):
            scope, message = self.pick_message(data)
            by = data.draw(st.sampled_from(["edit by id", "edit by msgid", "edit renaming"]), label="how")
            new_msgid = data.draw(st.sampled_from([message["msgid"] or "m-new", f"renamed-{next(self.names)}"]), label="new msgid")
            body = self.body(data, variant, by, message=message["id"], msgid=message["msgid"] or "m-none", new_msgid=new_msgid)
            self.amojo("edit_message", scope["channel_id"], "POST", scope["id"], body)

    @precondition(has_chat)
    @rule(data=st.data(), variant=VARIANTS, event=st.sampled_from(["typing", "react", "delivery_status"]))
    def client_event(self, data: st.DataObject, variant: str, event: str) -> None:
        """The client types, reacts to a message (or takes the reaction back), or a message's delivery status comes in."""
        if event == "typing" or not self.has_message():
            scope, chat = self.pick_chat(data)
            user = chat["client"]["client_id"] or chat["client"]["id"]
            body = self.body(data, variant, "typing", conversation=chat["conversation_id"] or chat["id"], user=user)
            self.amojo("typing", scope["channel_id"], "POST", f"{scope['id']}/typing", body)
            return
        scope, message = self.pick_message(data)
        if event == "delivery_status":
            body = self.body(data, variant, "delivery_status", message=message["id"])
            self.amojo("delivery_status", scope["channel_id"], "POST", f"{scope['id']}/{message['id']}/delivery_status", body)
            return
        chat = next(c for c in self.chats(scope["id"]) if c["id"] == message["chat_id"])
        kind = "react by msgid" if message["msgid"] and data.draw(st.booleans(), label="by msgid") else "react by id"
        values = {"conversation": chat["conversation_id"] or chat["id"], "user": chat["client"]["client_id"] or chat["client"]["id"]}
        body = self.body(data, variant, kind, message=message["id"], msgid=message["msgid"] or "m-none", **values)
        self.amojo("react", scope["channel_id"], "POST", f"{scope['id']}/react", body)

    # -- amoCRM's REST API ------------------------------------------------------------------------

    def crm_auth(self) -> dict[str, str]:
        """A bearer header of a ready integration (registered again after a reset or once the token expired)."""
        headers = {"Authorization": f"Bearer {getattr(self, '_token', '')}"}
        if self.http.get("/api/v4/account", headers=headers).status_code == 200:
            return headers
        created = self.control("add_integration", "POST", "integrations", {"redirect_uri": "https://integration.test/oauth"})
        client_id = created.json()["client_id"]
        self._integration = created.json()
        self._token = self.control("integration_token", "POST", f"integrations/{client_id}/token", {}).json()["access_token"]
        return {"Authorization": f"Bearer {self._token}"}

    def rest(self, endpoint: str, method: str, path: str, body: Json = None) -> httpx.Response:
        headers = {**self.crm_auth(), "Content-Type": "application/json"}
        content = None if body is None else strategies.json_bytes(body)
        sent = f"{method} {path} ".encode() + (content or b"")
        response = self.written(endpoint, lambda: self.http.request(method, path, content=content, headers=headers), sent)
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json", f"{endpoint}: {response.headers}"
        return response

    def crm(self) -> dict[str, Any]:
        return dict(self.state.get("crm", {}))

    @rule(data=st.data(), variant=VARIANTS, action=st.sampled_from(CRM_ACTIONS))
    def rest_write(self, data: st.DataObject, variant: str, action: str) -> None:
        """An integration writes through amoCRM's REST API: pipelines, sources, leads, contacts, chat links,
        incoming leads (accept, decline, link), talks, and the OAuth exchange."""
        crm = self.crm()
        account = next((a for a in crm.get("accounts", []) if a["amojo_id"] == self.config.account_id), None)
        pipelines = [p["id"] for p in account["pipelines"]] if account else [0]
        contacts = [c["id"] for c in self.state.get("contacts", [])] or [1]
        leads = [lead["id"] for lead in self.state.get("leads", [])] or [1]
        values: dict[str, Any] = {
            "pipeline": data.draw(st.sampled_from(pipelines), label="pipeline_id"),
            "contact": data.draw(st.sampled_from(contacts), label="contact_id"),
            "lead": data.draw(st.sampled_from(leads), label="lead_id"),
            "chat": data.draw(st.sampled_from([c["id"] for c in self.state.get("chats", [])] or ["no-chat"]), label="chat_id"),
        }
        sources = [x["id"] for x in crm.get("sources", [])] or [1]
        waiting = [u["uid"] for u in crm.get("unsorted", []) if u["state"] == "new"] or ["no-uid"]
        uid = data.draw(st.sampled_from(waiting), label="uid")
        if action in ("pipelines", "sources", "leads", "contacts", "link chat"):
            kind = {"link chat": "crm_link_chat"}.get(action, f"crm_{action}")
            path = {"pipelines": "leads/pipelines", "link chat": "contacts/chats"}.get(action, action)
            self.rest(f"crm {action}", "POST", f"/api/v4/{path}", self.body(data, variant, kind, **values))
        elif action == "update source":
            source = data.draw(st.sampled_from(sources), label="source_id")
            body = {"name": data.draw(st.text(max_size=10)), "default": data.draw(st.booleans())}
            self.rest("crm update source", "PATCH", f"/api/v4/sources/{source}", body)
        elif action == "delete source":
            self.rest("crm delete source", "DELETE", f"/api/v4/sources/{data.draw(st.sampled_from(sources))}")
        elif action == "update lead":
            self.rest("crm update lead", "PATCH", "/api/v4/leads", [self.body(data, variant, "crm_update_lead", **values)])
        elif action == "accept":
            self.rest("crm accept", "POST", f"/api/v4/leads/unsorted/{uid}/accept", self.body(data, variant, "crm_accept"))
        elif action == "decline":
            self.rest("crm decline", "DELETE", f"/api/v4/leads/unsorted/{uid}/decline")
        elif action == "link unsorted":
            self.rest(
                "crm link unsorted", "POST", f"/api/v4/leads/unsorted/{uid}/link", self.body(data, variant, "crm_link_unsorted", **values)
            )
        elif action == "close talk":
            talks = [t["id"] for t in crm.get("talks", [])] or [1]
            body = self.body(data, variant, "crm_close_talk")
            self.rest("crm close talk", "POST", f"/api/v4/talks/{data.draw(st.sampled_from(talks))}/close", body)
        else:
            self.oauth(data)

    def oauth(self, data: st.DataObject) -> None:
        """Install, exchange the code, refresh (sometimes with a used or made-up value)."""
        self.crm_auth()
        integration = self._integration
        install = self.control("install", "POST", f"integrations/{integration['client_id']}/install", {"deliver": False})
        code = install.json().get("code", "none") if install.status_code == 201 else "none"
        code = data.draw(st.sampled_from([code, code, "made-up"]), label="code")
        body = {
            "client_id": integration["client_id"],
            "client_secret": integration["client_secret"],
            "grant_type": "authorization_code",
            "code": code,
        }
        answer = self.written("oauth code", lambda: self.http.post("/oauth2/access_token", json=body), orjson.dumps(body))
        if answer.status_code == 200:
            refresh = {**body, "grant_type": "refresh_token", "refresh_token": answer.json()["refresh_token"]}
            refresh.pop("code")
            self.written("oauth refresh", lambda: self.http.post("/oauth2/access_token", json=refresh), orjson.dumps(refresh))

    def read_rest(self) -> None:
        """Every REST list and entity the state names answers 200 (or 204 for an empty list)."""
        headers = self.crm_auth()

        def get(path: str, *expected: int) -> None:
            response = self.read(path, lambda: self.http.get(path, headers=headers), *(expected or (200, 204)))
            if response.status_code == 200:
                orjson.loads(response.content)

        get("/api/v4/account?with=amojo_id,amojo_rights,users_groups", 200)
        get("/api/v4/users?with=amojo_id", 200)
        get("/api/v4/leads/pipelines", 200)
        for path in ("sources", "leads?with=contacts,source&limit=250", "contacts?with=leads&limit=250", "leads/unsorted?limit=250"):
            get(f"/api/v4/{path}")
        get("/api/v4/leads/unsorted/summary", 200)
        crm = self.crm()
        for talk in crm.get("talks", []):
            if talk["account_id"] == self.config.account_id:
                get(f"/api/v4/talks/{talk['id']}", 200)
        chats = [c["id"] for c in self.state["chats"]][:50]
        if chats:
            get("/api/v4/contacts/chats?" + "&".join(f"chat_id[]={c}" for c in chats))

    # -- the manager (operator actions) ---------------------------------------------------------

    @precondition(has_scope)
    @rule(data=st.data(), variant=VARIANTS, action=st.sampled_from(["reply", "initiate", "typing", "react"]))
    def manager(self, data: st.DataObject, variant: str, action: str) -> None:
        """A CRM manager replies (quoting a message or not), writes first, types or reacts; each sends its webhook."""
        if action == "initiate" or not self.has_chat():
            scope = self.pick_scope(data)
            self.control("operator_initiate", "POST", "operator/initiate", self.body(data, variant, "operator_initiate", scope=scope["id"]))
            return
        if action == "react" and self.has_message():
            scope, message = self.pick_message(data)
            body = self.body(data, variant, "operator_react", scope=scope["id"], message=message["id"])
            self.control("operator_react", "POST", "operator/react", body)
            return
        scope, chat = self.pick_chat(data)
        in_chat = [m["id"] for m in self.messages(scope["id"]) if m["chat_id"] == chat["id"]] or ["no-message"]
        quoted = data.draw(st.sampled_from(in_chat), label="quoted")
        values = {"scope": scope["id"], "chat": chat["id"], "conversation": chat["conversation_id"] or chat["id"], "message": quoted}
        endpoint = "operator_typing" if action == "typing" else "operator_reply"
        self.control(
            endpoint, "POST", f"operator/{action if action == 'typing' else 'reply'}", self.body(data, variant, endpoint, **values)
        )

    # -- set-up: connections, the control plane, the clock, restarts ---------------------------------

    @rule(data=st.data(), variant=VARIANTS, action=st.sampled_from(SETUP_ACTIONS))
    def setup(self, data: st.DataObject, variant: str, action: str) -> None:
        """Connect an account to a channel (again) or disconnect one; register or change a channel, register an account; set or
        clear webhook faults; move the clock; restart the fake on its state file; or reset everything."""
        channels = [c["id"] for c in self.state["channels"]]
        if action == "connect" or (action == "disconnect" and not self.has_scope()):
            self.connect(data, variant)
        elif action == "disconnect":
            self.disconnect(data, variant)
        elif action == "channel":
            self.add_channel(data, variant)
        elif action == "change channel":
            self.update_channel(data, variant)
        elif action == "account":
            accounts = [a["id"] for a in self.state["accounts"]] or ["none"]
            account = data.draw(st.sampled_from(accounts), label="account_id")
            self.control("add_account", "POST", "accounts", self.body(data, variant, "add_account", account=account))
        elif action == "faults":
            channel = data.draw(st.sampled_from(channels or ["none"]), label="channel_id")
            body = self.body(data, variant, "set_faults", channel=channel)
            self.control("set_faults", data.draw(st.sampled_from(["PUT", "POST"]), label="method"), "faults", body)
        elif action == "no faults":
            channel = data.draw(st.none() | st.sampled_from(channels) if channels else st.none(), label="channel_id")
            self.control("clear_faults", "DELETE", "faults" + (f"?channel_id={channel}" if channel else ""))
        elif action == "clock":
            seconds = data.draw(CLOCK_STEPS, label="seconds")
            self.clock.advance(seconds)
            self.accepted.append(f"the clock moved {seconds} s")
        elif action == "restart":
            self.restart()
        else:
            self.control("reset", "POST", "reset")

    def add_channel(self, data: st.DataObject, variant: str) -> None:
        """A channel with a hook URL that answers, one that refuses connections, or none; its secret given or generated."""
        body = self.body(data, variant, "add_channel", hook=self.receiver.url, refused=self.refused_url)
        if isinstance(body, dict) and isinstance(body.get("webhook_url"), str) and "127.0.0.1" not in body["webhook_url"]:
            body["webhook_url"] = self.refused_url  # a test never calls out of this machine
        response = self.control("add_channel", "POST", "channels", body)
        if response.status_code == 201:
            created = response.json()
            self.secrets[created["id"]] = created.get("secret") or body["secret"]

    def update_channel(self, data: st.DataObject, variant: str) -> None:
        """Change a channel while the fake runs: its hook URL, version, allow-list, write first, name, or its secret (rotated)."""
        channels = [c["id"] for c in self.state["channels"]] or ["none"]
        channel = data.draw(st.sampled_from(channels), label="channel_id")
        accounts = [a["id"] for a in self.state["accounts"]] or ["none"]
        account = data.draw(st.sampled_from(accounts), label="account_id")
        body = self.body(data, variant, "update_channel", hook=self.receiver.url, refused=self.refused_url, account=account)
        if isinstance(body, dict) and isinstance(body.get("webhook_url"), str) and "127.0.0.1" not in body["webhook_url"]:
            body["webhook_url"] = self.refused_url  # a test never calls out of this machine
        response = self.control("update_channel", "PATCH", f"channels/{channel}", body)
        if response.status_code == 200 and isinstance(body, dict) and "secret" in body:
            self.secrets[channel] = body["secret"] or response.json()["secret"]

    def restart(self) -> None:
        """Stop the fake and start a new one on the same state file: it holds exactly what the old one held.

        In memory there is no file: the fake goes on as it is.
        """
        if self.config.db is None:
            return
        before = state_snapshot(self.app.state.backend)
        self._close()
        self._open()
        self.accepted.append("a restart on the state file")
        assert self.app.state.store.diverged == 0, "a recorded change replayed differently"
        assert state_snapshot(self.app.state.backend) == before, "the restarted fake lost or changed acknowledged state"

    # -- the invariant: every read works -------------------------------------------------------

    def read(self, what: str, send: Callable[[], httpx.Response], *expected: int) -> httpx.Response:
        self.tally.reads += 1
        response = _answer(f"broken read {what}", send, self.since())
        assert response.status_code in (expected or (200,)), (
            f"broken read {what}: {response.status_code} {response.text[:3000]}{self.since()}"
        )
        return response

    def since(self) -> str:
        """The writes accepted since the last read of everything: one of them broke the read."""
        return "".join(["\nwrites accepted since the last full read:", *(f"\n  {w}" for w in self.accepted)])

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
        self.read_rest()
        self.read_console()
        self.tally.reads += 1
        try:
            events = _read_event_stream(self.app)
        except Exception as exc:
            raise AssertionError(f"broken read {UI}/events: the app raised {type(exc).__name__}: {exc}{self.since()}") from exc
        hello = events.split(b"\n\n", 1)[0].split(b"\n")
        assert hello[:2] == [b"retry: 500", b"event: hello"], events[:300]
        marks = orjson.loads(hello[2].removeprefix(b"data: "))
        assert set(marks) == {"state", "journal", "webhooks"} and all(isinstance(v, int) for v in marks.values())
        self.accepted.clear()

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


class SqliteInvariantMachine(InvariantMachine):
    """The same machine on a state file, which it first restarts on while still fresh."""

    @initialize()
    def restart_on_the_fresh_file(self) -> None:
        self.restart()


budget = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    derandomize=True,
    database=None,
    deadline=None,
    # Every step reads the whole fake: tens of requests, a page render among them.
    suppress_health_check=[HealthCheck.too_slow],
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

    base: type[InvariantMachine] = SqliteInvariantMachine if backend == "sqlite" else InvariantMachine

    class Machine(base):  # type: ignore[valid-type,misc]  # a base chosen at run time
        def __init__(self) -> None:
            sqlite = state_file.with_name(f"state-{next(files)}.sqlite") if backend == "sqlite" else None
            super().__init__(sqlite=sqlite, receiver=receiver, tally=tally)

    run_state_machine_as_test(Machine, settings=budget)
    record_property("requests", tally.total)
