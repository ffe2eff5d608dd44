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

Strategies that need ids a test already has (a scope's bot, a chat) take them as arguments.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from hypothesis import strategies as st

from ..wire._validation import load_schemas

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

#: Message types an integration may send (amojo-api.md §3.4).
MESSAGE_TYPES = ("text", "contact", "file", "video", "picture", "voice", "audio", "sticker", "location")
#: Message types a manager's reply hook carries (amojo-api.md §4.1).
HOOK_MESSAGE_TYPES = ("text", "file", "video", "picture", "voice", "audio", "sticker")
_MEDIA_TYPES = ("file", "video", "picture", "voice", "audio", "sticker")
_SIZED_TYPES = ("file", "video", "picture")
_TIMED_TYPES = ("video", "audio", "voice")

Body = dict[str, Any]

# -- building blocks ----------------------------------------------------------------------

_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-"
ids = st.text(_ID_ALPHABET, min_size=1, max_size=24)
uuids = st.uuids().map(str)
# Names and text as people write them: Cyrillic, emoji, quotes and slashes (which PHP escapes).
_human_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from('Привет 👍😍 "/\\ ё'),
    min_size=1,
    max_size=60,
)
names = _human_text.filter(str.strip)
texts = _human_text
timestamps = st.integers(min_value=1_500_000_000, max_value=2_000_000_000)
phones = st.from_regex(r"\+?7 ?\(?9\d{2}\)? ?\d{3}-?\d{2}-?\d{2}", fullmatch=True)
emails = st.from_regex(r"[a-z]{1,10}@[a-z]{1,10}\.(ru|com)", fullmatch=True)
urls = st.builds(lambda host, path: f"https://{host}.example/{path}", st.from_regex(r"[a-z]{3,10}", fullmatch=True), ids)
external_ids = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=40)
emoji = st.sampled_from(["👍", "😍", "❤️", "😂", "🔥", "🙏"])


def _optional(strategy: st.SearchStrategy[Any], *, null: bool = True) -> st.SearchStrategy[Any]:
    """Absent, explicit null (as PHP/JS clients send) or a value — absent is a missing key."""
    choices = [st.just(_ABSENT), strategy]
    if null:
        choices.append(st.none())
    return st.one_of(*choices)


class _Absent:
    def __repr__(self) -> str:
        return "<absent>"


_ABSENT = _Absent()


def _object(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Body]:
    """A dict whose fields drawing ``_ABSENT`` are left out."""
    return st.fixed_dictionaries(fields).map(lambda d: {k: v for k, v in d.items() if v is not _ABSENT})


def profiles() -> st.SearchStrategy[Body]:
    return _object(phone=_optional(phones), email=_optional(emails))


def users(*, with_ref_id: bool = False) -> st.SearchStrategy[Body]:
    """A client as create-chat and incoming messages carry it (``id`` + ``name``, profile optional)."""
    return _object(
        id=ids,
        name=names,
        ref_id=_optional(uuids) if with_ref_id else st.just(_ABSENT),
        avatar=_optional(urls),
        profile=_optional(profiles()),
        profile_link=_optional(urls),
    )


# -- message content ----------------------------------------------------------------------


def message_contents(types: tuple[str, ...] = MESSAGE_TYPES) -> st.SearchStrategy[Body]:
    """``payload.message`` of a new message, one of ``types``, with exactly the fields each type needs."""
    return st.sampled_from(types).flatmap(_content_of)


def _content_of(kind: str) -> st.SearchStrategy[Body]:
    fields: dict[str, st.SearchStrategy[Any]] = {"type": st.just(kind)}
    if kind == "text":
        fields["text"] = texts
        fields["callback_data"] = _optional(ids)
    else:
        fields["text"] = _optional(texts | st.just(""))
    if kind in _MEDIA_TYPES:
        fields["media"] = urls
    if kind in _SIZED_TYPES:
        fields["file_name"] = st.builds(lambda stem, ext: f"{stem}.{ext}", ids, st.sampled_from(["jpg", "pdf", "mp4", "png"]))
        fields["file_size"] = st.integers(min_value=0, max_value=50 * 1024 * 1024)
    if kind in _TIMED_TYPES:
        fields["media_duration"] = _optional(st.integers(min_value=0, max_value=3600))
    if kind == "sticker":
        fields["sticker_id"] = _optional(ids)
    if kind == "location":
        fields["location"] = st.fixed_dictionaries(
            {"lon": st.floats(min_value=-180, max_value=180), "lat": st.floats(min_value=-90, max_value=90)}
        )
    if kind == "contact":
        fields["contact"] = st.fixed_dictionaries({"name": names, "phone": phones})
    return _object(**fields)


# -- amojo API requests ---------------------------------------------------------------------


def connect_requests(account_id: str | None = None) -> st.SearchStrategy[Body]:
    """Bodies of ``POST /{channel_id}/connect``."""
    return _object(
        account_id=st.just(account_id) if account_id else uuids,
        hook_api_version=_optional(st.sampled_from(["v1", "v2"])),
        title=_optional(names),
        is_time_window_disabled=_optional(st.booleans()),
    )


