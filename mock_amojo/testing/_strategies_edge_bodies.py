"""Edge-case bodies (:mod:`mock_amojo.testing.strategies`): valid bodies with one value pushed to an edge,
which the fake must refuse with a 400 or store and show again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson
from hypothesis import strategies as st

from ._strategies_base import (
    _ABSENT,
    _MEDIA_TYPES,
    _SIZED_TYPES,
    MESSAGE_TYPES,
    Body,
    _object,
    _optional,
    ids,
    message_contents,
    names,
    phones,
    texts,
    timestamps,
    urls,
)
from ._strategies_bodies import _inline_embedded, _stamped
from ._strategies_edge_values import (
    EDGE_INTEGERS,
    ODD_MARKUPS,
    deep_values,
    edge_integers,
    edge_numbers,
    edge_texts,
    json_values,
    markups,
    message_templates,
)
from ._strategies_invalid import _paths, _set

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
