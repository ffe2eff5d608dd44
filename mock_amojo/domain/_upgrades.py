"""Upgrades of state files written in older formats: one function per step, applied in a chain.

:data:`UPGRADES` maps format *n* to the function that turns one record of format *n* into a
record of format *n + 1* (or None: the record meant nothing and is dropped).
:func:`upgrade_record` runs the chain up to :data:`mock_amojo.domain._events.FORMAT_VERSION`; the
store applies it to every record of an older file, in place, inside one transaction, after
copying the file aside (:mod:`mock_amojo.domain._store`).

An upgrade describes formats that are gone, so it never reads today's code: what it needs to
know about its formats is written out here and stays as it is. Changing the format is: bump
``FORMAT_VERSION``, write the next step here, test it with a file of the old format.

Format 1 (mock-amojo 0.1.0): a record is a Backend method call,
``{"method", "args", "kwargs", "tape", "failed"}``. Format 2: a named domain event,
``{"event", "data", "tape", "failed"}`` (:data:`mock_amojo.domain._events.EVENTS`).

>>> upgrade_record({"method": "typing", "args": ["s", {"conversation_id": "c", "sender": {"id": "u"}}],
...                 "kwargs": {}, "tape": [1.5], "failed": False}, 1)
{'event': 'typing_reported', 'data': {'scope_id': 's', 'conversation_id': 'c', 'sender': {'id': 'u'}}, 'tape': [1.5], 'failed': False}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._events import FORMAT_VERSION

__all__ = ["UPGRADES", "UnknownRecord", "upgrade_record"]

Record = dict[str, Any]


class UnknownRecord(ValueError):
    """A record its format cannot hold (a damaged file, or one not written by mock-amojo)."""


# -- format 1 -> 2 ------------------------------------------------------------------------

_REQUIRED = object()

#: Format 1's methods as 0.1.0 had them: how many parameters could be given by position, then
#: every parameter in order with its default.
_V1_METHODS: Mapping[str, tuple[int, tuple[tuple[str, Any], ...]]] = {
    "clear": (0, ()),
    "register_channel": (
        0,
        (
            ("id", None),
            ("secret", None),
            ("name", "mock-amojo channel"),
            ("webhook_url", None),
            ("hook_api_version", "v1"),
            ("strict", False),
            ("allowed_accounts", None),
            ("write_first", True),
            ("replace", False),
        ),
    ),
    "register_account": (0, (("amojo_id", None), ("name", None), ("users", None))),
    "connect": (2, (("channel_id", _REQUIRED), ("body", _REQUIRED))),
    "disconnect": (2, (("channel_id", _REQUIRED), ("body", _REQUIRED))),
    "create_chat": (2, (("scope_id", _REQUIRED), ("body", _REQUIRED))),
    "send_message": (2, (("scope_id", _REQUIRED), ("body", _REQUIRED))),
    "delivery_status": (3, (("scope_id", _REQUIRED), ("amojo_msgid", _REQUIRED), ("body", _REQUIRED))),
    "typing": (2, (("scope_id", _REQUIRED), ("body", _REQUIRED))),
    "react": (2, (("scope_id", _REQUIRED), ("body", _REQUIRED))),
    "operator_reply": (
        1,
        (
            ("scope_id", _REQUIRED),
            ("conversation_id", None),
            ("chat_id", None),
            ("message", _REQUIRED),
            ("user_id", None),
            ("reply_to", None),
        ),
    ),
    "operator_initiate": (
        1,
        (("scope_id", _REQUIRED), ("phone", _REQUIRED), ("message", _REQUIRED), ("name", None), ("user_id", None), ("source", None)),
    ),
    "operator_typing": (1, (("scope_id", _REQUIRED), ("conversation_id", None), ("chat_id", None), ("user_id", None))),
    "operator_react": (
        1,
        (("scope_id", _REQUIRED), ("message_id", _REQUIRED), ("emoji", _REQUIRED), ("type", "react"), ("user_id", None)),
    ),
}

#: Format 2's events of the methods whose parameters are their fields.
_V2_SAME_FIELDS = {
    "clear": "state_cleared",
    "register_channel": "channel_registered",
    "register_account": "account_registered",
    "operator_reply": "manager_replied",
    "operator_initiate": "manager_wrote_first",
    "operator_typing": "manager_typed",
    "operator_react": "manager_reacted",
}

_V2_NEW_MESSAGE = (
    "msgid",
    "conversation_id",
    "conversation_ref_id",
    "timestamp",
    "msec_timestamp",
    "sender",
    "message",
    "silent",
    "source",
    "reply_to",
    "forwards",
)

#: Format 2's events of the methods that took an amojo request: event, the parameter its
#: request's fields go with, and those fields.
_V2_FROM_REQUEST: Mapping[str, tuple[str, str, tuple[str, ...]]] = {
    "connect": ("account_connected", "channel_id", ("account_id", "title", "hook_api_version", "is_time_window_disabled")),
    "disconnect": ("account_disconnected", "channel_id", ("account_id",)),
    "create_chat": ("chat_created", "scope_id", ("conversation_id", "user", "source")),
    "typing": ("typing_reported", "scope_id", ("conversation_id", "conversation_ref_id", "sender", "duration_ms")),
    "react": ("reaction_reported", "scope_id", ("conversation_id", "conversation_ref_id", "id", "msgid", "user", "type", "emoji")),
}


def _pick(request: Any, names: tuple[str, ...]) -> Record:
    if not isinstance(request, Mapping):
        return {}
    return {name: request[name] for name in names if name in request}


def _bind_v1(method: str, args: list[Any], kwargs: dict[str, Any]) -> Record | None:
    """A format-1 call's arguments by parameter name, defaults filled; None if 0.1.0 could not have run it."""
    positional, parameters = _V1_METHODS[method]
    names = [name for name, _ in parameters]
    if len(args) > positional or not set(kwargs) <= set(names) or set(kwargs) & set(names[: len(args)]):
        return None
    bound = {name: default for name, default in parameters}
    bound.update(zip(names, args, strict=False))
    bound.update(kwargs)
    if any(value is _REQUIRED for value in bound.values()):
        return None
    return bound