def create_chat_requests() -> st.SearchStrategy[Body]:
    """Bodies of ``POST /{scope_id}/chats``."""
    return _object(conversation_id=ids, user=users(), source=_optional(st.fixed_dictionaries({"external_id": external_ids}), null=False))


def _inline_embedded() -> st.SearchStrategy[Body]:
    """A quoted/forwarded message given in full (so no earlier message has to exist)."""
    return st.tuples(message_contents(("text", "location", "contact")), timestamps, st.integers(0, 999), names).map(
        lambda t: {**t[0], "timestamp": t[1], "msec_timestamp": t[1] * 1000 + t[2], "sender": {"name": t[3]}}
    )


def incoming_messages(*, conversation_id: str | None = None, types: tuple[str, ...] = MESSAGE_TYPES) -> st.SearchStrategy[Body]:
    """``new_message`` bodies from a client (sender only): every type, silent or not, with quotes and forwards."""
    return st.tuples(
        timestamps,
        st.integers(0, 999),
        _object(
            msgid=ids,
            conversation_id=st.just(conversation_id) if conversation_id else ids,
            sender=users(),
            message=message_contents(types),
            silent=_optional(st.booleans()),
            source=_optional(st.fixed_dictionaries({"external_id": external_ids}), null=False),
            reply_to=_optional(st.fixed_dictionaries({"message": _inline_embedded()}), null=False),
            forwards=_optional(st.fixed_dictionaries({"messages": st.lists(_inline_embedded(), min_size=1, max_size=1)}), null=False),
        ),
    ).map(_stamped)


def _stamped(parts: tuple[int, int, Body]) -> Body:
    timestamp, msec, payload = parts
    return {"event_type": "new_message", "payload": {"timestamp": timestamp, "msec_timestamp": timestamp * 1000 + msec, **payload}}


def outgoing_messages(sender_ref_id: str, *, conversation_id: str | None = None) -> st.SearchStrategy[Body]:
    """``new_message`` bodies importing a manager's or the bot's message (``sender.ref_id`` + ``receiver``)."""
    return st.tuples(
        timestamps,
        st.integers(0, 999),
        _object(
            msgid=ids,
            conversation_id=st.just(conversation_id) if conversation_id else ids,
            sender=st.fixed_dictionaries({"ref_id": st.just(sender_ref_id)}, optional={"name": names}),
            receiver=users(),
            message=message_contents(),
            silent=_optional(st.booleans()),
        ),
    ).map(_stamped)


def edit_messages(*, msgid: str | None = None, message_id: str | None = None) -> st.SearchStrategy[Body]:
    """``edit_message`` bodies naming a message by the integration's ``msgid`` and/or amojo's ``id``."""
    if msgid is None and message_id is None:
        msgid = "m-1"
    return _object(
        id=st.just(message_id) if message_id else st.just(_ABSENT),
        msgid=st.just(msgid) if msgid else st.just(_ABSENT),
        message=st.one_of(
            _object(type=st.just("text"), text=texts),
            _object(
                type=st.sampled_from(MESSAGE_TYPES),
                delivery_status=st.fixed_dictionaries({"status_code": st.sampled_from([1, 2])}),
            ),
        ),
    ).map(lambda payload: {"event_type": "edit_message", "payload": payload})


def delivery_status_requests(msgid: str | None = None) -> st.SearchStrategy[Body]:
    """Bodies of ``POST /{scope_id}/{msgid}/delivery_status``: delivered, read, or an error with its code."""
    ok = _object(msgid=st.just(msgid) if msgid else ids, delivery_status=st.sampled_from([1, 2]), error_code=_optional(st.none()))
    failed = st.builds(
        lambda code, text, mid: {
            "msgid": mid,
            "delivery_status": -1,
            "error_code": code,
            **({"error": text} if code == 905 or text else {}),
        },
        st.sampled_from([901, 902, 903, 904, 905]),
        texts,
        st.just(msgid) if msgid else ids,
    )
    return ok | failed


def typing_requests(conversation_id: str | None = None, sender_id: str | None = None) -> st.SearchStrategy[Body]:
    """Bodies of ``POST /{scope_id}/typing``."""
    return _object(
        conversation_id=st.just(conversation_id) if conversation_id else ids,
        sender=st.fixed_dictionaries({"id": st.just(sender_id) if sender_id else ids}),
        duration_ms=_optional(st.integers(min_value=0, max_value=60_000)),
    )


def react_requests(conversation_id: str | None = None, msgid: str | None = None, user_id: str | None = None) -> st.SearchStrategy[Body]:
    """Bodies of ``POST /{scope_id}/react``: react with an emoji, or unreact."""
    base = {
        "conversation_id": st.just(conversation_id) if conversation_id else ids,
        "msgid": st.just(msgid) if msgid else ids,
        "user": st.fixed_dictionaries({"id": st.just(user_id) if user_id else ids}),
    }
    return _object(**base, type=st.just("react"), emoji=emoji) | _object(**base, type=st.just("unreact"))


