"""A message and its own rules: how it is edited, which delivery statuses it records, one reaction per user."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

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


@dataclass(slots=True)
class StatusRecord:
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


_NO_MARKS: tuple[Sequence[dict[str, Any]], Sequence[dict[str, Any]]] = ((), ())


def _compact(content: dict[str, Any]) -> dict[str, Any] | str:
    """A plain text message's content as its text alone; any other content as it is.

    Most stored messages are ``{"type": "text", "text": ...}``: keeping only the text saves the
    dict (184 bytes) a message would otherwise hold for as long as it is stored.
    """
    if content.__class__ is dict and len(content) == 2 and content.get("type") == "text":
        text = content.get("text")
        if text.__class__ is str and next(iter(content)) == "type":
            return text
    return content


class Message:
    """A message of a chat, with its edits, reactions and delivery statuses.

    Its rules change it by replacing values (content, lists of reactions and statuses grow or
    are replaced), so a reader outside the state lock sees one version or the next.
    ``content`` is a new dict on each read for a plain text message (see :func:`_compact`).
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
        content: dict[str, Any],
        received_at: float,
        msgid: str | None = None,
        silent: bool = False,
        source: str | None = None,
        reply_to: dict[str, Any] | None = None,
        forwards: dict[str, Any] | None = None,
        # Empty tuples until the first edit, reaction or status: most messages never get one, and
        # three empty lists a message would be three more objects every full GC pass visits.
        edits: Sequence[dict[str, Any]] = (),
        reactions: Sequence[dict[str, Any]] = (),
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
    def content(self) -> dict[str, Any]:
        """What the message says (``type``, ``text``, media fields...), as the integration sent it (nulls dropped)."""
        content = self._content
        return {"type": "text", "text": content} if content.__class__ is str else content  # type: ignore[return-value]

    @content.setter
    def content(self, content: dict[str, Any]) -> None:
        self._content = _compact(content)

    @property
    def reply_to(self) -> dict[str, Any] | None:
        """The quoted message (``{"message": {...}}``), if any."""
        quotes = self._quotes
        return None if quotes is None else quotes[0]

    @reply_to.setter
    def reply_to(self, reply_to: dict[str, Any] | None) -> None:
        self._quotes = (reply_to, self.forwards)

    @property
    def forwards(self) -> dict[str, Any] | None:
        """The forwarded messages (``{"messages": [...]}``), if any."""
        quotes = self._quotes
        return None if quotes is None else quotes[1]

    @forwards.setter
    def forwards(self, forwards: dict[str, Any] | None) -> None:
        self._quotes = (self.reply_to, forwards)

    @property
    def edits(self) -> Sequence[dict[str, Any]]:
        """Each edit: when, the content before it and the fields it changed."""
        return self._marks[0]

    @edits.setter
    def edits(self, edits: Sequence[dict[str, Any]]) -> None:
        self._marks = (edits, self._marks[1])

    @property
    def reactions(self) -> Sequence[dict[str, Any]]:
        """One reaction per user (``user``, ``emoji``, ``at``)."""
        return self._marks[1]

    @reactions.setter
    def reactions(self, reactions: Sequence[dict[str, Any]]) -> None:
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

    def edit(self, changes: dict[str, Any], at: float) -> None:
        """Apply an edit_message's fields (nulls dropped), keeping what the content was before."""
        changes = {k: v for k, v in changes.items() if v is not None}
        # A new dict, never an update in place: a reader holding the content (a view rendered
        # outside the state lock, the edit's "previous") never sees it change under it.
        self.edits = _appended(self.edits, {"at": at, "previous": self.content, "changes": changes})
        self.content = {**self.content, **changes}

    def mark_sent(self, at: float) -> None:
        """The CRM side's own messages start as ``sent``; the integration reports the rest (amojo-api.md §3.5)."""
        self.statuses = _appended(self.statuses, StatusRecord("sent", None, at=at))

    def record_status(self, code: Any, error_code: Any, error: Any, at: float) -> None:
        """Record a reported delivery status; every transition is kept (the reference names none impossible).

        An unknown integer code is kept under its number, a non-integer one as ``unknown``; only
        an error (-1) keeps an error code and text (amojo's wording when the text is absent).
        """
        name = STATUS_NAMES.get(code, str(code)) if isinstance(code, int) else "unknown"
        is_error = code == -1
        record = StatusRecord(
            name, code, error_code if is_error else None, (error or ERROR_CODES.get(error_code, "")) if is_error else "", at
        )
        self.statuses = _appended(self.statuses, record)

    def react(self, user: str, emoji: str | None, at: float) -> None:
        """``user``'s reaction: one per user, a new one replaces the old."""
        self.unreact(user)
        self.reactions = _appended(self.reactions, {"user": user, "emoji": emoji, "at": at})

    def unreact(self, user: str) -> None:
        """Take ``user``'s reaction back (nothing if there is none)."""
        self.reactions = [r for r in self.reactions if r["user"] != user]
