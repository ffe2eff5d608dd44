"""The hypothesis strategies: valid bodies pass their schema and the fake; invalid ones are refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_amojo.testing import strategies
from mock_amojo.testing._sandbox import Sandbox, SandboxHost, SandboxSettings
from mock_amojo.wire._validation import load_schemas

SCHEMAS = load_schemas()
FAST = settings(max_examples=40, database=None, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

VALID: list[tuple[str, st.SearchStrategy[dict[str, Any]]]] = [
    ("connect.request.json", strategies.connect_requests()),
    ("create_chat.request.json", strategies.create_chat_requests()),
    ("message.request.json", strategies.incoming_messages()),
    ("message.request.json", strategies.outgoing_messages("00000000-0000-4000-8000-000000000001")),
    ("message.request.json", strategies.edit_messages(msgid="m-1")),
    ("delivery_status.request.json", strategies.delivery_status_requests()),
    ("typing.request.json", strategies.typing_requests()),
    ("react.request.json", strategies.react_requests()),
    ("webhook_v2_message.json", strategies.webhook_v2_messages()),
    ("webhook_v1_message.json", strategies.webhook_v1_messages()),
    ("webhook_v2_typing.json", strategies.webhook_v2_typing()),
    ("webhook_v2_reaction.json", strategies.webhook_v2_reactions()),
]
IDS = [f"{schema}-{n}" for n, (schema, _) in enumerate(VALID)]


@pytest.mark.parametrize(("schema", "strategy"), VALID, ids=IDS)
def test_valid_bodies_match_their_schema(schema: str, strategy: st.SearchStrategy[dict[str, Any]]) -> None:
    @FAST
    @given(strategy)
    def check(body: dict[str, Any]) -> None:
        assert SCHEMAS.errors(schema, body) == []

    check()


@pytest.mark.parametrize(("schema", "strategy"), VALID, ids=IDS)
def test_invalid_bodies_break_their_schema_where_they_say(schema: str, strategy: st.SearchStrategy[dict[str, Any]]) -> None:
    @FAST
    @given(strategies.invalid(strategy, schema))
    def check(case: strategies.Invalid) -> None:
        assert case.schema == schema and case.pointer.startswith("/") and case.mutation
        assert not SCHEMAS.is_valid(schema, case.body)

    check()


def test_every_message_type_is_generated() -> None:
    seen: set[str] = set()

    # Derandomized: whether 150 draws cover all nine types must not depend on the seed.
    @settings(max_examples=150, database=None, deadline=None, derandomize=True)
    @given(strategies.message_contents())
    def collect(content: dict[str, Any]) -> None:
        seen.add(content["type"])

    collect()
    assert seen == set(strategies.MESSAGE_TYPES)


@pytest.fixture(scope="module")
def host() -> Iterator[SandboxHost]:
    host = SandboxHost()
    yield host
    host.close()


def _fresh(host: SandboxHost) -> Sandbox:
    sandbox = host.open(SandboxSettings(inprocess=False))
    sandbox.connect()
    return sandbox


def test_the_fake_accepts_every_generated_incoming_message(host: SandboxHost) -> None:
    @FAST
    @given(strategies.incoming_messages())
    def check(body: dict[str, Any]) -> None:
        # A clean sandbox per example costs well under a millisecond.
        with _fresh(host) as sandbox:
            response = sandbox.client.send_message(body["payload"])
            assert response.status_code == 200, sandbox.explain_refusals()
            assert sandbox.messages[0]["message"]["type"] == body["payload"]["message"]["type"]

    check()


def test_the_fake_refuses_every_invalid_incoming_message_with_400(host: SandboxHost) -> None:
    @FAST
    @given(strategies.invalid(strategies.incoming_messages(), "message.request.json"))
    def check(case: strategies.Invalid) -> None:
        with _fresh(host) as sandbox:
            response = sandbox.client.request("POST", sandbox.scope_id or "", case.body)
            assert response.status_code == 400, (case, response.text)
            assert response.json()["error_type"] == "SCHEMA_VIOLATION"
            assert sandbox.messages == []

    check()


def test_manager_messages_match_the_operator_schema() -> None:
    @FAST
    @given(strategies.operator_messages())
    def check(message: dict[str, Any]) -> None:
        assert SCHEMAS.errors("operator_reply.request.json", {"scope_id": "s", "chat_id": "c", "message": message}) == []

    check()


def test_reshaping_edits_are_edit_message_bodies_of_every_type() -> None:
    seen: set[str] = set()

    @settings(max_examples=150, database=None, deadline=None, derandomize=True)
    @given(strategies.reshaping_edits(message_id="a-1"))
    def check(body: dict[str, Any]) -> None:
        assert body["event_type"] == "edit_message" and body["payload"]["id"] == "a-1"
        seen.add(body["payload"]["message"]["type"])

    check()
    assert seen == set(strategies.MESSAGE_TYPES)


@pytest.mark.parametrize("depth", strategies.EDGE_DEPTHS)
def test_nested_values_are_exactly_as_deep_as_asked(depth: int) -> None:
    value, levels = strategies.nested(depth), 0
    while isinstance(value, (dict, list)):
        value = value["nested"] if isinstance(value, dict) else value[0]
        levels += 1
    assert (levels, value) == (depth, "deep")


@pytest.mark.parametrize(
    "value",
    [strategies.nested(512), {"n": 2**64, "m": -(2**63) - 1}, {"s": "\ud800", "t": "\x00ё"}, [1956.0, -0.0, 5e-324]],
    ids=["deep", "beyond-64-bits", "lone-surrogate", "floats"],
)
def test_json_bytes_writes_what_orjson_cannot(value: Any) -> None:
    raw = strategies.json_bytes(value)
    raw.decode("utf-8")  # lone surrogates are escaped, never written as invalid UTF-8
    assert json.loads(raw) == value


@FAST
@given(strategies.edge_incoming_messages(conversation_id="c-1"))
def test_edge_case_messages_are_new_message_bodies_for_one_conversation(body: dict[str, Any]) -> None:
    payload = body["payload"]
    assert body["event_type"] == "new_message" and payload["conversation_id"] == "c-1"
    assert "timestamp" in payload and payload["message"]["type"] in strategies.MESSAGE_TYPES
    strategies.json_bytes(body)  # every edge case can be sent


def test_edge_cases_come_one_kind_at_a_time() -> None:
    @FAST
    @given(strategies.edge_message_contents(("picture",), kinds=("markup",)), strategies.edge_incoming_messages(kinds=("stamps",)))
    def check(content: dict[str, Any], body: dict[str, Any]) -> None:
        assert "markup" in content and content["type"] == "picture"
        rest = {k: v for k, v in body["payload"].items() if k not in ("timestamp", "msec_timestamp")}
        assert SCHEMAS.errors("message.request.json", {**body, "payload": {**rest, "timestamp": 1}}) == []  # the edge is in the stamps

    check()
    with pytest.raises(ValueError, match="edge case kinds"):
        strategies.edge_incoming_messages(kinds=("huge",))


def test_one_defect_reaches_keys_with_slashes_and_deep_values() -> None:
    body = {"a/b~c": {"x": 1}, "deep": strategies.nested(600)}

    @FAST
    @given(strategies.one_defect(st.just(body)), strategies.edge_cases(st.just(body)))
    def check(broken: dict[str, Any], edged: dict[str, Any]) -> None:
        assert broken != body or edged != body

    check()