# -- webhooks amojo sends ---------------------------------------------------------------------


def _conversation(write_first: bool) -> st.SearchStrategy[Body]:
    if write_first:
        return st.fixed_dictionaries({"id": uuids})
    return st.fixed_dictionaries({"id": uuids, "client_id": ids})


def _hook_content() -> st.SearchStrategy[Body]:
    def content(kind: str) -> st.SearchStrategy[Body]:
        media = kind != "text"
        fields: dict[str, st.SearchStrategy[Any]] = {
            "id": uuids,
            "type": st.just(kind),
            "text": texts if kind == "text" else (texts | st.just("")),
            "tag": st.just(""),
            "media": urls if media else st.just(""),
            "thumbnail": urls if kind in ("picture", "video") else st.just(""),
            "file_name": st.builds(lambda s: f"{s}.jpg", ids) if media else st.just(""),
            "file_size": st.integers(0, 10**7) if media else st.just(0),
        }
        if kind == "text":
            buttons = st.lists(
                st.lists(_object(text=names, url=_optional(urls, null=False)), min_size=1, max_size=3), min_size=1, max_size=3
            )
            fields["markup"] = _optional(st.fixed_dictionaries({"mode": st.just("inline"), "buttons": buttons}), null=True)
        return _object(**fields)

    return st.sampled_from(HOOK_MESSAGE_TYPES).flatmap(content)


def webhook_v2_messages(*, account_id: str | None = None, write_first: bool | None = None) -> st.SearchStrategy[Body]:
    """Webhook v2.0 message bodies (a manager's reply; ``write_first=True``: a chat started from the CRM)."""

    def build(first: bool) -> st.SearchStrategy[Body]:
        receiver = _object(
            id=uuids,
            phone=phones.map(lambda p: "".join(c for c in p if c.isdigit())) | st.just(""),
            email=emails | st.just(""),
            client_id=st.just(_ABSENT) if first else ids,
        )
        inner = st.tuples(timestamps, st.integers(0, 999)).flatmap(
            lambda t: _object(
                receiver=receiver,
                sender=st.fixed_dictionaries({"id": uuids}),
                conversation=_conversation(first),
                source=_optional(st.fixed_dictionaries({"external_id": external_ids}), null=False),
                timestamp=st.just(t[0]),
                msec_timestamp=st.just(t[0] * 1000 + t[1]),
                message=_hook_content(),
            )
        )
        return _object(account_id=st.just(account_id) if account_id else uuids, time=timestamps, message=inner)

    return (st.just(write_first) if write_first is not None else st.booleans()).flatmap(build)


def webhook_v1_messages() -> st.SearchStrategy[Body]:
    """Deprecated v1 message hook bodies (flat; integration ids only)."""
    return st.sampled_from(["text", "file", "video", "picture"]).flatmap(
        lambda kind: _object(
            receiver=ids,
            conversation_id=ids,
            type=st.just(kind),
            text=texts if kind == "text" else st.just(""),
            media=st.just("") if kind == "text" else urls,
            thumbnail=st.just(""),
            file_name=st.just("") if kind == "text" else st.builds(lambda s: f"{s}.pdf", ids),
            file_size=st.just(0) if kind == "text" else st.integers(0, 10**7),
            msec_timestamp=timestamps.map(lambda t: t * 1000),
        )
    )


def webhook_v2_typing(*, account_id: str | None = None) -> st.SearchStrategy[Body]:
    """Typing hook bodies (``expired_at`` = start + 5 s)."""
    return timestamps.flatmap(
        lambda now: _object(
            account_id=st.just(account_id) if account_id else uuids,
            time=st.just(now),
            action=st.fixed_dictionaries(
                {
                    "typing": _object(
                        user=st.fixed_dictionaries({"id": uuids}),
                        conversation=st.booleans().flatmap(_conversation),
                        expired_at=st.just(now + 5),
                    )
                }
            ),
        )
    )


def webhook_v2_reactions(*, account_id: str | None = None) -> st.SearchStrategy[Body]:
    """Reaction hook bodies, react (with emoji) or unreact (without)."""

    def reaction(kind: str) -> st.SearchStrategy[Body]:
        return _object(
            msgid=uuids,
            user=st.fixed_dictionaries({"id": uuids}),
            conversation=st.booleans().flatmap(_conversation),
            type=st.just(kind),
            emoji=emoji if kind == "react" else st.just(_ABSENT),
        )

    return _object(
        account_id=st.just(account_id) if account_id else uuids,
        time=timestamps,
        action=st.fixed_dictionaries({"reaction": st.sampled_from(["react", "unreact"]).flatmap(reaction)}),
    )


# -- subtly invalid bodies ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Invalid:
    """A body that breaks one rule: ``pointer`` names where, ``mutation`` says how."""

    body: Body
    schema: str
    pointer: str
    mutation: str


