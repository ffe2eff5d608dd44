"""Hypothesis strategies for amojo bodies: valid ones of every kind, and subtly invalid ones.

For property tests of an integration (and of the fake). Valid strategies build bodies the
way real clients send them — every message type, optional fields present or absent,
explicit ``null`` for absent optionals, non-ASCII and emoji text — and each one validates
against its schema in ``schemas/``. :func:`invalid` turns any of them into bodies that break
exactly one rule (a missing required field, a string where amojo wants an int, an
over-long ``source.external_id``, an unknown message type …), each rejected by the schema
and paired with the JSON pointer of the break.

>>> from hypothesis import given, settings
>>> from mock_amojo.wire._validation import load_schemas
>>> @settings(max_examples=20, database=None)
... @given(incoming_messages())
... def check(body):
...     assert load_schemas().is_valid("message.request.json", body)
>>> check()

Strategies that need ids a test already has (a scope's bot, a chat) take them as arguments. They live in
private modules by theme (building blocks, valid bodies, invalid bodies, edge values, edge bodies);
this module is where to import them from.
"""

from __future__ import annotations

from .._lazy import exports
from ._strategies_base import HOOK_MESSAGE_TYPES, MESSAGE_TYPES, message_contents
from ._strategies_bodies import (
    connect_requests,
    create_chat_requests,
    delivery_status_requests,
    edit_messages,
    incoming_messages,
    outgoing_messages,
    react_requests,
    typing_requests,
    webhook_v1_messages,
    webhook_v2_messages,
    webhook_v2_reactions,
    webhook_v2_typing,
)
from ._strategies_edge_bodies import (
    CONTENT_EDGES,
    MESSAGE_EDGES,
    edge_cases,
    edge_incoming_messages,
    edge_message_contents,
    edge_outgoing_messages,
    json_bytes,
    operator_messages,
    reshaping_edits,
)
from ._strategies_edge_values import (
    EDGE_DEPTHS,
    EDGE_FLOATS,
    EDGE_INTEGERS,
    EDGE_TEXTS,
    ODD_MARKUPS,
    deep_values,
    edge_integers,
    edge_numbers,
    edge_texts,
    json_values,
    markups,
    message_templates,
    nested,
)
from ._strategies_invalid import Invalid, invalid, one_defect

__all__ = [
    "CONTENT_EDGES",
    "EDGE_DEPTHS",
    "EDGE_FLOATS",
    "EDGE_INTEGERS",
    "EDGE_TEXTS",
    "HOOK_MESSAGE_TYPES",
    "MESSAGE_EDGES",
    "MESSAGE_TYPES",
    "ODD_MARKUPS",
    "Invalid",
    "connect_requests",
    "create_chat_requests",
    "deep_values",
    "delivery_status_requests",
    "edge_cases",
    "edge_incoming_messages",
    "edge_integers",
    "edge_message_contents",
    "edge_numbers",
    "edge_outgoing_messages",
    "edge_texts",
    "edit_messages",
    "incoming_messages",
    "invalid",
    "json_bytes",
    "json_values",
    "markups",
    "message_contents",
    "message_templates",
    "nested",
    "one_defect",
    "operator_messages",
    "outgoing_messages",
    "react_requests",
    "reshaping_edits",
    "typing_requests",
    "webhook_v1_messages",
    "webhook_v2_messages",
    "webhook_v2_reactions",
    "webhook_v2_typing",
]

# The building blocks (ids, names, users, …) stay reachable here, as in 0.1.0, without being advertised.
__getattr__, __dir__ = exports(
    __name__,
    dict.fromkeys(
        ("Body", "emails", "emoji", "external_ids", "ids", "names", "phones", "profiles", "texts", "timestamps", "urls", "users", "uuids"),
        "_strategies_base",
    ),
)
