"""Requests are parsed once into typed values, and a value's JSON parses back into the same value.

The durable log records each request as its value's JSON and replays it through the same parse,
so ``parse(value.as_json()) == value`` for every body a client may send is what keeps a
``--db`` file meaning what it meant.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_amojo.domain import Backend
from mock_amojo.http._handlers import Handlers
from mock_amojo.testing import strategies
from mock_amojo.wire import (
    Content,
    EditMessage,
    NewMessage,
    Party,
    StatusReport,
    Text,
    parse_connect,
    parse_content,
    parse_create_chat,
    parse_delivery_status,
    parse_history_page,
    parse_react,
    parse_send_message,
    parse_typing,
)
from mock_amojo.wire._endpoints import ENDPOINTS
from mock_amojo.wire._limits import lone_surrogate
from mock_amojo.wire._validation import load_schemas

SCHEMAS = load_schemas()

BODIES: list[tuple[str, st.SearchStrategy[Any], Callable[[Mapping[str, Any]], Any]]] = [
    ("connect.request.json", strategies.connect_requests(), parse_connect),
    ("create_chat.request.json", strategies.create_chat_requests(), parse_create_chat),
    ("message.request.json", strategies.incoming_messages(), parse_send_message),
    ("message.request.json", strategies.edge_incoming_messages(), parse_send_message),
    ("message.request.json", strategies.outgoing_messages("bot-1"), parse_send_message),
    ("message.request.json", strategies.edit_messages(), parse_send_message),
    ("message.request.json", strategies.reshaping_edits(), parse_send_message),
    ("delivery_status.request.json", strategies.delivery_status_requests(), parse_delivery_status),
    ("typing.request.json", strategies.typing_requests(), parse_typing),
    ("react.request.json", strategies.react_requests(), parse_react),
]


def _body(value: Any) -> dict[str, Any]:
    """What a send_message value is recorded as, wrapped as the endpoint's body again."""
    if isinstance(value, NewMessage):
        return {"event_type": "new_message", "payload": value.as_json()}
    if isinstance(value, EditMessage):
        return {"event_type": "edit_message", "payload": value.as_json()}
    return dict(value.as_json())


@pytest.mark.parametrize(("schema", "bodies", "parse"), BODIES, ids=[f"{s}:{i}" for i, (s, _, _) in enumerate(BODIES)])
def test_a_recorded_request_parses_back_into_the_same_value(
    schema: str, bodies: st.SearchStrategy[Any], parse: Callable[[Mapping[str, Any]], Any]
) -> None:
    @given(body=bodies)
    @settings(max_examples=150, deadline=None)
    def check(body: Any) -> None:
        if lone_surrogate(body) is not None:
            # The edge strategies send these as \u escapes, which the JSON parser refuses: only a Python
            # caller can pass one, and the schema check refuses it (naming the field) rather than choke.
            assert not SCHEMAS.is_valid(schema, body)
            return
        if not SCHEMAS.is_valid(schema, body):
            return
        value = parse(body)
        recorded = _body(value)
        assert SCHEMAS.is_valid(schema, recorded), recorded
        assert parse(recorded) == value

    check()


def test_a_new_message_is_typed_from_its_body() -> None:
    value = parse_send_message(
        {
            "event_type": "new_message",
            "account_id": None,
            "payload": {
                "timestamp": 1639604761,
                "msec_timestamp": None,
                "msgid": "m-1",
                "conversation_id": "c-1",
                "conversation_ref_id": None,
                "sender": {"id": "u-1", "name": "Ann", "ref_id": None, "profile": {"phone": "+7 916", "email": None}, "unknown": 1},
                "message": {"type": "picture", "media": "https://e.example/p.jpg", "file_name": "p.jpg", "file_size": 5, "meta": {"k": 1}},
                "silent": None,
                "source": {"external_id": "shop"},
                "reply_to": {"message": {"msgid": "m-0"}},
            },
        }
    )
    assert isinstance(value, NewMessage)
    assert value == NewMessage(
        msgid="m-1",
        conversation_id="c-1",
        timestamp=1639604761,
        sender=Party(id="u-1", name="Ann", phone="+7 916"),
        message=Content({"type": "picture", "media": "https://e.example/p.jpg", "file_name": "p.jpg", "file_size": 5, "meta": {"k": 1}}),
        source="shop",
        reply_to=value.reply_to,
    )
    assert value.reply_to is not None and (value.reply_to.id, value.reply_to.msgid) == (None, "m-0")