def _paths(node: Any, pointer: str = "") -> list[tuple[str, Any]]:
    found = [(pointer, node)]
    if isinstance(node, dict):
        for key, value in node.items():
            # JSON pointer escaping (RFC 6901): a key may hold "/" or "~".
            found += _paths(value, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, f"{pointer}/{index}")
    return found


def _set(body: Body, pointer: str, value: Any, *, delete: bool = False) -> Body:
    """``body`` with the value at ``pointer`` replaced (or deleted); only the containers on the way are copied.

    Copying only those keeps the rest shared, and deep values (hundreds of levels) out of a recursive copy.
    """
    parts = [part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:]]

    def rebuilt(node: Any, level: int) -> Any:
        copied: Any = list(node) if isinstance(node, list) else dict(node)
        key: Any = int(parts[level]) if isinstance(node, list) else parts[level]
        if level < len(parts) - 1:
            copied[key] = rebuilt(node[key], level + 1)
        elif delete:
            del copied[key]
        else:
            copied[key] = value
        return copied

    result: Body = rebuilt(body, 0)
    return result


def _mutations(value: Any) -> list[tuple[str, Callable[[Any], Any]]]:
    """Ways a value goes subtly wrong, as real clients get it wrong."""
    if isinstance(value, bool):
        return [("a boolean sent as the string 'true'/'false'", lambda v: str(v).lower())]
    if isinstance(value, int):
        return [
            ("an integer sent as a string (amojo types strictly)", str),
            ("an integer sent as a float", lambda v: v + 0.5),
        ]
    if isinstance(value, float):
        return [("a number sent as a string", str)]
    if isinstance(value, str):
        return [
            ("a string sent as a number", lambda v: len(v)),
            ("an empty string", lambda v: ""),
            ("an unknown value / too long", lambda v: v + "-unknown" + "x" * 40),
            ("a non-ASCII character added", lambda v: v + "\u00a0ё"),
        ]
    if isinstance(value, dict):
        return [("an object sent as a list", lambda v: [v]), ("an object sent as a JSON string", lambda v: str(v))]
    if isinstance(value, list):
        return [("an extra item", lambda v: [*v, *v]), ("an empty list", lambda v: [])]
    return []


def invalid(valid: st.SearchStrategy[Body], schema: str) -> st.SearchStrategy[Invalid]:
    """Bodies from ``valid`` with one subtle break each; every one is rejected by ``schemas/<schema>``.

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20, database=None)
    ... @given(invalid(create_chat_requests(), "create_chat.request.json"))
    ... def check(case):
    ...     assert not load_schemas().is_valid(case.schema, case.body)
    >>> check()
    """
    schemas = load_schemas()
    return _one_break(valid, schema).filter(lambda case: not schemas.is_valid(case.schema, case.body))


def one_defect(valid: st.SearchStrategy[Body]) -> st.SearchStrategy[Body]:
    """Bodies from ``valid`` with one subtle break each, as :func:`invalid` makes them, but unchecked:
    a few still pass the schema (a non-ASCII character added to a free-text field).

    Never filters, so it never rejects a draw — which a step of a state machine cannot afford.
    """
    return _one_break(valid, "").map(lambda case: case.body)


def _one_break(valid: st.SearchStrategy[Body], schema: str) -> st.SearchStrategy[Invalid]:
    @st.composite
    def mutate(draw: st.DrawFn) -> Invalid:
        body = draw(valid)
        paths = [(p, v) for p, v in _paths(body) if p]
        pointer, value = draw(st.sampled_from(paths))
        options: list[tuple[str, Callable[[Any], Any] | None]] = [("a field left out", None), *_mutations(value)]
        mutation, change = draw(st.sampled_from(options))
        broken = _set(body, pointer, None, delete=True) if change is None else _set(body, pointer, change(value))
        return Invalid(broken, schema, pointer, mutation)

    return mutate()


# -- edge cases: bodies the schema may allow, hard on whoever stores and renders them ------------

#: Integers at the edges clients and parsers trip on: zero and -1, the 32-, 53-, 63- and 64-bit
#: limits (and just past them), milliseconds (``10**13``) or nanoseconds sent where seconds belong.
EDGE_INTEGERS = (0, -1, 2**31, 2**53, 2**63 - 1, 2**63, 2**64 - 1, 10**17, 10**13, 2**64, -(2**63) - 1)
#: Floats that are whole (``1956.0``: an integer to JSON Schema, not to amojo), signed zero, the
#: largest and the smallest doubles, and 2^53 (the last integer a double holds exactly).
EDGE_FLOATS = (0.0, -0.0, 0.5, 1956.0, 1e17, 2.0**53, 1e308, -1e308, 1.7976931348623157e308, 5e-324)
#: Nesting depths (objects and arrays counted alike) around the limits of JSON libraries:
#: orjson serialises 254 levels and no more, Python's recursion limit is about 1000.
EDGE_DEPTHS = (1, 2, 64, 253, 254, 255, 256, 300, 512)
#: Strings that break naive storage and rendering: NUL, lone surrogates (sent as ``\\u`` escapes,
#: which no UTF-8 decoder accepts), right-to-left overrides, combining marks, 4-byte emoji with
#: joiners and skin tones, a byte-order mark, markup, and strings long enough to be truncated somewhere.
EDGE_TEXTS = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "\udfff",
    "a\udc00b",
    "\u202eevil\u202c",
    "שלום עולם",
    "مرحبا",
    "e\u0301\u0301\u0301",
    "👍🏽",
    "\U0001f9d1\u200d\U0001f4bb",
    "🏳️‍🌈",
    "\ufeffbom",
    "\u2028\u2029",
    '<script>alert(1)</script>"',
    "{{ 7*7 }}",
    "x" * 4096,
    "я" * 40_000,
)


