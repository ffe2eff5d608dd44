"""The operator console: amoCRM's chat screen for the fake, in a browser at ``/__mock__/ui``.

Server-rendered HTML (Jinja2, autoescaped: user text is always shown as text) plus one
small script. The script refreshes page fragments when the server-sent event stream at
``/__mock__/ui/events`` says state, the journal or the webhooks changed, and sends the
manager's actions to the same control-plane endpoints a test would use
(``/__mock__/operator/*``), so every action fires the real signed webhook. This module
holds the routes and what each page shows how much of; ``_console_views`` builds what the
templates see (safe for any stored content), ``_console_stream`` the event stream.

>>> from mock_amojo import create_app
>>> from mock_amojo.testing._inprocess import SyncASGITransport
>>> import httpx
>>> with httpx.Client(transport=SyncASGITransport(create_app()), base_url="http://amojo") as http:
...     page = http.get("/__mock__/ui")
>>> page.status_code, page.headers["content-type"]
(200, 'text/html; charset=utf-8')
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from .. import __version__

if TYPE_CHECKING:
    from jinja2 import Environment
from ..domain import Backend, Chat
from ._console_routes import CONSOLE_PAGES, CONSOLE_PREFIX
from ._console_stream import event_stream
from ._console_views import (
    _clock,
    _moment,
    deliveries_by_message,
    delivery_rows,
    emoji_name,
    leads_view,
    sidebar_view,
    stage_names,
    timeline_view,
)
from ._console_views import _content_view as _content_view
from ._console_views import _pretty as _pretty
from ._console_views import file_size as file_size
from ._console_views import safe_url as safe_url
from ._console_views import unread_count as unread_count
from ._control import CONTROL_PREFIX

__all__ = ["CONSOLE_PREFIX", "Console", "console_routes", "file_size", "safe_url", "unread_count"]

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
            templates.filters.update(clock=_clock, moment=_moment, pretty=_pretty, emoji_name=emoji_name)
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
        with self._seen_lock:
            return sidebar_view(state, self._seen, CHATS_LIMIT)

    def end_streams(self) -> None:
        """End every open event stream within a second (the server is stopping: an open console must not hold it)."""
        self.generation += 1

    def routes(self) -> list[Route]:
        """The console's pages, fragments, event stream and assets."""
        return [Route(CONSOLE_PREFIX + path, getattr(self, name), methods=["GET"]) for path, name in CONSOLE_PAGES]

    def mark_seen(self, chat: Chat) -> None:
        with self._seen_lock:
            self._seen[chat.id] = len(chat.messages)

    def timeline(self, chat: Chat, deliveries: dict[str, dict[str, Any]]) -> dict[str, Any]:
        return timeline_view(self.backend, chat, deliveries, TIMELINE_LIMIT)

    def leads(self) -> list[dict[str, Any]]:
        return leads_view(self.backend.snapshot(), stage_names(self.backend))

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
            view=self.timeline(chat, deliveries_by_message(webhooks, chat)) if chat is not None else None,
            tab=request.query_params.get("tab") or "journal",
            journal=self._journal(),
            deliveries=delivery_rows(webhooks, PANEL_LIMIT),
            has_webhooks=webhooks is not None,
            leads=self.leads(),
            # Names and ids only: the console never shows a secret key.
            integrations=[{"client_id": i.client_id, "name": i.name} for i in self.backend.integrations()],
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
        return self._render("console/timeline.html", view=self.timeline(chat, deliveries_by_message(_webhooks(request), chat)))

    async def journal_fragment(self, request: Request) -> Response:
        return self._render("console/journal.html", journal=self._journal())

    async def webhooks_fragment(self, request: Request) -> Response:
        webhooks = _webhooks(request)
        return self._render("console/webhooks.html", deliveries=delivery_rows(webhooks, PANEL_LIMIT), has_webhooks=webhooks is not None)

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
        return event_stream(self.backend, _webhooks(request), STREAM_SECONDS, lambda: self.generation)

    # -- helpers ---------------------------------------------------------------------------

    def _chat(self, chat_id: str | None) -> Chat | None:
        if not chat_id:
            return None
        return self.backend.find_chat(chat_id)

    def _journal(self) -> list[dict[str, Any]]:
        entries = self.backend.journal.entries(limit=PANEL_LIMIT)
        entries.reverse()
        return entries


def _webhooks(request: Request) -> Any:
    """The app's webhook dispatcher, if it has one (``app.state.webhooks``)."""
    return getattr(request.app.state, "webhooks", None)


def console_routes(backend: Backend) -> list[Route]:
    """The console's routes over ``backend`` (use :class:`Console` to also end its streams on shutdown)."""
    return Console(backend).routes()
