"""Typed values parsed from amojo's JSON: the parties and message contents requests carry.

A request body is checked against its schema (:mod:`._validation`), then parsed once into
values (:mod:`._requests`); nothing past that edge reads request JSON. Values are frozen
msgspec Structs (:class:`Value`); each gives back its JSON with
``as_json`` (what the durable log records, what a view renders). A message's content is a typed
view of the object as sent (:class:`Content`), so it is stored and shown as given.

What amojo passes through without reading — a location, a contact, markup, a template, a
shared post, keys the reference does not list — stays a JSON value (:data:`JSONValue`): the
fake stores and shows it as sent, and no rule of the domain looks inside it.

>>> parse_content({"type": "text", "text": "Hi"})
Text(text='Hi')
>>> content = parse_content({"type": "picture", "media": "https://e.example/p.jpg", "file_size": 7, "meta": [1], "text": None})
>>> content.type, content.media, content.file_size, content.text, content.extra
('picture', 'https://e.example/p.jpg', 7, None, {'meta': [1]})
>>> content.as_json()
{'type': 'picture', 'media': 'https://e.example/p.jpg', 'file_size': 7, 'meta': [1]}
>>> parse_party({"id": "u1", "name": "Ann", "profile": {"phone": "+7 916"}}).as_json()
{'id': 'u1', 'name': 'Ann', 'profile': {'phone': '+7 916'}}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import msgspec

__all__ = ["Content", "JSONObject", "JSONValue", "MessageContent", "Party", "Text", "Value", "WireValue", "parse_content", "parse_party"]

#: Any JSON value, as a request carries it.
JSONValue: TypeAlias = "bool | int | float | str | Sequence[JSONValue] | Mapping[str, JSONValue] | None"
#: A JSON object passed through as sent.
JSONObject: TypeAlias = Mapping[str, JSONValue]


class Value(msgspec.Struct, frozen=True):
    """A value parsed from a request: an immutable msgspec Struct.

    Why a Struct and not a dataclass (``docs/design/typed-values.md``): a dataclass writes and
    compiles its methods when its module loads, a cost every start of the fake pays for each of
    its types, while a Struct's are built in C; a Struct is also quicker to make, which each
    request does several times.
    """


class WireValue(Value, frozen=True):
    """A value parsed from a request; :meth:`as_json` gives back its JSON (nulls and unknown keys of known objects dropped)."""

    def as_json(self) -> dict[str, JSONValue]:
        raise NotImplementedError


class Party(WireValue, frozen=True):
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


class Text(WireValue, frozen=True):
    """A plain text message: ``type`` "text" and its ``text``, nothing else (most messages)."""

    text: str

    def as_json(self) -> dict[str, JSONValue]:
        return {"type": "text", "text": self.text}


def _str(fields: JSONObject, name: str) -> str | None:
    value = fields.get(name)
    return value if isinstance(value, str) else None


def _int(fields: JSONObject, name: str) -> int | None:
    value = fields.get(name)
    return value if value.__class__ is int else None


class Content(WireValue, frozen=True):
    """A message's content of any type (text with more fields, picture, file, video, voice, audio, sticker, location, contact).

    Kept as sent (``fields``: every key but the nulls, in the order sent), so a message shows its
    content as given, and read through typed properties: the fields the reference lists (a value of
    another type reads as None), what amojo passes through as JSON (``location``, ``contact``,
    ``shared_post``, ``post``, ``markup``, ``template``), and in ``extra`` the keys it does not list.
    """

    fields: JSONObject

    @property
    def type(self) -> str:
        """text, contact, file, video, picture, voice, audio, sticker or location."""
        return _str(self.fields, "type") or "text"

    @property
    def text(self) -> str | None:
        """The text, or a media's caption."""
        return _str(self.fields, "text")

    @property
    def media(self) -> str | None:
        """The attachment's download URL."""
        return _str(self.fields, "media")

    @property
    def thumbnail(self) -> str | None:
        """A picture's or video's preview URL (a manager's message)."""
        return _str(self.fields, "thumbnail")

    @property
    def file_name(self) -> str | None:
        return _str(self.fields, "file_name")

    @property
    def file_size(self) -> int | None:
        """Bytes."""
        return _int(self.fields, "file_size")

    @property
    def media_duration(self) -> int | None:
        """Seconds (video, audio, voice)."""
        return _int(self.fields, "media_duration")

    @property
    def media_group_id(self) -> str | None:
        """Shared by the hooks of one multi-attachment message (a manager's message)."""
        return _str(self.fields, "media_group_id")

    @property
    def sticker_id(self) -> str | None:
        return _str(self.fields, "sticker_id")

    @property
    def callback_data(self) -> str | None:
        """The chosen row of a WhatsApp list message."""
        return _str(self.fields, "callback_data")

    @property
    def location(self) -> JSONValue:
        """``{"lon", "lat"}``, as sent."""
        return self.fields.get("location")

    @property
    def contact(self) -> JSONValue:
        """``{"name", "phone"}``, as sent."""
        return self.fields.get("contact")

    @property
    def shared_post(self) -> JSONValue:
        """A shared post's link and preview, as sent."""
        return self.fields.get("shared_post")

    @property
    def post(self) -> JSONValue:
        """The post a comment answers, as sent."""
        return self.fields.get("post")

    @property
    def markup(self) -> JSONValue:
        """Buttons or a list message, as sent."""
        return self.fields.get("markup")

    @property
    def template(self) -> JSONValue:
        """A manager's template, as sent."""
        return self.fields.get("template")

    @property
    def extra(self) -> dict[str, JSONValue]:
        """The keys the reference does not list, as sent (amojo ignores them; the fake shows them)."""
        return {key: field for key, field in self.fields.items() if key not in _LISTED}

    def as_json(self) -> dict[str, JSONValue]:
        return dict(self.fields)


#: A message's content: plain text, or anything else.
MessageContent = Text | Content

#: The keys of a content the reference lists (amojo-api.md §3.4, §4.1).
_LISTED = frozenset(
    (
        "type",
        "text",
        "media",
        "thumbnail",
        "file_name",
        "file_size",
        "media_duration",
        "media_group_id",
        "sticker_id",
        "callback_data",
        "location",
        "contact",
        "shared_post",
        "post",
        "markup",
        "template",
    )
)


def parse_content(data: Mapping[str, Any]) -> MessageContent:
    """A schema-checked ``message`` object as its content (explicit nulls are absent, the keys keep their order).

    >>> parse_content({"text": "Hi", "type": "text"}).as_json()
    {'text': 'Hi', 'type': 'text'}
    """
    if len(data) == 2 and data.get("type") == "text":
        text = data.get("text")
        if text.__class__ is str and next(iter(data)) == "type":
            return Text(text)
    fields = {key: field for key, field in data.items() if field is not None}
    if len(fields) == 2 and fields.get("type") == "text" and next(iter(fields)) == "type":
        text = fields.get("text")
        if text.__class__ is str:
            return Text(text)
    return Content(fields)
