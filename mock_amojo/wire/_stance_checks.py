"""The stance rules a request body alone decides, one function per endpoint, run after the schema check.

The schemas accept the loosest shape any source documents (``schemas/*.json``); these checks fire the
stance (:mod:`._stances`) of each rule the body breaks. Rules that need the state (an unknown
``sender.ref_id``, a write-first answer) fire in the domain. :func:`body_checks` picks, once per
:class:`~._stances.Stances`, the checks whose rules are not all ``off``: a request pays for a check only
when one of its rules can fire.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..errors import InvalidReference, SchemaViolation
from ._stances import Stances

__all__ = ["BodyCheck", "body_checks"]

#: A check of one endpoint's schema-valid body: (stances, path params, body) -> fires rules, returns nothing.
BodyCheck = Callable[[Stances, Mapping[str, str], Any], None]

_MESSAGE_SCHEMA = "message.request.json"
_FILE_TYPES = frozenset({"file", "video", "picture"})
_MEDIA_TYPES = frozenset({"audio", "voice", "sticker"})


def check_new_message(stances: Stances, params: Mapping[str, str], data: Any) -> None:
    """msec_timestamp_absent, empty_text, file_fields_absent, media_absent, reply_to_flat (new_message only: edits are partial)."""
    if data["event_type"] != "new_message":
        return
    payload = data["payload"]
    if payload.get("msec_timestamp") is None:
        stances.fire(
            "msec_timestamp_absent",
            "payload.msec_timestamp is absent; the fake uses timestamp * 1000",
            SchemaViolation(_MESSAGE_SCHEMA, "/payload/msec_timestamp", "required", "msec_timestamp is required", None),
        )
    message = payload["message"]
    kind = message["type"]
    if kind == "text":
        if message.get("text") == "":
            stances.fire(
                "empty_text",
                "message.text is empty on a text message",
                SchemaViolation(_MESSAGE_SCHEMA, "/payload/message/text", "minLength", "a text message needs a non-empty text", ""),
            )
    elif kind in _FILE_TYPES:
        for name in ("file_name", "file_size"):
            if message.get(name) is None:
                stances.fire(
                    "file_fields_absent",
                    f"message.{name} is absent on a {kind} message",
                    SchemaViolation(_MESSAGE_SCHEMA, f"/payload/message/{name}", "required", f"{name} is required for {kind}", None),
                )
    elif kind in _MEDIA_TYPES and not message.get("media"):
        stances.fire(
            "media_absent",
            f"message.media is absent on a {kind} message" + (" (sticker_id only)" if message.get("sticker_id") else ""),
            SchemaViolation(_MESSAGE_SCHEMA, "/payload/message/media", "required", f"media is required for {kind}", None),
        )
    reply_to = payload.get("reply_to")
    if reply_to is not None and reply_to.get("message") is None:
        stances.fire(
            "reply_to_flat",
            "reply_to is Kommo's flat quoted message, not reply_to.message",
            SchemaViolation(_MESSAGE_SCHEMA, "/payload/reply_to/message", "required", "reply_to needs message {id | msgid | …}", None),
        )


def check_delivery_status(stances: Stances, params: Mapping[str, str], data: Any) -> None:
    """delivery_status_string, delivery_status_msgid_mismatch."""
    for name in ("delivery_status", "status_code", "error_code"):
        value = data.get(name)
        if value.__class__ is str:
            stances.fire(
                "delivery_status_string",
                f"{name} {value!r} is a string (Kommo's OpenAPI); read as the integer {value}",
                SchemaViolation("delivery_status.request.json", f"/{name}", "type", f"{value!r} is not of type 'integer'", value),
            )
    msgid = data.get("msgid")
    if msgid is not None and msgid != params["msgid"]:
        stances.fire(
            "delivery_status_msgid_mismatch",
            f"body msgid {msgid!r} is not the URL's {params['msgid']!r}; the URL's is used",
            InvalidReference(
                f"Body msgid {msgid!r} differs from the msgid in the URL {params['msgid']!r}.",
                hint="Send the same amojo message id in the path and in the body (or leave msgid out of the body).",
                detail={"pointer": "/msgid", "value": msgid},
            ),
        )


def check_create_chat(stances: Stances, params: Mapping[str, str], data: Any) -> None:
    """create_chat_ref_id_only."""
    user = data["user"]
    if user.get("id") is None:
        stances.fire(
            "create_chat_ref_id_only",
            "user has ref_id but no id: the chat is created for the user ref_id names",
            SchemaViolation("create_chat.request.json", "/user/id", "required", "user.id is required", None),
        )


_CHECKS: dict[str, tuple[BodyCheck, tuple[str, ...]]] = {
    "send_message": (
        check_new_message,
        ("msec_timestamp_absent", "empty_text", "file_fields_absent", "media_absent", "reply_to_flat"),
    ),
    "delivery_status": (check_delivery_status, ("delivery_status_string", "delivery_status_msgid_mismatch")),
    "create_chat": (check_create_chat, ("create_chat_ref_id_only",)),
}


def body_checks(stances: Stances) -> dict[str, BodyCheck]:
    """The check each endpoint runs under ``stances`` (absent: none of its rules can fire)."""
    return {endpoint: check for endpoint, (check, rules) in _CHECKS.items() if stances.any_on(*rules)}