def edge_integers() -> st.SearchStrategy[int]:
    """Integers from :data:`EDGE_INTEGERS` or anywhere, unbounded (beyond 64 bits too)."""
    return st.sampled_from(EDGE_INTEGERS) | st.integers()


def edge_numbers() -> st.SearchStrategy[int | float]:
    """:func:`edge_integers` and finite floats, :data:`EDGE_FLOATS` first (JSON has no NaN or infinity)."""
    return edge_integers() | st.sampled_from(EDGE_FLOATS) | st.floats(allow_nan=False, allow_infinity=False)


def edge_texts() -> st.SearchStrategy[str]:
    """Strings from :data:`EDGE_TEXTS` or of any code points, surrogates included."""
    return st.sampled_from(EDGE_TEXTS) | st.text(st.characters(exclude_categories=()), max_size=30)


def nested(depth: int, leaf: Any = "deep") -> Any:
    """``leaf`` inside ``depth`` containers, objects and arrays alternating.

    >>> nested(3)
    {'nested': [{'nested': 'deep'}]}
    """
    value = leaf
    for level in range(depth):
        value = {"nested": value} if (depth - level) % 2 else [value]
    return value


def deep_values(depths: tuple[int, ...] = EDGE_DEPTHS) -> st.SearchStrategy[Any]:
    """Values nested as deep as :data:`EDGE_DEPTHS` (shrinking towards the shallowest)."""
    return st.tuples(st.sampled_from(depths), st.sampled_from(["deep", 1, None, 2**64 - 1, "\x00"])).map(lambda t: nested(*t))


def json_values() -> st.SearchStrategy[Any]:
    """Any JSON value, with edge-case leaves and keys, or one nested :func:`deep_values`."""
    leaves = st.none() | st.booleans() | edge_numbers() | edge_texts()
    keys = st.sampled_from(["type", "text", "id", "", "__proto__", "$ref"]) | edge_texts()
    shallow = st.recursive(leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3), max_leaves=8)
    return shallow | deep_values()


_BUTTON_ROWS = st.lists(st.lists(_object(text=names, url=_optional(urls, null=False)), min_size=1, max_size=3), min_size=1, max_size=3)
_LIST_MESSAGE = st.fixed_dictionaries(
    {
        "body": names,
        "button": names,
        "sections": st.lists(
            st.fixed_dictionaries(
                {"rows": st.lists(st.fixed_dictionaries({"callback_data": ids, "title": names}), min_size=1, max_size=3)},
                optional={"title": names.map(lambda s: s[:24])},
            ),
            min_size=1,
            max_size=2,
        ),
    },
    optional={"header": names.map(lambda s: s[:60]), "footer": names.map(lambda s: s[:60])},
)
#: ``markup`` values that are not a keyboard amojo knows: what a sloppy client sends.
ODD_MARKUPS: tuple[Any, ...] = (
    "s",
    "",
    1,
    -1,
    1.5,
    True,
    False,
    [1],
    [],
    {},
    {"mode": "inline"},
    {"mode": "inline", "buttons": "x"},
    {"mode": "inline", "buttons": [1]},
    {"mode": "inline", "buttons": ["x"]},
    {"mode": "inline", "buttons": [[1]]},
    {"mode": "inline", "buttons": [[{"text": 1}]]},
    {"mode": "inline", "buttons": [[{"url": "https://x.example"}]]},
    {"mode": "inline", "buttons": [{"text": "a"}]},
    {"mode": "inline", "buttons": {"0": [{"text": "a"}]}},
    {"mode": "inline", "list_message": "x"},
    {"mode": "inline", "list_message": {"sections": "x"}},
    {"mode": "inline", "list_message": {"button": 1, "header": ["h"]}},
    {"mode": "reply", "buttons": [[{"text": "a"}]]},
)


def markups(*, odd: bool = True) -> st.SearchStrategy[Any]:
    """``message.markup``: inline button rows or a WhatsApp list, as amojo documents them; with ``odd``
    also :data:`ODD_MARKUPS`, edge-case JSON and deep nesting."""
    valid = st.sampled_from(["buttons", "list_message"]).flatmap(
        lambda kind: st.fixed_dictionaries({"mode": st.just("inline"), kind: _BUTTON_ROWS if kind == "buttons" else _LIST_MESSAGE})
    )
    if not odd:
        return valid
    odd_shapes = st.sampled_from(ODD_MARKUPS)
    return st.one_of(valid, odd_shapes, odd_shapes, json_values())


