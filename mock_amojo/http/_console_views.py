"""What the console's pages show: view-models built from the state, safe to render whatever is stored.

A stored message holds what a client sent (any type edited into any shape, fields missing, free-form
values); the templates see only the dicts built here, where every key exists with the type the
template expects, links are http(s) or empty, and numbers are finite. Also the filters the
templates use (clock, moment, pretty JSON) and the webhook-delivery rows of the panels.
"""

from __future__ import annotations

import math
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson

if TYPE_CHECKING:
    from ..domain import Backend, Chat, Message, Snapshot

__all__ = [
    "deliveries_by_message",
    "delivery_rows",
    "emoji_name",
    "file_size",
    "leads_view",
    "safe_url",
    "sidebar_view",
    "stage_names",
    "timeline_view",
    "unread_count",
]


def file_size(size: Any) -> str:
    """A byte count for people.

    >>> file_size(0), file_size(1536), file_size(5 * 1024 * 1024)
    ('0 B', '1.5 KB', '5.0 MB')
    """
    if not isinstance(size, (int, float)) or size < 0:
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return ""  # pragma: no cover - the loop always returns


def safe_url(url: Any) -> str:
    """``url`` if it is http(s), else ``""`` — a ``javascript:`` link from a client must not run.

    >>> safe_url("https://example.com/a.jpg"), safe_url("javascript:alert(1)"), safe_url(None)
    ('https://example.com/a.jpg', '', '')
    """
    if not isinstance(url, str):
        return ""
    return url if urlsplit(url.strip()).scheme.lower() in ("http", "https") else ""


def _finite(value: Any) -> float | None:
    """``value`` if it is a finite number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int too big for a float
        return None
    return number if math.isfinite(number) else None


def _duration(seconds: Any) -> str:
    whole = _finite(seconds)
    if whole is None or whole < 0:
        return ""
    minutes, rest = divmod(int(whole), 60)
    return f"{minutes}:{rest:02d}"


def _strftime(pattern: str, timestamp: Any) -> str:
    moment = _finite(timestamp)
    if moment is None:
        return ""
    try:
        return time.strftime(pattern, time.gmtime(moment))
    except (OverflowError, OSError, ValueError):  # beyond what the platform's time_t holds
        return ""


def _clock(timestamp: Any) -> str:
    return _strftime("%H:%M:%S", timestamp)


def _moment(timestamp: Any) -> str:
    return _strftime("%Y-%m-%d %H:%M:%S UTC", timestamp)


def _pretty(value: Any) -> str:
    """JSON indented for reading; a string that is not JSON stays as it is."""
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return str(value)
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:  # nested deeper than orjson writes: the panel shows the rest of the entry
        return f"<{type(value).__name__} nested too deeply to show>"


def unread_count(chat: Chat, seen: int) -> int:
    """Client messages after the manager last looked (``seen`` messages) and after the last answer.

    Walks back from the newest message only as far as it must: the sidebar asks for every chat
    on every change, under the state lock.
    """
    count = 0
    for index in range(len(chat.messages) - 1, max(seen, 0) - 1, -1):
        if chat.messages[index].direction == "outgoing":
            break
        count += 1
    return count


# -- what a message shows ------------------------------------------------------------------
#
# A stored message holds what the client sent: any type edited into any other shape, optional
# fields missing, and whatever a free-form field carried. The templates see only the views
# below, where every key exists and has the type the template expects, so no stored content
# can break a page.


def _shown(value: Any) -> str:
    """A stored value as text: a string as it is, nothing as "", anything else as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        return f"<{type(value).__name__}>"