def _event_v2(method: str, bound: Record) -> tuple[str, Record]:
    if method in _V2_SAME_FIELDS:
        return _V2_SAME_FIELDS[method], bound
    if method in _V2_FROM_REQUEST:
        event, parameter, fields = _V2_FROM_REQUEST[method]
        return event, {parameter: bound[parameter], **_pick(bound["body"], fields)}
    if method == "delivery_status":
        status = _pick(bound["body"], ("delivery_status", "status_code", "error_code", "error"))
        return "delivery_status_reported", {"scope_id": bound["scope_id"], "message_id": bound["amojo_msgid"], **status}
    # send_message: what 0.1.0 did with the request decides which event it was.
    body = bound["body"] if isinstance(bound["body"], Mapping) else {}
    payload = body.get("payload")
    if body.get("event_type") == "edit_message":
        return "message_edited", {"scope_id": bound["scope_id"], **_pick(payload, ("id", "msgid", "conversation_id", "message"))}
    if isinstance(payload, Mapping) and payload.get("receiver") is not None:
        return "message_imported", {"scope_id": bound["scope_id"], **_pick(payload, (*_V2_NEW_MESSAGE, "receiver"))}
    return "message_received", {"scope_id": bound["scope_id"], **_pick(payload, _V2_NEW_MESSAGE)}


def _v1_to_v2(record: Record) -> Record | None:
    """A Backend method call -> the domain event it was."""
    method = record.get("method")
    if not isinstance(method, str) or method not in _V1_METHODS:
        raise UnknownRecord(f"format 1 has no change {method!r}")
    bound = _bind_v1(method, list(record.get("args") or ()), dict(record.get("kwargs") or {}))
    if bound is None:
        if record.get("failed"):
            return None  # a call with wrong arguments: it raised before changing anything
        raise UnknownRecord(f"format 1 change {method!r} has arguments 0.1.0 could not take")
    event, data = _event_v2(method, bound)
    return {"event": event, "data": data, "tape": list(record.get("tape") or ()), "failed": bool(record.get("failed"))}


# -- the chain ------------------------------------------------------------------------------

#: Format n -> the function that turns one of its records into format n + 1.
UPGRADES: Mapping[int, Callable[[Record], Record | None]] = {1: _v1_to_v2}


def upgrade_record(record: Record, version: int) -> Record | None:
    """``record`` (of format ``version``) in the current format, or None when it is to be dropped."""
    upgraded: Record | None = record
    for step in range(version, FORMAT_VERSION):
        if upgraded is None:
            break
        upgraded = UPGRADES[step](upgraded)
    return upgraded
