"""Fuzzing the operator control plane from its schemas: no 5xx, the oracle's verdict, valid hook bodies.

Bodies are shaped by ``schemas/operator_*.request.json`` with ids drawn from a live scope
(mostly valid), then broken in one place (mostly invalid). python-jsonschema is the oracle:
a body it rejects must be a 400 ``SCHEMA_VIOLATION``, one it accepts is never refused for
its schema, and every hook the action produces must match its webhook schema — so every
message shape a manager can send becomes a valid Webhook v2.0 body.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract_tests.expect import schema_errors
from mock_amojo import Config, create_app
from mock_amojo.testing._client import AmojoClient
from mock_amojo.testing._inprocess import SyncASGITransport
from mock_amojo.webhooks import Delivery
from mock_amojo.wire._validation import load_schemas

from .schema_bodies import body_strategy, mutated

SCHEMAS = load_schemas()
EXAMPLES = int(os.environ.get("MOCK_AMOJO_TEST_EXAMPLES", "0")) or 50
budget = settings(
    max_examples=EXAMPLES, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)

#: Control-plane path, schema and success status of each operator action.
ACTIONS = {
    "reply": ("operator_reply.request.json", 201),
    "initiate": ("operator_initiate.request.json", 201),
    "typing": ("operator_typing.request.json", 200),
    "react": ("operator_react.request.json", 200),
}
HOOK_SCHEMAS = {"message": "webhook_v2_message.json", "typing": "webhook_v2_typing.json", "reaction": "webhook_v2_reaction.json"}
REFUSALS = {
    (400, "INVALID_REFERENCE"),
    (404, "CHAT_NOT_FOUND"),
    (404, "MESSAGE_NOT_FOUND"),
    (404, "USER_NOT_FOUND"),
    (404, "SCOPE_NOT_FOUND"),
}


@dataclass
class World:
    http: httpx.Client
    scope_id: str
    known: dict[str, list[str]]
    hooks: list[Delivery] = field(default_factory=list)

    @property
    def app(self) -> Any:
        return self.http._transport.app  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    # No webhook_url: every hook is built, signed and recorded (skipped), and the listener sees it — no sleeping on delay faults.
    config = Config()
    app = create_app(config, webhook_mode="sync")
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://amojo") as http:
        amojo = AmojoClient(http, config.channel_id, config.channel_secret)
        assert amojo.connect(config.account_id, hook_api_version="v2").status_code == 200
        known: dict[str, list[str]] = {"conversation": [], "chat": [], "message": []}
        for n in range(3):
            chat = amojo.create_chat(f"op-conv-{n}", {"id": f"op-user-{n}", "name": "Ann", "profile": {"phone": "+1 415 742 8548"}}).json()
            sent = amojo.send_message(
                {
                    "timestamp": 1_700_000_000,
                    "msgid": f"op-m-{n}",
                    "conversation_id": f"op-conv-{n}",
                    "sender": {"id": f"op-user-{n}", "name": "Ann"},
                    "message": {"type": "text", "text": "hi"},
                }
            )
            known["conversation"].append(f"op-conv-{n}")
            known["chat"].append(chat["id"])
            known["message"].append(sent.json()["new_message"]["msgid"])
        known["user"] = [u.id for u in next(a for a in app.state.backend.snapshot().accounts if a.id == config.account_id).users]
        built = World(http, f"{config.channel_id}_{config.account_id}", known)
        app.state.webhooks.add_listener(built.hooks.append)
        yield built


URLS = st.sampled_from(["https://cdn.example/a.jpg", "http://127.0.0.1:9/x.pdf", "https://example.com/p?q=1&x=/y"])
TEXTS = st.text(min_size=1, max_size=40)


@st.composite
def operator_messages(draw: st.DrawFn) -> dict[str, Any]:
    """Valid manager messages of every type, with optional markup and template (the schema's conditionals satisfied)."""
    kind = draw(st.sampled_from(["text", "picture", "file", "video", "voice", "audio", "sticker", "location", "contact"]))
    message: dict[str, Any] = {"type": kind}
    if kind == "text" or draw(st.booleans()):
        message["text"] = draw(TEXTS)
    if kind in ("picture", "file", "video", "voice", "audio", "sticker"):
        message["media"] = draw(URLS)
    if kind in ("picture", "file", "video"):
        message["file_name"] = draw(TEXTS)
        message["file_size"] = draw(st.integers(min_value=0, max_value=2**40))
    if kind in ("picture", "video") and draw(st.booleans()):
        message["thumbnail"] = draw(URLS)
    if kind == "location":
        coordinate = st.floats(min_value=-180, max_value=180, allow_nan=False)
        message["location"] = {"lon": draw(coordinate), "lat": draw(coordinate)}
    if kind == "contact":
        message["contact"] = {"name": draw(TEXTS), "phone": draw(st.from_regex(r"\+?[0-9]{5,15}", fullmatch=True))}
    if draw(st.booleans()):
        button = st.fixed_dictionaries({"text": TEXTS}, optional={"url": URLS})
        message["markup"] = {"mode": "inline", "buttons": draw(st.lists(st.lists(button, min_size=1, max_size=3), min_size=1, max_size=3))}
    if draw(st.booleans()):
        params = st.lists(st.fixed_dictionaries({"key": TEXTS, "value": TEXTS}), max_size=3)
        message["template"] = {"id": draw(st.integers(0, 10**6)), "content": draw(TEXTS), "params": draw(params)}
    if draw(st.booleans()):
        message["media_group_id"] = draw(TEXTS)
    return message


def _hints(world: World) -> dict[str, st.SearchStrategy[Any]]:
    k = world.known
    return {
        "message": operator_messages(),
        "emoji": st.sampled_from(["👍", "😍", "🔥"]),
        "phone": st.integers(min_value=10**6, max_value=10**14).map(lambda n: f"+{n}"),
        "scope_id": st.just(world.scope_id),
        "conversation_id": st.sampled_from(k["conversation"]),
        "chat_id": st.sampled_from(k["chat"]),
        "message_id": st.sampled_from(k["message"]),
        "user_id": st.sampled_from(k["user"]),
    }


def _check(world: World, action: str, body: Any, response: httpx.Response) -> None:
    schema, success = ACTIONS[action]
    valid = not schema_errors(schema, body)
    described = f"{action} {orjson.dumps(body)[:300]!r} -> {response.status_code} {response.text[:400]}"
    assert response.status_code < 500, described
    assert not world.app.state.backend.server_errors, described
    if response.status_code >= 400:
        error = response.json()
        assert not schema_errors("error.response.json", error), described
        if valid:
            assert (response.status_code, error["error_type"]) in REFUSALS | {(403, "WRITE_FIRST_DISABLED")}, described
        else:
            assert (response.status_code, error["error_type"]) == (400, "SCHEMA_VIOLATION"), described
        return
    assert response.status_code == success, described
    assert valid, f"accepted a body the schema rejects: {described}"
    delivery = response.json()["delivery"]
    (hook,) = [d for d in world.hooks if d.id == delivery["id"]]
    assert not schema_errors(HOOK_SCHEMAS[hook.kind], hook.json()), described
    assert SCHEMAS.is_valid(HOOK_SCHEMAS[hook.kind], hook.json()), described


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_schema_shaped_operator_bodies(world: World, action: str) -> None:
    """Mostly-valid bodies: accepted ones produce hooks matching their webhook schema."""
    bodies = body_strategy(ACTIONS[action][0], _hints(world))

    @budget
    @given(body=bodies)
    def run(body: Any) -> None:
        _check(world, action, body, world.http.post(f"/__mock__/operator/{action}", content=orjson.dumps(body)))

    run()


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_operator_bodies_with_one_defect(world: World, action: str) -> None:
    """Each body broken in one place: the oracle's verdict and the fake's agree, never a 5xx."""
    bodies = mutated(body_strategy(ACTIONS[action][0], _hints(world)))

    @budget
    @given(body=bodies)
    def run(body: Any) -> None:
        _check(world, action, body, world.http.post(f"/__mock__/operator/{action}", content=orjson.dumps(body)))

    run()
