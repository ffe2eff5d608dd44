"""The operator console: amoCRM's chat screen for the fake, in a browser at ``/__mock__/ui``.

Server-rendered HTML (Jinja2, autoescaped: user text is always shown as text) plus one
small script. The script refreshes page fragments when the server-sent event stream at
``/__mock__/ui/events`` says state, the journal or the webhooks changed, and sends the
manager's actions to the same control-plane endpoints a test would use
(``/__mock__/operator/*``), so every action fires the real signed webhook.

>>> from mock_amojo import create_app
>>> from mock_amojo.testing._inprocess import SyncASGITransport
>>> import httpx
>>> with httpx.Client(transport=SyncASGITransport(create_app()), base_url="http://amojo") as http:
...     page = http.get("/__mock__/ui")
>>> page.status_code, page.headers["content-type"]
(200, 'text/html; charset=utf-8')
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route

from .. import __version__

if TYPE_CHECKING:
    from jinja2 import Environment
from ..domain import Backend, Chat, Message
from ._control import CONTROL_PREFIX

__all__ = ["CONSOLE_PREFIX", "Console", "console_routes", "file_size", "safe_url", "unread_count"]

CONSOLE_PREFIX = CONTROL_PREFIX + "/ui"
_HERE = Path(__file__).parent
_STATIC = {"console.js": "text/javascript; charset=utf-8", "console.css": "text/css; charset=utf-8"}
#: Journal entries and deliveries a panel shows (newest first); the JSON endpoints have them all.
PANEL_LIMIT = 100
#: Newest messages a timeline shows and newest chats a scope lists: a page stays light on a long-lived server.
TIMELINE_LIMIT = 200
CHATS_LIMIT = 200
#: An event stream ends after this many seconds and the browser reconnects (EventSource does so by itself):
#: uvicorn's graceful shutdown waits for open responses, so no stream may stay open for long.
STREAM_SECONDS = 5.0
_KEEPALIVE_SECONDS = 1.0


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


_LABELS = {"picture": "🖼 picture", "file": "📄 file", "video": "🎬 video", "voice": "🎤 voice", "audio": "🎵 audio"}


def _summary(content: Any) -> str:
    """One line for a message's content: its text, or what it holds.

    >>> _summary({"type": "text", "text": "hi"}), _summary({"type": "picture", "file_name": "a.jpg"}), _summary("junk")
    ('hi', '🖼 picture a.jpg', '')
    """
    fields = _fields(content)
    kind = _kind(fields)
    text = _shown(fields.get("text"))
    if kind == "text":
        return text
    return f"{_LABELS.get(kind, kind)} {text or _shown(fields.get('file_name'))}".strip()


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


class Console:
    """The console's pages over one backend; remembers which messages the manager has seen."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        #: Bumped by :meth:`end_streams`; a stream opened under an older generation ends.
        self.generation = 0
        self._seen: dict[str, int] = {}
        self._seen_lock = threading.Lock()
        self._templates: Environment | None = None

    @property
    def templates(self) -> Environment:
        """The page templates, loaded when a page is first asked for: jinja2 stays out of a server's start-up."""
        if self._templates is None:
            from jinja2 import Environment, FileSystemLoader, StrictUndefined

            templates = Environment(
                loader=FileSystemLoader(_HERE / "templates"),
                autoescape=True,  # every {{ }} is HTML-escaped: client text can never become markup
                undefined=StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
            )
            templates.filters.update(clock=_clock, moment=_moment, pretty=_pretty)
            templates.globals.update(prefix=CONSOLE_PREFIX, control=CONTROL_PREFIX, version=__version__, quote=quote)
            self._templates = templates
        return self._templates

    # -- what the pages show ---------------------------------------------------------------

    def _render(self, name: str, **context: Any) -> HTMLResponse:
        html = self.templates.get_template(name).render(**context)
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    def sidebar(self) -> list[dict[str, Any]]:
        """Scopes with their chats, newest activity first, each with its unread count."""
        state = self.backend.snapshot()
        channels = {c.id: c for c in state.channels}
        accounts = {a.id: a for a in state.accounts}
        chats_of: dict[str, list[Chat]] = {}
        for chat in state.chats:
            chats_of.setdefault(chat.scope_id, []).append(chat)
        with self._seen_lock:
            scopes: list[dict[str, Any]] = []
            for scope in state.scopes:
                chats = sorted(chats_of.get(scope.id, ()), key=lambda c: c.last_activity, reverse=True)
                scopes.append(
                    {
                        "scope": scope,
                        "channel": channels.get(scope.channel_id),
                        "account": accounts.get(scope.account_id),
                        "unread": sum(unread_count(c, self._seen.get(c.id, 0)) for c in chats),
                        "more": max(0, len(chats) - CHATS_LIMIT),
                        "chats": [
                            {
                                "chat": chat,
                                "unread": unread_count(chat, self._seen.get(chat.id, 0)),
                                "preview": _preview(chat.messages[-1] if chat.messages else None),
                                "last": chat.messages[-1] if chat.messages else None,
                            }
                            for chat in chats[:CHATS_LIMIT]
                        ],
                    }
                )
            scopes.sort(key=lambda s: max((c["chat"].last_activity for c in s["chats"]), default=0.0), reverse=True)
            return scopes

    def end_streams(self) -> None:
        """End every open event stream within a second (the server is stopping: an open console must not hold it)."""
        self.generation += 1

    def routes(self) -> list[Route]:
        """The console's pages, fragments, event stream and assets."""
        table: list[tuple[str, Callable[[Request], Any]]] = [
            ("", self.page),
            ("/fragments/sidebar", self.sidebar_fragment),
            ("/fragments/chats/{chat_id}", self.chat_fragment),
            ("/fragments/journal", self.journal_fragment),
            ("/fragments/webhooks", self.webhooks_fragment),
            ("/fragments/leads", self.leads_fragment),
            ("/events", self.events),
            ("/static/{name}", self.static),
        ]
        return [Route(CONSOLE_PREFIX + path, handler, methods=["GET"]) for path, handler in table]

    def mark_seen(self, chat: Chat) -> None:
        with self._seen_lock:
            self._seen[chat.id] = len(chat.messages)

    def timeline(self, chat: Chat, deliveries: dict[str, dict[str, Any]]) -> dict[str, Any]:
        scope = self.backend.scope_of(chat)
        names = self.backend.display_names(scope)
        lead = self.backend.lead(chat.lead_id) if chat.lead_id is not None else None
        typing = None
        chat_typing = chat.typing
        if chat_typing and chat_typing.get("until", 0) > self.backend.clock.now():
            typing = _Typing(chat.client.name, float(chat_typing["until"]))
        account = self.backend.account(scope.account_id)
        messages = chat.messages[-TIMELINE_LIMIT:]
        return {
            "chat": chat,
            "scope": scope,
            "users": list(account.users) if account is not None else [],
            "lead": lead,
            "typing": typing,
            "now": self.backend.clock.now(),
            "older": max(0, len(chat.messages) - TIMELINE_LIMIT),
            "messages": [{"m": m, "shown": _message_view(m), "hook": deliveries.get(m.id), "names": names} for m in messages],
        }

    def leads(self) -> list[dict[str, Any]]:
        state = self.backend.snapshot()
        chats = {c.id: c for c in state.chats}
        contacts = {c.id: c for c in state.contacts}
        rows = []
        for lead in sorted(state.leads, key=lambda lead: lead.created_at, reverse=True):
            chat = chats.get(lead.chat_id)
            first = next((m for m in chat.messages if m.id == lead.first_message_id), None) if chat else None
            rows.append({"lead": lead, "contact": contacts.get(lead.contact_id), "chat": chat, "first": _preview(first)})
        return rows

    # -- handlers --------------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        chat = self._chat(request.query_params.get("chat"))
        if chat is not None:
            self.mark_seen(chat)
        webhooks = _webhooks(request)
        return self._render(
            "console/page.html",
            scopes=self.sidebar(),
            selected=chat,
            view=self.timeline(chat, _deliveries_by_message(webhooks, chat)) if chat is not None else None,
            tab=request.query_params.get("tab") or "journal",
            journal=self._journal(),
            deliveries=_delivery_rows(webhooks),
            has_webhooks=webhooks is not None,
            leads=self.leads(),
            revision=self.backend.changes.revision,
        )

    async def sidebar_fragment(self, request: Request) -> Response:
        selected = self._chat(request.query_params.get("chat"))
        return self._render("console/sidebar.html", scopes=self.sidebar(), selected=selected)

    async def chat_fragment(self, request: Request) -> Response:
        chat = self._chat(request.path_params["chat_id"])
        if chat is None:
            return self._render("console/gone.html", chat_id=request.path_params["chat_id"])
        self.mark_seen(chat)
        return self._render("console/timeline.html", view=self.timeline(chat, _deliveries_by_message(_webhooks(request), chat)))

    async def journal_fragment(self, request: Request) -> Response:
        return self._render("console/journal.html", journal=self._journal())

    async def webhooks_fragment(self, request: Request) -> Response:
        webhooks = _webhooks(request)
        return self._render("console/webhooks.html", deliveries=_delivery_rows(webhooks), has_webhooks=webhooks is not None)

    async def leads_fragment(self, request: Request) -> Response:
        return self._render("console/leads.html", leads=self.leads())

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        media_type = _STATIC.get(name)
        if media_type is None:
            return Response("not found", status_code=404, media_type="text/plain")
        return Response((_HERE / "static" / name).read_bytes(), media_type=media_type, headers={"Cache-Control": "no-cache"})

    async def events(self, request: Request) -> Response:
        """Server-sent events: ``state``, ``journal`` and ``webhooks`` say what to re-fetch."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str] = asyncio.Queue()
        pending: set[str] = set()

        def push(kind: str) -> Callable[[Any], None]:
            def deliver() -> None:
                if kind not in pending:  # one queued event per kind: a burst of changes is one refresh
                    pending.add(kind)
                    queue.put_nowait(kind)

            def listener(_: Any) -> None:
                with contextlib.suppress(RuntimeError):  # the loop is gone: the stream is over
                    loop.call_soon_threadsafe(deliver)

            return listener

        webhooks = _webhooks(request)

        def marks() -> dict[str, int]:
            """Where each feed stands: the page re-fetches a fragment only when its mark moved."""
            return {"state": self.backend.changes.revision, "journal": self._journal_seq(), "webhooks": _webhook_seq(webhooks)}

        async def stream() -> AsyncIterator[str]:
            # Subscribed here, not before: only a stream that runs can unsubscribe (in its finally).
            unsubscribe = [self.backend.changes.subscribe(push("state")), self.backend.journal.subscribe(push("journal"))]
            if webhooks is not None:
                on_delivery = push("webhooks")
                webhooks.add_listener(on_delivery)
                unsubscribe.append(lambda: webhooks.remove_listener(on_delivery))
            try:
                yield f"retry: 500\nevent: hello\ndata: {orjson.dumps(marks()).decode()}\n\n"
                deadline = loop.time() + STREAM_SECONDS
                generation = self.generation
                while loop.time() < deadline and generation == self.generation:
                    try:
                        kind = await asyncio.wait_for(queue.get(), _KEEPALIVE_SECONDS)
                    except TimeoutError:
                        yield ": keep-alive\n\n"
                        continue
                    pending.discard(kind)
                    yield f"event: {kind}\ndata: {marks()[kind]}\n\n"
            finally:
                for stop in unsubscribe:
                    stop()

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    # -- helpers ---------------------------------------------------------------------------

    def _chat(self, chat_id: str | None) -> Chat | None:
        if not chat_id:
            return None
        return self.backend.find_chat(chat_id)

    def _journal(self) -> list[dict[str, Any]]:
        entries = self.backend.journal.entries(limit=PANEL_LIMIT)
        entries.reverse()
        return entries

    def _journal_seq(self) -> int:
        last = self.backend.journal.entries(limit=1)
        return int(last[0]["seq"]) if last else 0


def _webhooks(request: Request) -> Any:
    """The app's webhook dispatcher, if it has one (``app.state.webhooks``)."""
    return getattr(request.app.state, "webhooks", None)


def _webhook_seq(webhooks: Any) -> int:
    if webhooks is None:
        return 0
    deliveries = webhooks.deliveries()
    return int(deliveries[-1].seq) if deliveries else 0


def _delivery_rows(webhooks: Any) -> list[dict[str, Any]]:
    if webhooks is None:
        return []
    rows = [d.as_dict() for d in webhooks.deliveries()[-PANEL_LIMIT:]]
    rows.reverse()
    return rows


def _deliveries_by_message(webhooks: Any, chat: Chat | None) -> dict[str, dict[str, Any]]:
    """The latest message-hook delivery of each message of ``chat``."""
    if webhooks is None or chat is None:
        return {}
    latest: dict[str, dict[str, Any]] = {}
    for delivery in webhooks.deliveries(chat_id=chat.id):
        if delivery.message_id and delivery.kind == "message":
            latest[delivery.message_id] = delivery.as_dict()
    return latest


def console_routes(backend: Backend) -> list[Route]:
    """The console's routes over ``backend`` (use :class:`Console` to also end its streams on shutdown)."""
    return Console(backend).routes()
