"""Fuzzing the HTTP surface from the fake's own schemas: no 5xx, only documented statuses, JSON errors.

Every endpoint gets three streams of correctly *signed* requests: bodies shaped by its
request schema (mostly valid), the same with one defect (mostly invalid), and raw bytes.
python-jsonschema is the oracle: a body it rejects must be a 400 ``SCHEMA_VIOLATION``
(or ``INVALID_JSON``), a body it accepts must never be refused for its schema, and every
answer is a documented status whose error body matches ``schemas/error.response.json``.

Ids are drawn partly from a live scope (existing conversations, messages, users), so valid
bodies reach the state engine and not only 404s. Seeded and bounded; ``MOCK_AMOJO_TEST_EXAMPLES``
raises the per-stream budget for a nightly run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract_tests.expect import schema_errors
from mock_amojo import Config, create_app
from mock_amojo.testing import strategies
from mock_amojo.testing._client import AmojoClient
from mock_amojo.testing._inprocess import SyncASGITransport

from .schema_bodies import body_strategy, mutated

EXAMPLES = int(os.environ.get("MOCK_AMOJO_TEST_EXAMPLES", "0")) or 100
budget = settings(
    max_examples=EXAMPLES, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)


@dataclass
class World:
    """An in-process fake with one connected scope holding a few chats and messages."""

    http: httpx.Client
    amojo: AmojoClient
    config: Config
    known: dict[str, list[str]] = field(default_factory=dict)
    cases: int = 0

    @property
    def backend(self) -> Any:
        return self.http._transport.app.state.backend  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    config = Config()
    with httpx.Client(transport=SyncASGITransport(create_app(config)), base_url="http://amojo") as http:
        amojo = AmojoClient(http, config.channel_id, config.channel_secret)
        assert amojo.connect(config.account_id, hook_api_version="v2").status_code == 200
        known: dict[str, list[str]] = {k: [] for k in ("conversation", "user", "chat", "amojo_user", "msgid", "amojo_msg")}
        for n in range(3):
            conversation, user = f"fz-conv-{n}", f"fz-user-{n}"
            for m in range(2):
                msgid = f"fz-msg-{n}-{m}"
                payload: dict[str, Any] = {
                    "timestamp": 1_700_000_000 + m,
                    "msgid": msgid,
                    "conversation_id": conversation,
                    "sender": {"id": user, "name": f"Fuzz {n}"},
                    "message": {"type": "text", "text": f"hello {m}"},
                }
                sent = amojo.send_message(payload)
                assert sent.status_code == 200, sent.text
                known["msgid"].append(msgid)
                known["amojo_msg"].append(sent.json()["new_message"]["msgid"])
            chat = amojo.create_chat(conversation, {"id": user, "name": f"Fuzz {n}"}).json()
            known["conversation"].append(conversation)
            known["user"].append(user)
            known["chat"].append(chat["id"])
            known["amojo_user"].append(chat["user"]["id"])
        yield World(http, amojo, config, known)


def _hints(world: World) -> dict[str, st.SearchStrategy[Any]]:
    k = world.known
    return {
        "account_id": st.just(world.config.account_id),
        "conversation_id": st.sampled_from(k["conversation"]),
        "conversation_ref_id": st.sampled_from(k["chat"]),
        "msgid": st.sampled_from(k["msgid"]),
        "id": st.sampled_from(k["amojo_msg"] + k["user"]),
        "ref_id": st.sampled_from(k["amojo_user"]),
    }


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    schema: str | None
    statuses: frozenset[int]
    response_schema: str | None
    path: Callable[[World, st.DataObject], str]


def _scope(world: World) -> str:
    return f"{world.config.channel_id}_{world.config.account_id}"


def _message_path(world: World, data: st.DataObject) -> str:
    msgid = data.draw(st.one_of(st.sampled_from(world.known["amojo_msg"]), st.uuids().map(str)))
    return f"{_scope(world)}/{msgid}/delivery_status"


ENDPOINTS = [
    Endpoint(
        "connect",
        "POST",
        "connect.request.json",
        frozenset({200, 400, 403, 404}),
        "connect.response.json",
        lambda w, d: f"{w.config.channel_id}/connect",
    ),
    Endpoint(
        "disconnect",
        "DELETE",
        "disconnect.request.json",
        frozenset({200, 400, 403, 404}),
        None,
        lambda w, d: f"{w.config.channel_id}/disconnect",
    ),
    Endpoint(
        "create_chat",
        "POST",
        "create_chat.request.json",
        frozenset({200, 400, 403, 404}),
        "create_chat.response.json",
        lambda w, d: f"{_scope(w)}/chats",
    ),
    Endpoint(
        "send_message", "POST", "message.request.json", frozenset({200, 400, 403, 404}), "message.response.json", lambda w, d: _scope(w)
    ),
    Endpoint("delivery_status", "POST", "delivery_status.request.json", frozenset({200, 400, 403, 404}), None, _message_path),
    Endpoint("typing", "POST", "typing.request.json", frozenset({204, 400, 403, 404}), None, lambda w, d: f"{_scope(w)}/typing"),
    Endpoint("react", "POST", "react.request.json", frozenset({200, 400, 403, 404}), None, lambda w, d: f"{_scope(w)}/react"),
]
BY_NAME = {e.name: e for e in ENDPOINTS}
HISTORY_STATUSES = frozenset({200, 204, 400, 403, 404})


def _reconnect(world: World) -> None:
    # A fuzzed disconnect may have disconnected the scope; reconnect so every example hits the state engine.
    scope = world.backend.find_scope(_scope(world))
    if scope is None or not scope.connected:
        world.amojo.connect(world.config.account_id, hook_api_version="v2")


def _check(world: World, endpoint: Endpoint, body: bytes, response: httpx.Response, schema_valid: bool | None) -> None:
    world.cases += 1
    described = f"{endpoint.name} {body[:300]!r} -> {response.status_code} {response.text[:400]}"
    assert response.status_code < 500, described
    assert response.status_code in endpoint.statuses, described
    assert not world.backend.server_errors, described
    if response.status_code >= 400:
        error = response.json()
        assert not schema_errors("error.response.json", error), described
        assert error["error_code"] == response.status_code, described
        if schema_valid is True:
            assert error["error_type"] != "SCHEMA_VIOLATION", described
        elif schema_valid is False:
            assert (response.status_code, error["error_type"]) in ((400, "SCHEMA_VIOLATION"), (400, "INVALID_JSON")), described
    else:
        assert schema_valid is not False, f"accepted a body the schema rejects: {described}"
        if response.status_code == 204:
            assert response.content == b"", described
        elif endpoint.response_schema is not None:
            assert not schema_errors(endpoint.response_schema, response.json()), described
        elif endpoint.name != "history":
            assert response.content == b"", described


def _run_within_budget(world: World, run: Callable[[], None]) -> None:
    """Run one stream and check it generated most of its budget (a strategy that filters everything away would pass vacuously)."""
    before = world.cases
    run()
    budget_size: int = run._hypothesis_internal_use_settings.max_examples  # type: ignore[attr-defined]
    assert world.cases - before >= budget_size // 2, (world.cases - before, budget_size)


def _send(world: World, endpoint: Endpoint, data: st.DataObject, raw: bytes) -> httpx.Response:
    return world.amojo.request(endpoint.method, endpoint.path(world, data), raw=raw)


def _fuzz_bodies(world: World, endpoint: Endpoint, *, mutate: bool) -> None:
    """Send generated bodies (each broken in one place when ``mutate``); the oracle and the fake must agree."""
    schema = endpoint.schema
    assert schema is not None
    bodies = body_strategy(schema, _hints(world))

    @budget
    @given(body=mutated(bodies) if mutate else bodies, data=st.data())
    def run(body: Any, data: st.DataObject) -> None:
        _reconnect(world)
        raw = orjson.dumps(body)
        _check(world, endpoint, raw, _send(world, endpoint, data, raw), not schema_errors(schema, body))

    _run_within_budget(world, run)


@pytest.mark.parametrize("name", [e.name for e in ENDPOINTS])
def test_schema_shaped_bodies(world: World, name: str) -> None:
    """Mostly-valid bodies: valid ones are never refused for their schema; none is a 5xx."""
    _fuzz_bodies(world, BY_NAME[name], mutate=False)


@pytest.mark.parametrize("name", [e.name for e in ENDPOINTS])
def test_bodies_with_one_defect(world: World, name: str) -> None:
    """Each body broken in one place: the oracle's verdict and the fake's agree."""
    _fuzz_bodies(world, BY_NAME[name], mutate=True)


@pytest.mark.parametrize("name", [e.name for e in ENDPOINTS])
def test_raw_bytes(world: World, name: str) -> None:
    """Arbitrary bytes (broken JSON, invalid UTF-8, JSON of the wrong type): a 400 with a JSON error, never a 5xx."""
    endpoint = BY_NAME[name]

    @budget
    @given(raw=st.one_of(st.binary(max_size=300), st.text(max_size=100).map(str.encode)), data=st.data())
    def run(raw: bytes, data: st.DataObject) -> None:
        _reconnect(world)
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            verdict: bool | None = False
        else:
            verdict = not schema_errors(endpoint.schema or "", parsed)
        _check(world, endpoint, raw, _send(world, endpoint, data, raw), verdict)

    _run_within_budget(world, run)


def _realistic(world: World, name: str) -> st.SearchStrategy[Any]:
    """The plugin's hand-written strategies (mock_amojo.testing.strategies), aimed at this world's ids."""
    k = world.known
    pick = st.sampled_from
    if name == "connect":
        return strategies.connect_requests(world.config.account_id)
    if name == "disconnect":
        return st.one_of(st.just(world.config.account_id), st.uuids().map(str)).map(lambda account: {"account_id": account})
    if name == "create_chat":
        return strategies.create_chat_requests()
    if name == "send_message":
        return pick(k["conversation"]).flatmap(lambda c: strategies.incoming_messages(conversation_id=c)) | pick(k["msgid"]).flatmap(
            lambda m: strategies.edit_messages(msgid=m)
        )
    if name == "delivery_status":
        return strategies.delivery_status_requests()
    if name == "typing":
        return st.tuples(pick(k["conversation"]), pick(k["user"])).flatmap(lambda cu: strategies.typing_requests(cu[0], cu[1]))
    return st.tuples(pick(k["conversation"]), pick(k["msgid"]), pick(k["user"])).flatmap(lambda cmu: strategies.react_requests(*cmu))


realistic_budget = settings(budget, max_examples=max(EXAMPLES // 2, 1))


@pytest.mark.parametrize("name", [e.name for e in ENDPOINTS])
def test_realistic_bodies(world: World, name: str) -> None:
    """Bodies as real clients send them (mock_amojo.testing.strategies): never refused for their schema, never a 5xx."""
    endpoint = BY_NAME[name]

    @realistic_budget
    @given(body=_realistic(world, name), data=st.data())
    def run(body: Any, data: st.DataObject) -> None:
        _reconnect(world)
        raw = orjson.dumps(body)
        _check(world, endpoint, raw, _send(world, endpoint, data, raw), not schema_errors(endpoint.schema or "", body))

    _run_within_budget(world, run)


@pytest.mark.parametrize("name", [e.name for e in ENDPOINTS])
def test_one_break_bodies_are_refused_where_they_break(world: World, name: str) -> None:
    """strategies.invalid(): each body breaks one rule; the 400 points at the break (or at its parent/child)."""
    endpoint = BY_NAME[name]
    assert endpoint.schema is not None

    @realistic_budget
    @given(case=strategies.invalid(_realistic(world, name), endpoint.schema), data=st.data())
    def run(case: strategies.Invalid, data: st.DataObject) -> None:
        _reconnect(world)
        raw = orjson.dumps(case.body)
        response = _send(world, endpoint, data, raw)
        _check(world, endpoint, raw, response, False)
        pointer = response.json()["detail"]["pointer"].rstrip("/")
        reported = [e["pointer"].rstrip("/") for e in response.json()["detail"]["errors"]] + [pointer]
        assert any(case.pointer.startswith(p) or p.startswith(case.pointer) for p in reported), (case.pointer, case.mutation, reported)

    _run_within_budget(world, run)


def test_history_queries(world: World) -> None:
    """History with arbitrary offset/limit strings and chat ids: 200/204/400/404 only, errors in JSON."""
    endpoint = Endpoint("history", "GET", None, HISTORY_STATUSES, "history.response.json", lambda w, d: "")
    query_values = st.one_of(st.integers(min_value=-5, max_value=120).map(str), st.text(max_size=8))

    @budget
    @given(
        chat=st.one_of(
            st.sampled_from(world.known["chat"]), st.text(st.characters(min_codepoint=0x30, max_codepoint=0x7A), min_size=1, max_size=40)
        ),
        params=st.dictionaries(st.sampled_from(["offset", "limit"]), query_values),
        body=st.sampled_from([b"", b"[]", b"{}"]),
    )
    def run(chat: str, params: dict[str, str], body: bytes) -> None:
        _reconnect(world)
        response = world.amojo.request("GET", f"{_scope(world)}/chats/{chat}/history", raw=body, params=params)
        _check(world, endpoint, body, response, None)
        if response.status_code == 200:
            assert 1 <= len(response.json()["messages"]) <= 50

    _run_within_budget(world, run)