def _fields(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _kind(content: dict[str, Any]) -> str:
    kind = content.get("type")
    return kind if isinstance(kind, str) and kind else "text"


#: Code points that shape an emoji but name nothing of their own: variation selectors, the joiner, skin tones.
_EMOJI_SHAPING = frozenset({0xFE0E, 0xFE0F, 0x200D, *range(0x1F3FB, 0x1F400)})


def emoji_name(emoji: Any) -> str:
    """An emoji's name, for a browser without an emoji font (it would draw an empty box).

    >>> emoji_name("👍"), emoji_name("❤️"), emoji_name("👍🏽"), emoji_name("x" * 3)
    ('thumbs up sign', 'heavy black heart', 'thumbs up sign', 'latin small letter x')
    """
    names = []
    for char in _shown(emoji):
        if ord(char) in _EMOJI_SHAPING:
            continue
        name = unicodedata.name(char, "").lower()
        if name and name not in names:
            names.append(name)
    return " + ".join(names[:3]) or "reaction"


def _summary(content: Any) -> str:
    """One line for a message's content: its text, or what it holds.

    >>> _summary({"type": "text", "text": "hi"}), _summary({"type": "picture", "file_name": "a.jpg"}), _summary("junk")
    ('hi', '[picture] a.jpg', '')
    """
    fields = _fields(content)
    kind = _kind(fields)
    text = _shown(fields.get("text"))
    if kind == "text":
        return text
    return f"[{kind}] {text or _shown(fields.get('file_name'))}".strip()


def _content_view(content: Any) -> dict[str, Any]:
    """What the console shows of a message's content, whatever was stored.

    Every key is present; text is ``str``, links are http(s) or ``""``, sizes and durations are
    formatted, and a part that is not the shape amojo documents is left out.

    >>> view = _content_view({"type": "location", "location": {"lat": 55.75, "lon": "x"}, "markup": "s"})
    >>> view["kind"], view["location"], view["buttons"]
    ('location', None, [])
    """
    fields = _fields(content)
    location = _fields(fields.get("location"))
    lat, lon = _finite(location.get("lat")), _finite(location.get("lon"))
    contact = fields.get("contact")
    shared_post, post = fields.get("shared_post"), fields.get("post")
    markup = _fields(fields.get("markup"))
    listing = _fields(markup.get("list_message"))
    size, duration = _finite(fields.get("file_size")), _finite(fields.get("media_duration"))
    return {
        "kind": _kind(fields),
        "text": _shown(fields.get("text")),
        "media": safe_url(fields.get("media")),
        "thumbnail": safe_url(fields.get("thumbnail")),
        "file_name": _shown(fields.get("file_name")),
        "size": file_size(size) if size else "",
        "duration": _duration(duration) if duration else "",
        "sticker_id": _shown(fields.get("sticker_id")),
        "location": {"lat": _shown(location["lat"]), "lon": _shown(location["lon"])} if lat is not None and lon is not None else None,
        "contact": {"name": _shown(contact.get("name")), "phone": _shown(contact.get("phone"))} if isinstance(contact, dict) else None,
        "callback_data": _shown(fields.get("callback_data")),
        "shared_post": _link(shared_post, "url") if shared_post else None,
        "post": _link(post, "id") if post else None,
        "buttons": [
            [{"text": _shown(b.get("text")), "url": _shown(b.get("url"))} for b in _items(row) if isinstance(b, dict)]
            for row in _items(markup.get("buttons"))
        ],
        "list_button": _shown(listing.get("button") or listing.get("header")),
    }


def _link(post: Any, label: str) -> dict[str, str]:
    """A shared or commented post: its ``label`` field as text and its url if http(s)."""
    fields = _fields(post)
    return {"label": _shown(fields.get(label)), "href": safe_url(fields.get("url"))}


def _quoted(message: Any) -> dict[str, str]:
    """A quoted or forwarded message as a bubble shows it: who wrote it and one line of it."""
    fields = _fields(message)
    return {
        "who": _shown(_fields(fields.get("sender")).get("name")),
        "line": _summary(fields) or _shown(fields.get("msgid")) or _shown(fields.get("id")),
    }


def _message_view(message: Message) -> dict[str, Any]:
    """What the timeline shows of a message's stored parts (content, quote, forwards, edits)."""
    reply_to = _fields(message.reply_to)
    return {
        "content": _content_view(message.content),
        "quoted": _quoted(reply_to.get("message")) if reply_to else None,
        "forwarded": [_quoted(m) for m in _items(_fields(message.forwards).get("messages"))],
        "edits": [{"at": _fields(edit).get("at"), "was": _summary(_fields(edit).get("previous"))} for edit in message.edits],
    }


def _preview(message: Message | None) -> str:
    if message is None:
        return "no messages yet"
    return _summary(message.content)


@dataclass(frozen=True, slots=True)
class _Typing:
    who: str
    until: float


def sidebar_view(state: Snapshot, seen: Mapping[str, int], limit: int) -> list[dict[str, Any]]:
    """Scopes with their newest ``limit`` chats, newest activity first, each with its unread count.

    ``seen`` is how many messages of each chat the manager has looked at.
    """
    channels = {c.id: c for c in state.channels}
    accounts = {a.id: a for a in state.accounts}
    chats_of: dict[str, list[Chat]] = {}
    for chat in state.chats:
        chats_of.setdefault(chat.scope_id, []).append(chat)
    scopes: list[dict[str, Any]] = []
    for scope in state.scopes:
        chats = sorted(chats_of.get(scope.id, ()), key=lambda c: c.last_activity, reverse=True)
        scopes.append(
            {
                "scope": scope,
                "channel": channels.get(scope.channel_id),
                "account": accounts.get(scope.account_id),
                "unread": sum(unread_count(c, seen.get(c.id, 0)) for c in chats),
                "more": max(0, len(chats) - limit),
                "chats": [
                    {
                        "chat": chat,
                        "unread": unread_count(chat, seen.get(chat.id, 0)),
                        "preview": _preview(chat.messages[-1] if chat.messages else None),
                        "last": chat.messages[-1] if chat.messages else None,
                    }
                    for chat in chats[:limit]
                ],
            }
        )
    scopes.sort(key=lambda s: max((c["chat"].last_activity for c in s["chats"]), default=0.0), reverse=True)
    return scopes


def timeline_view(backend: Backend, chat: Chat, deliveries: dict[str, dict[str, Any]], limit: int) -> dict[str, Any]:
    """A chat's screen: its newest ``limit`` messages (each with its latest message-hook delivery), lead, typing."""
    scope = backend.scope_of(chat)
    names = backend.display_names(scope)
    lead = backend.lead(chat.lead_id) if chat.lead_id is not None else None
    typing = None
    chat_typing = chat.typing
    if chat_typing is not None and chat_typing.until > backend.clock.now():
        typing = _Typing(chat.client.name, chat_typing.until)
    account = backend.account(scope.account_id)
    messages = chat.messages[-limit:]
    return {
        "chat": chat,
        "scope": scope,
        "users": list(account.users) if account is not None else [],
        "lead": lead,
        "stage": stage_names(backend).get(lead.status_id, "") if lead is not None else "",
        "typing": typing,
        "now": backend.clock.now(),
        "older": max(0, len(chat.messages) - limit),
        "messages": [{"m": m, "shown": _message_view(m), "hook": deliveries.get(m.id), "names": names} for m in messages],
    }


def stage_names(backend: Backend) -> dict[int, str]:
    """Status id -> "pipeline: stage" of every account (what a lead card shows)."""
    accounts = backend.crm_snapshot()["accounts"]
    return {s.id: f"{p.name}: {s.name}" for a in accounts for p in a.pipelines for s in p.statuses}


def leads_view(state: Snapshot, stages: dict[int, str] | None = None) -> list[dict[str, Any]]:
    """Every lead, newest first, with its contact, chat, stage and the first message's line."""
    chats = {c.id: c for c in state.chats}
    contacts = {c.id: c for c in state.contacts}
    rows = []
    for lead in sorted(state.leads, key=lambda lead: lead.created_at, reverse=True):
        chat = chats.get(lead.chat_id)
        first = next((m for m in chat.messages if m.id == lead.first_message_id), None) if chat else None
        stage = (stages or {}).get(lead.status_id, "")
        rows.append({"lead": lead, "contact": contacts.get(lead.contact_id), "chat": chat, "first": _preview(first), "stage": stage})
    return rows


def delivery_rows(webhooks: Any, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` webhook deliveries, newest first (none without a dispatcher)."""
    if webhooks is None:
        return []
    rows = [d.as_dict() for d in webhooks.deliveries()[-limit:]]
    rows.reverse()
    return rows


def deliveries_by_message(webhooks: Any, chat: Chat | None) -> dict[str, dict[str, Any]]:
    """The latest message-hook delivery of each message of ``chat``."""
    if webhooks is None or chat is None:
        return {}
    latest: dict[str, dict[str, Any]] = {}
    for delivery in webhooks.deliveries(chat_id=chat.id):
        if delivery.message_id and delivery.kind == "message":
            latest[delivery.message_id] = delivery.as_dict()
    return latest