def message_templates(*, odd: bool = True) -> st.SearchStrategy[Any]:
    """``message.template`` (the template a manager sent from): id, content, params; with ``odd`` also
    edge-case ids and shapes that are not a template at all."""
    params = st.lists(st.fixed_dictionaries({"key": ids, "value": texts}), max_size=3)
    valid = st.fixed_dictionaries({"id": st.integers(1, 10**6), "content": texts}, optional={"external_id": ids, "params": params})
    if not odd:
        return valid
    edged = st.fixed_dictionaries({"id": edge_integers(), "content": edge_texts()}, optional={"params": json_values()})
    return valid | edged | json_values()


#: What :func:`edge_message_contents` may push to an edge in ``payload.message``.
CONTENT_EDGES = ("numbers", "texts", "markup", "template", "deep", "extras")
#: What :func:`edge_incoming_messages` may push to an edge: the content's, plus the timestamps,
#: a quote or a forward given in full (with an edge case of its own), and the sender's name and phone.
MESSAGE_EDGES = ("stamps", *CONTENT_EDGES, "quotes", "names")


def edge_message_contents(types: tuple[str, ...] = MESSAGE_TYPES, *, kinds: tuple[str, ...] = CONTENT_EDGES) -> st.SearchStrategy[Body]:
    """``payload.message`` of one of ``types``, valid but for one edge case of one of ``kinds``
    (:data:`CONTENT_EDGES`; name one twice to draw it twice as often):

    ``numbers``: a size, a duration or a coordinate from :func:`edge_numbers`; ``texts``: a text,
    file name, URL, sticker id, callback data or contact field from :func:`edge_texts`;
    ``markup`` and ``template`` from :func:`markups` and :func:`message_templates`; ``deep``: a
    :func:`deep_values` value in a free-form object (the content itself, ``location``, ``contact``,
    ``markup``, ``template``); ``extras``: unknown keys holding :func:`json_values`.

    One edge case at a time, so a body is refused for it or stored with it — not refused for
    another. Each is something a client may send; the fake must refuse it with a 400 or store it
    and show it again.
    """
    _check_kinds(kinds, CONTENT_EDGES)
    return _edge_content(types, kinds)


def _check_kinds(kinds: tuple[str, ...], known: tuple[str, ...]) -> None:
    unknown = sorted(set(kinds) - set(known))
    if unknown or not kinds:
        raise ValueError(f"edge case kinds must be some of {known}, got {kinds!r}")


@st.composite
def _edge_content(draw: st.DrawFn, types: tuple[str, ...], kinds: tuple[str, ...]) -> Body:
    content = draw(message_contents(types))
    _CONTENT_EDGE[draw(st.sampled_from(kinds), label="edge case")](draw, content)
    return content


def _edge_numbers_in(draw: st.DrawFn, content: Body) -> None:
    fields: list[str] = [name for name in ("file_size", "media_duration") if name in content] or ["file_size"]
    if isinstance(content.get("location"), dict):
        fields += ["lon", "lat"]
    field = draw(st.sampled_from(fields))
    if field in ("lon", "lat"):
        content["location"] = {**content["location"], field: draw(edge_numbers())}
    else:
        content[field] = draw(edge_integers())


def _edge_texts_in(draw: st.DrawFn, content: Body) -> None:
    fields: list[str] = ["text", *(name for name in ("file_name", "media", "sticker_id", "callback_data") if name in content)]
    if isinstance(content.get("contact"), dict):
        fields += ["name", "phone"]
    field = draw(st.sampled_from(fields))
    if field in ("name", "phone"):
        content["contact"] = {**content["contact"], field: draw(edge_texts())}
    else:
        content[field] = draw(edge_texts())


def _deep_in(draw: st.DrawFn, content: Body) -> None:
    where = draw(st.sampled_from(["extra", "location", "contact", "markup", "template"]))
    deep = draw(deep_values())
    if where == "location":
        content["location"] = {**(content.get("location") or {"lon": 37.6, "lat": 55.7}), "extra": deep}
    elif where == "contact":
        content["contact"] = {**(content.get("contact") or {"name": "Kate", "phone": "+79990001122"}), "extra": deep}
    else:
        content[where] = deep


def _extras_in(draw: st.DrawFn, content: Body) -> None:
    keys = st.sampled_from(["extra", "meta", "payload", "buttons", "entities"]) | edge_texts()
    content.update(draw(st.dictionaries(keys.filter(lambda k: k not in content), json_values(), min_size=1, max_size=3)))


_CONTENT_EDGE: dict[str, Callable[[st.DrawFn, Body], None]] = {
    "numbers": _edge_numbers_in,
    "texts": _edge_texts_in,
    "markup": lambda draw, content: content.update(markup=draw(markups())),
    "template": lambda draw, content: content.update(template=draw(message_templates())),
    "deep": _deep_in,
    "extras": _extras_in,
}