def test_an_edit_takes_its_delivery_status_out_of_the_content() -> None:
    value = parse_send_message(
        {
            "event_type": "edit_message",
            "payload": {"msgid": "m-1", "message": {"type": "text", "text": "hi", "delivery_status": {"status_code": 2}}},
        }
    )
    assert value == EditMessage(Text("hi"), msgid="m-1", status=StatusReport(2))
    assert value.as_json() == {"msgid": "m-1", "message": {"type": "text", "text": "hi", "delivery_status": {"status_code": 2}}}
    # A status whose fields are all null still reports one (an unknown status), an empty one reports none.
    unknown = parse_send_message(
        {"event_type": "edit_message", "payload": {"msgid": "m", "message": {"type": "text", "delivery_status": {"status_code": None}}}}
    )
    empty = parse_send_message(
        {"event_type": "edit_message", "payload": {"msgid": "m", "message": {"type": "text", "delivery_status": {}}}}
    )
    assert isinstance(unknown, EditMessage) and unknown.status == StatusReport(None)
    assert isinstance(empty, EditMessage) and empty.status is None


@pytest.mark.parametrize(
    "content",
    [
        {"type": "text", "text": "hi"},
        {"text": "hi", "type": "text"},
        {"type": "location", "meta": 1, "location": {"lon": 1, "lat": 2, "alt": 3}},
        {"type": "text", "text": 5, "thumbnail": ["not", "a", "url"]},
        {"extra": {"a": 1}, "type": "sticker", "order": "x", "media": "https://e.example/s.webp"},
    ],
)
def test_a_content_gives_back_its_json_as_sent_in_the_same_key_order(content: dict[str, Any]) -> None:
    assert list(parse_content(content).as_json().items()) == list(content.items())


def test_the_delivery_status_code_has_two_names() -> None:
    assert parse_delivery_status({"delivery_status": 2}) == parse_delivery_status({"status_code": 2}) == StatusReport(2)
    assert parse_delivery_status({"delivery_status": None, "status_code": 1}).code == 1


def test_a_history_page_is_capped_at_fifty() -> None:
    assert parse_history_page(None, None) == parse_history_page("", "500") == parse_history_page("0", "50")
    assert parse_history_page("3", "7").offset == 3


def test_every_endpoint_with_a_body_parses_it_into_the_value_its_handler_takes() -> None:
    handlers = {endpoint.name: endpoint.action for endpoint in Handlers(Backend()).endpoints()}
    for spec in ENDPOINTS:
        if spec.schema is None:
            continue
        assert spec.parse is not None, spec.name
        returned = inspect.signature(spec.parse).return_annotation
        taken = list(inspect.signature(handlers[spec.name]).parameters.values())[1].annotation
        assert returned == taken, (spec.name, returned, taken)


#: Control-plane settings, not amojo requests: an account's CRM users as the control plane lists them.
_NOT_REQUESTS = {("register_account", "users")}


def test_no_state_change_takes_request_json() -> None:
    for name, method in inspect.getmembers(Backend, callable):
        if not hasattr(method, "__mutation__"):
            continue
        for parameter in inspect.signature(method).parameters.values():
            annotation = str(parameter.annotation)
            if (name, parameter.name) not in _NOT_REQUESTS:
                assert not any(word in annotation for word in ("dict", "Mapping", "Any")), (name, parameter.name, annotation)
