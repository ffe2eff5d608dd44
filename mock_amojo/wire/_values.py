"""Typed values parsed from amojo's JSON: the parties and message contents requests carry.

A request body is checked against its schema (:mod:`._validation`), then parsed once into
values (:mod:`._requests`); nothing past that edge reads request JSON. Values are slotted
dataclasses the type checker treats as frozen (:func:`value`); each gives back its JSON with
``as_json`` (what the durable log records, what a view renders).

What amojo passes through without reading — a location, a contact, markup, a template, a
shared post, keys the reference does not list — stays a JSON value (:data:`JSONValue`): the
fake stores and shows it as sent, and no rule of the domain looks inside it.

>>> parse_content({"type": "text", "text": "Hi"})
Text(text='Hi')
>>> content = parse_content({"type": "picture", "media": "https://e.example/p.jpg", "file_size": 7, "meta": [1], "text": None})
>>> content.media, content.file_size, content.extra
('https://e.example/p.jpg', 7, {'meta': [1]})
>>> content.as_json()
{'type': 'picture', 'media': 'https://e.example/p.jpg', 'file_size': 7, 'meta': [1]}
>>> parse_party({"id": "u1", "name": "Ann", "profile": {"phone": "+7 916"}}).as_json()
{'id': 'u1', 'name': 'Ann', 'profile': {'phone': '+7 916'}}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar, dataclass_transform

__all__ = ["Content", "JSONObject", "JSONValue", "MessageContent", "Party", "Text", "WireValue", "parse_content", "parse_party", "value"]

#: Any JSON value, as a request carries it.
JSONValue: TypeAlias = "bool | int | float | str | Sequence[JSONValue] | Mapping[str, JSONValue] | None"
#: A JSON object passed through as sent.
JSONObject: TypeAlias = Mapping[str, JSONValue]

_V = TypeVar("_V")


@dataclass_transform(frozen_default=True)
def value(cls: type[_V]) -> type[_V]:
    """A slotted dataclass that the type checker treats as frozen.

    Not frozen at run time: a frozen dataclass sets each field through ``object.__setattr__``,
    which makes parsing a request three times as slow (``bench/typed_parse.py``); nothing
    changes a value after it is parsed, and mypy refuses code that would.
    """
    return dataclass(slots=True)(cls)


class WireValue:
    """A value parsed from a request; :meth:`as_json` gives back its JSON (nulls and unknown keys of known objects dropped)."""

    __slots__ = ()

    def as_json(self) -> dict[str, JSONValue]:
        raise NotImplementedError


@value
class Party(WireValue):
    """A participant a request names: the integration's ``id`` and/or amojo's ``ref_id``, with the profile it sends.

    The same shape serves a new message's sender and receiver, create-chat's user, and the
    ``sender``/``user`` of typing and reactions (which send only the ids).
    """

    id: str | None = None
    ref_id: str | None = None
    name: str | None = None
    avatar: str | None = None
    profile_link: str | None = None
    phone: str | None = None
    email: str | None = None

    def as_json(self) -> dict[str, JSONValue]:
        data: dict[str, JSONValue] = {}
        for name in ("id", "ref_id", "name", "avatar", "profile_link"):
            field = getattr(self, name)
            if field is not None:
                data[name] = field
        if self.phone is not None or self.email is not None:
            profile: dict[str, JSONValue] = {}
            if self.phone is not None:
                profile["phone"] = self.phone
            if self.email is not None:
                profile["email"] = self.email
            data["profile"] = profile
        return data


def parse_party(data: Mapping[str, Any]) -> Party:
    """The participant a schema-checked ``sender``/``receiver``/``user`` object names (explicit nulls are absent)."""
    profile = data.get("profile")
    if profile:
        return Party(
            data.get("id"),
            data.get("ref_id"),
            data.get("name"),
            data.get("avatar"),
            data.get("profile_link"),
            profile.get("phone"),
            profile.get("email"),
        )
    return Party(data.get("id"), data.get("ref_id"), data.get("name"), data.get("avatar"), data.get("profile_link"))


@value
class Text(WireValue):
    """A plain text message: ``type`` "text" and its ``text``, nothing else (most messages)."""

    text: str

    def as_json(self) -> dict[str, JSONValue]:
        return {"type": "text", "text": self.text}


@value
class Content(WireValue):
    """A message's content of any type (text with more fields, picture, file, video, voice, audio, sticker, location, contact).

    The fields amojo's reference lists, typed; what it passes through untouched as JSON
    (``location``, ``contact``, ``shared_post``, ``post``, ``markup``, ``template``); and in
    ``extra`` the keys it does not list, kept as sent (amojo ignores them, the fake shows them).
    """

    type: str
    text: str | None = None
    media: str | None = None
    thumbnail: str | None = None
    file_name: str | None = None
    file_size: int | None = None
    media_duration: int | None = None
    media_group_id: str | None = None
    sticker_id: str | None = None
    callback_data: str | None = None
    location: JSONValue = None
    contact: JSONValue = None
    shared_post: JSONValue = None
    post: JSONValue = None
    markup: JSONValue = None
    template: JSONValue = None
    extra: JSONObject | None = None
    #: The keys in the order they were sent, when that is not ``type``, the fields above, then ``extra``
    #: (the content is shown as given).
    order: tuple[str, ...] | None = None

    def as_json(self) -> dict[str, JSONValue]:
        if self.order is not None:
            extra = self.extra or {}
            return {key: extra[key] if key in extra else getattr(self, key) for key in self.order}
        data: dict[str, JSONValue] = {"type": self.type}
        for name in _FIELDS:
            field = getattr(self, name)
            if field is not None:
                data[name] = field
        if self.extra:
            data.update(self.extra)
        return data


#: A message's content: plain text, or anything else.
MessageContent = Text | Content

_STR, _INT, _JSON = 0, 1, 2
# Content's fields after ``type``, and what each holds (a value of another type is kept in ``extra``).
_KINDS = {
    "text": _STR,
    "media": _STR,
    "thumbnail": _STR,
    "file_name": _STR,
    "file_size": _INT,
    "media_duration": _INT,
    "media_group_id": _STR,
    "sticker_id": _STR,
    "callback_data": _STR,
    "location": _JSON,
    "contact": _JSON,
    "shared_post": _JSON,
    "post": _JSON,
    "markup": _JSON,
    "template": _JSON,
}
_FIELDS = tuple(_KINDS)


def parse_content(data: Mapping[str, Any]) -> MessageContent:
    """A schema-checked ``message`` object as its content (explicit nulls are absent).

    A field the reference lists but this request's schema does not check (an integration's
    ``thumbnail``) is typed only when its value has the field's type; otherwise it stays in
    ``extra`` as sent, like any unknown key. The keys keep the order they were sent in.

    >>> parse_content({"text": "Hi", "type": "text"}).as_json()
    {'text': 'Hi', 'type': 'text'}
    """
    if len(data) == 2 and data.get("type") == "text":
        text = data.get("text")
        if text.__class__ is str and next(iter(data)) == "type":
            return Text(text)
    known: dict[str, Any] = {}
    extra: dict[str, JSONValue] = {}
    for key, field in data.items():
        if field is None or key == "type":
            continue
        kind = _KINDS.get(key)
        if kind == _JSON or (kind == _STR and field.__class__ is str) or (kind == _INT and field.__class__ is int):
            known[key] = field
        else:
            extra[key] = field
    kind_of = data.get("type")
    sent = tuple(key for key, field in data.items() if field is not None)
    in_order = sent == ("type", *(name for name in _FIELDS if name in known), *extra)
    if in_order and kind_of == "text" and not extra and len(known) == 1 and known.get("text").__class__ is str:
        return Text(known["text"])
    return Content(kind_of if kind_of.__class__ is str else "text", **known, extra=extra or None, order=None if in_order else sent)
