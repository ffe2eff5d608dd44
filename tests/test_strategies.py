"""The hypothesis strategies: valid bodies pass their schema and the fake; invalid ones are refused."""

from __future__ import annotations

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