def _edge_stamps() -> st.SearchStrategy[dict[str, Any]]:
    """``timestamp`` and ``msec_timestamp`` as clients get them wrong: at the integer edges, in ms, absent or null."""
    seconds = st.one_of(st.sampled_from(EDGE_INTEGERS), st.sampled_from(EDGE_INTEGERS), timestamps.map(lambda t: t * 1000), st.integers())
    # Without msec_timestamp amojo derives it from timestamp: the sloppy client's case comes up most.
    msec = st.sampled_from(["absent", "derived", "null", "edge", "absent"])
    return st.tuples(seconds, msec, st.sampled_from(EDGE_INTEGERS)).map(_stamps)


def _stamps(parts: tuple[int, str, int]) -> dict[str, Any]:
    seconds, msec_kind, edge = parts
    msec = {"absent": _ABSENT, "null": None, "derived": seconds * 1000, "edge": edge}[msec_kind]
    return {"timestamp": seconds} if msec is _ABSENT else {"timestamp": seconds, "msec_timestamp": msec}


@st.composite
def _inline_edge_embedded(draw: st.DrawFn, deep: bool = False) -> Body:
    """A quoted or forwarded message given in full, with a deep extra or one edge case: its content or its stamps."""
    message = draw(_inline_embedded())
    kind = "deep" if deep else draw(st.sampled_from(["content", "stamps", "deep"]))
    if kind == "content":
        message.update(draw(edge_message_contents((message["type"],))))
    elif kind == "stamps":
        message.update(draw(_edge_stamps()))
        if message.get("msec_timestamp") is None:
            message.pop("msec_timestamp", None)
    else:
        message["extra"] = draw(deep_values())
    return message


def _plain_new_message(conversation_id: str | None, types: tuple[str, ...], sender_ref_id: str | None = None) -> st.SearchStrategy[Body]:
    """A new message with only what it needs, as the base of an edge case: fewer draws per body, more bodies per test."""
    party = st.fixed_dictionaries({"id": ids, "name": names})
    fields: dict[str, st.SearchStrategy[Any]] = {
        "msgid": ids,
        "conversation_id": st.just(conversation_id) if conversation_id else ids,
        "message": message_contents(types),
        "silent": _optional(st.booleans()),
    }
    if sender_ref_id is None:
        fields["sender"] = party
    else:
        fields.update(sender=st.just({"ref_id": sender_ref_id}), receiver=party)
    return st.tuples(timestamps, st.integers(0, 999), _object(**fields)).map(_stamped)


def _edged_new_message(base: st.SearchStrategy[Body], types: tuple[str, ...], kinds: tuple[str, ...]) -> st.SearchStrategy[Body]:
    """A new_message from ``base`` with one edge case of one of ``kinds`` (:data:`MESSAGE_EDGES`)."""
    _check_kinds(kinds, MESSAGE_EDGES)

    @st.composite
    def edged(draw: st.DrawFn) -> Body:
        body = draw(base)
        payload = dict(body["payload"])
        kind = draw(st.sampled_from(kinds), label="edge case")
        if kind == "stamps":
            payload = {k: v for k, v in payload.items() if k not in ("timestamp", "msec_timestamp")}
            payload.update(draw(_edge_stamps()))
        elif kind == "quotes" or (kind == "deep" and draw(st.booleans())):
            # A deep value also goes into the quoted or forwarded message: it is stored as sent, too.
            quoted = draw(_inline_edge_embedded(deep=kind == "deep"))
            payload.update(draw(st.sampled_from([{"reply_to": {"message": quoted}}, {"forwards": {"messages": [quoted]}}])))
        elif kind == "names":
            party = "receiver" if payload.get("receiver") else "sender"
            payload[party] = {**payload[party], "name": draw(edge_texts()), "profile": {"phone": draw(edge_texts())}}
        else:
            payload["message"] = draw(edge_message_contents((payload["message"]["type"],), kinds=(kind,)))
        return {**body, "payload": payload}

    return edged()


def edge_incoming_messages(
    *, conversation_id: str | None = None, types: tuple[str, ...] = MESSAGE_TYPES, kinds: tuple[str, ...] = MESSAGE_EDGES
) -> st.SearchStrategy[Body]:
    """Incoming ``new_message`` bodies (sender, content, stamps) with one edge case each, of one of ``kinds`` (:data:`MESSAGE_EDGES`;
    name one twice to draw it twice as often): ``stamps`` at the integer edges (or in ms, or without
    ``msec_timestamp``, which amojo then derives), any of :func:`edge_message_contents`' kinds
    (``deep`` also inside a quoted or forwarded message), ``quotes`` (a quote or forward given in
    full, with an edge case of its own), or ``names`` from :func:`edge_texts`."""
    return _edged_new_message(_plain_new_message(conversation_id, types), types, kinds)


