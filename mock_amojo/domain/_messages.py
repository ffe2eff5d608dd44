"""A message and its own rules: how it is edited, which delivery statuses it records, one reaction per user."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypeVar

import msgspec

from ..wire._requests import StatusReport
from ..wire._values import Content, JSONObject, JSONValue, MessageContent, Text, parse_content
from ._parties import Participant

Direction = Literal["incoming", "outgoing"]
Origin = Literal["integration", "import", "operator", "bot"]

#: delivery_status codes amojo accepts, by name (amojo-api.md §3.5).
STATUS_NAMES = {1: "delivered", 2: "read", -1: "error"}
ERROR_CODES = {
    901: "user deleted the conversation",
    902: "integration disabled on channel side",
    903: "internal server error",
    904: "cannot create conversation",
    905: "other error",
}

_Item = TypeVar("_Item")


def _appended(items: Sequence[_Item], item: _Item) -> list[_Item]:
    """``items`` with ``item`` at the end: the list itself, grown, or a new list for a shared empty tuple."""
    if isinstance(items, list):
        items.append(item)
        return items
    return [*items, item]


class StatusRecord(msgspec.Struct):
    """One delivery status a message went through (``sent``, ``delivered``, ``read``, ``error``)."""

    status: str
    code: int | None
    error_code: int | None = None
    error: str = ""
    at: float = 0.0


_FIELDS = (
    "id",
    "chat_id",
    "direction",
    "origin",
    "sender",
    "receiver",
    "timestamp",
    "msec_timestamp",
    "content",
    "received_at",
    "msgid",
    "silent",
    "source",
    "reply_to",
    "forwards",
    "edits",
    "reactions",
    "statuses",
)


#: An edit (``at``, the content before it, the fields it changed) or a reaction (``user``, ``emoji``, ``at``), as shown.
Mark = dict[str, JSONValue]

_NO_MARKS: tuple[Sequence[Mark], Sequence[Mark]] = ((), ())


def _compact(content: MessageContent) -> Content | str:
    """A plain text message's content as its text alone; any other content as it is.

    Most stored messages are plain text: keeping only the text saves the object (64 bytes) a
    message would otherwise hold for as long as it is stored.
    """
    return content.text if content.__class__ is Text else content  # type: ignore[return-value]


class Message:
    """A message of a chat, with its edits, reactions and delivery statuses.

    Its rules change it by replacing values (content, lists of reactions and statuses grow or
    are replaced), so a reader outside the state lock sees one version or the next.
    ``content_value`` is what it says as a typed value (:mod:`mock_amojo.wire._values`);
    ``content`` the JSON amojo shows (a new dict on each read for a plain text message).
    """

    __slots__ = (
        "_content",
        "_marks",
        "_quotes",
        "chat_id",
        "direction",
        "id",
        "msec_timestamp",
        "msgid",
        "origin",
        "received_at",
        "receiver",
        "sender",
        "silent",
        "source",
        "statuses",
        "timestamp",
    )
    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __init__(
        self,
        id: str,
        chat_id: str,
        direction: Direction,
        origin: Origin,
        sender: Participant,
        receiver: Participant | None,
        timestamp: int,
        msec_timestamp: int,
        content: MessageContent,
        received_at: float,
        msgid: str | None = None,
        silent: bool = False,
        source: str | None = None,
        reply_to: JSONObject | None = None,
        forwards: JSONObject | None = None,
        # Empty tuples until the first edit, reaction or status: most messages never get one, and
        # three empty lists a message would be three more objects every full GC pass visits.
        edits: Sequence[Mark] = (),
        reactions: Sequence[Mark] = (),
        statuses: Sequence[StatusRecord] = (),
    ) -> None:
        self.id = id
        self.chat_id = chat_id
        self.direction: Direction = direction
        self.origin: Origin = origin
        self.sender = sender
        self.receiver = receiver
        self.timestamp = timestamp
        self.msec_timestamp = msec_timestamp
        self._content = _compact(content)
        self.received_at = received_at
        self.msgid = msgid
        self.silent = silent
        self.source = source
        # Quotes, edits and reactions are rare: a pair of them in one slot (None or an empty pair
        # until there is one) keeps every message two slots (16 bytes) smaller.
        self._quotes = None if reply_to is None and forwards is None else (reply_to, forwards)
        self._marks = _NO_MARKS if not edits and not reactions else (edits, reactions)
        self.statuses = statuses

    @property
    def content(self) -> JSONObject:
        """What the message says as amojo shows it (``type``, ``text``, media fields...): as sent, nulls dropped."""
        content = self._content
        return {"type": "text", "text": content} if content.__class__ is str else content.fields  # type: ignore[union-attr]

    @property
    def content_value(self) -> MessageContent:
        """What the message says, typed: plain :class:`~mock_amojo.wire._values.Text` or any other :class:`~mock_amojo.wire._values.Content`."""
        content = self._content
        return Text(content) if content.__class__ is str else content  # type: ignore[return-value]

    @content_value.setter
    def content_value(self, content: MessageContent) -> None:
        self._content = _compact(content)

    @property
    def kind(self) -> str:
        """The content's ``type`` (text, picture, file, video, voice, audio, sticker, location, contact)."""
        content = self._content
        return "text" if content.__class__ is str else content.type  # type: ignore[union-attr]

    @property
    def reply_to(self) -> JSONObject | None:
        """The quoted message as shown (``{"message": {...}}``), if any."""
        quotes = self._quotes
        return None if quotes is None else quotes[0]

    @reply_to.setter
    def reply_to(self, reply_to: JSONObject | None) -> None:
        self._quotes = (reply_to, self.forwards)

    @property
    def forwards(self) -> JSONObject | None:
        """The forwarded messages as shown (``{"messages": [...]}``), if any."""
        quotes = self._quotes
        return None if quotes is None else quotes[1]

    @forwards.setter
    def forwards(self, forwards: JSONObject | None) -> None:
        self._quotes = (self.reply_to, forwards)

    @property
    def edits(self) -> Sequence[Mark]:
        """Each edit: when, the content before it and the fields it changed."""
        return self._marks[0]

    @edits.setter
    def edits(self, edits: Sequence[Mark]) -> None:
        self._marks = (edits, self._marks[1])

    @property
    def reactions(self) -> Sequence[Mark]:
        """One reaction per user (``user``, ``emoji``, ``at``)."""
        return self._marks[1]

    @reactions.setter
    def reactions(self, reactions: Sequence[Mark]) -> None:
        self._marks = (self._marks[0], reactions)

    @property
    def plain_text(self) -> str | None:
        """The text of a plain text message (content is ``type`` "text" and ``text`` only), else None."""
        content = self._content
        return content if content.__class__ is str else None

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in _FIELDS)

    def __repr__(self) -> str:
        return f"Message({', '.join(f'{name}={getattr(self, name)!r}' for name in _FIELDS)})"

    @property
    def status(self) -> str | None:
        """The latest delivery status, or None before any."""
        return self.statuses[-1].status if self.statuses else None

    def edit(self, content: MessageContent, at: float) -> None:
        """Apply an edit_message's content: each field it gives replaces the message's; what the content was is kept."""
        previous, changes = self.content, content.as_json()
        # New values, never an update in place: a reader holding the content (a view rendered
        # outside the state lock, the edit's "previous") never sees it change under it.
        self.edits = _appended(self.edits, {"at": at, "previous": previous, "changes": changes})
        self.content_value = parse_content({**previous, **changes})

    def mark_sent(self, at: float) -> None:
        """The CRM side's own messages start as ``sent``; the integration reports the rest (amojo-api.md §3.5)."""
        self.statuses = _appended(self.statuses, StatusRecord("sent", None, at=at))

    def record_status(self, report: StatusReport, at: float) -> None:
        """Record a reported delivery status; every transition is kept (the reference names none impossible).

        An unknown integer code is kept under its number, an absent one as ``unknown``; only
        an error (-1) keeps an error code and text (amojo's wording when the text is absent).
        """
        code, error_code = report.code, report.error_code
        name = STATUS_NAMES.get(code, str(code)) if isinstance(code, int) else "unknown"
        is_error = code == -1
        record = StatusRecord(
            name,
            code,
            error_code if is_error else None,
            (report.error or ERROR_CODES.get(error_code or 0, "")) if is_error else "",
            at,
        )
        self.statuses = _appended(self.statuses, record)

    def react(self, user: str | None, emoji: str | None, at: float) -> None:
        """``user``'s reaction: one per user, a new one replaces the old."""
        self.unreact(user)
        self.reactions = _appended(self.reactions, {"user": user, "emoji": emoji, "at": at})

    def unreact(self, user: str | None) -> None:
        """Take ``user``'s reaction back (nothing if there is none)."""
        self.reactions = [r for r in self.reactions if r["user"] != user]