def edge_outgoing_messages(
    sender_ref_id: str, *, conversation_id: str | None = None, kinds: tuple[str, ...] = MESSAGE_EDGES
) -> st.SearchStrategy[Body]:
    """Imported ``new_message`` bodies (``sender.ref_id`` + ``receiver``) with the edge cases of :func:`edge_incoming_messages`."""
    return _edged_new_message(_plain_new_message(conversation_id, MESSAGE_TYPES, sender_ref_id), MESSAGE_TYPES, kinds)


def reshaping_edits(*, msgid: str | None = None, message_id: str | None = None) -> st.SearchStrategy[Body]:
    """``edit_message`` bodies that turn a message into any type and shape: a full new content of
    any type, a bare ``type`` (only ``type`` is required on edit), a caption added or cleared,
    edge-case content, with or without a ``delivery_status``."""
    if msgid is None and message_id is None:
        msgid = "m-1"
    status = st.fixed_dictionaries(
        {"status_code": st.sampled_from([1, 2, -1, None])},
        optional={"error_code": st.sampled_from([901, 902, 903, 904, 905, None]), "error": texts | st.none()},
    )
    kinds = st.sampled_from(MESSAGE_TYPES)
    contents = st.one_of(
        message_contents(),
        edge_message_contents(),
        kinds.map(lambda kind: {"type": kind}),
        st.tuples(kinds, texts | st.just("") | st.none()).map(lambda t: {"type": t[0], "text": t[1]}),
    )
    message = st.tuples(contents, _optional(status)).map(lambda t: t[0] if t[1] is _ABSENT else {**t[0], "delivery_status": t[1]})
    return _object(
        id=st.just(message_id) if message_id else st.just(_ABSENT),
        msgid=st.just(msgid) if msgid else st.just(_ABSENT),
        message=message,
    ).map(lambda payload: {"event_type": "edit_message", "payload": payload})


def operator_messages() -> st.SearchStrategy[Body]:
    """What a CRM manager sends (``POST /__mock__/operator/reply`` and ``initiate``): every type,
    captions, keyboards (:func:`markups` without odd ones) and templates — each valid against
    ``definitions.json#/$defs/operator_message``."""

    def of(kind: str) -> st.SearchStrategy[Body]:
        fields: dict[str, st.SearchStrategy[Any]] = {"type": st.just(kind)}
        fields["text"] = texts if kind == "text" else st.just(_ABSENT) | texts | st.just("")
        if kind in _MEDIA_TYPES:
            fields["media"] = urls
        if kind in ("picture", "video"):
            fields["thumbnail"] = _optional(urls, null=False)
        if kind in _SIZED_TYPES:
            fields["file_name"] = st.builds(lambda stem: f"{stem}.jpg", ids)
            fields["file_size"] = st.integers(min_value=0, max_value=50 * 1024 * 1024)
        if kind == "location":
            fields["location"] = st.fixed_dictionaries(
                {"lon": st.floats(min_value=-180, max_value=180), "lat": st.floats(min_value=-90, max_value=90)}
            )
        if kind == "contact":
            fields["contact"] = st.fixed_dictionaries({"name": names, "phone": phones})
        fields["markup"] = _optional(markups(odd=False), null=False)
        fields["template"] = _optional(message_templates(odd=False), null=False)
        return _object(**fields)

    return st.sampled_from(MESSAGE_TYPES).flatmap(of)


def edge_cases(valid: st.SearchStrategy[Body], values: st.SearchStrategy[Any] | None = None) -> st.SearchStrategy[Body]:
    """Bodies from ``valid`` with one value replaced by an edge case, or with one extra key holding one.

    ``values`` are the edge cases (default: any of :func:`edge_numbers`, :func:`edge_texts`,
    :func:`json_values`, :func:`deep_values` and :data:`ODD_MARKUPS`). The result may or may not
    be valid; the fake must refuse it with a 400 or store it so that every later read still works.
    """
    if values is None:
        values = st.one_of(edge_numbers(), edge_texts(), json_values(), deep_values(), st.sampled_from(ODD_MARKUPS))
    keys = st.sampled_from(["extra", "markup", "template", "meta", "data", ""])

    @st.composite
    def mutate(draw: st.DrawFn) -> Body:
        body = draw(valid)
        paths = _paths(body)
        if draw(st.booleans()):
            pointer, _ = draw(st.sampled_from([(p, v) for p, v in paths if p]))
            return _set(body, pointer, draw(values))
        pointer, _ = draw(st.sampled_from([(p, v) for p, v in paths if isinstance(v, dict)]))
        return _set(body, f"{pointer}/{draw(keys)}", draw(values))

    return mutate()


def json_bytes(value: Any) -> bytes:
    """``value`` as the compact UTF-8 JSON a client sends, whatever the edge case: lone surrogates
    as ``\\u`` escapes, integers beyond 64 bits and nesting beyond orjson's limit written out as they are.

    >>> json_bytes({"a": "\\ud800", "n": 2**64})
    b'{"a":"\\\\ud800","n":18446744073709551616}'
    """
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode()
