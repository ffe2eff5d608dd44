"""A whole amoCRM chat integration: OAuth install, the account's amojo_id, connect, a source, incoming leads.

What a team ships besides the chat bridge (:mod:`chat_bridge`), using nothing but httpx and Starlette:

* ``GET /oauth`` is the integration's redirect URI: amoCRM sends ``code`` and ``referer`` (the account's
  host) when the account installs it; :meth:`ChatIntegration.authorize` exchanges the code at
  ``/oauth2/access_token``, reads ``GET /api/v4/account?with=amojo_id``, connects the channel with that
  id and registers its source (``POST /api/v4/sources``);
* :meth:`ChatIntegration.receive` sends a messenger user's message to amojo under that source;
* :meth:`ChatIntegration.accept_incoming` accepts the chats' incoming leads into the pipeline
  (``/api/v4/leads/unsorted/{uid}/accept``), responsible: the account's first user;
* ``POST /amojo/{scope_id}`` takes amojo's webhooks (a manager's replies) through the bridge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from chat_bridge import AMOJO_URL, Bridge, Channel, Messenger
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

__all__ = ["SOURCE", "ChatIntegration", "Credentials"]

#: The source this integration's chats come from (``source.external_id`` on every message).
SOURCE = "messenger-bridge"


@dataclass(frozen=True)
class Credentials:
    """What amoCRM shows for a registered integration, plus the chat channel amoCRM support issued."""

    client_id: str
    client_secret: str
    redirect_uri: str
    channel_id: str
    channel_secret: str


@dataclass
class ChatIntegration:
    credentials: Credentials
    messenger: Messenger
    #: Where the account's REST API is; None: ``https://{referer}`` as the redirect says.
    crm_base_url: str | None = None
    amojo_base_url: str = AMOJO_URL
    tokens: dict[str, Any] = field(default_factory=dict)
    bridge: Bridge | None = None
    _crm: httpx.Client | None = None

    # -- install ----------------------------------------------------------------------------

    def authorize(self, code: str, referer: str) -> str:
        """The install: tokens for the code, the account's amojo_id, the channel connected, the source registered."""
        base = self.crm_base_url or f"https://{referer}"
        self._crm = httpx.Client(base_url=base, timeout=10)
        body = {
            "client_id": self.credentials.client_id,
            "client_secret": self.credentials.client_secret,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.credentials.redirect_uri,
        }
        answer = self._crm.post("/oauth2/access_token", json=body)
        answer.raise_for_status()
        self.tokens = answer.json()
        self._crm.headers["Authorization"] = f"Bearer {self.tokens['access_token']}"
        amojo_id = self._get("/api/v4/account", {"with": "amojo_id"})["amojo_id"]
        channel = Channel(self.credentials.channel_id, self.credentials.channel_secret, amojo_id, base_url=self.amojo_base_url)
        self.bridge = Bridge(channel, self.messenger)
        scope_id = self.bridge.install()
        if self._crm.get("/api/v4/sources", params={"filter[external_id][]": SOURCE}).status_code == 204:
            self._crm.post("/api/v4/sources", json=[{"name": "Messenger", "external_id": SOURCE}]).raise_for_status()
        return scope_id

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        assert self._crm is not None, "install the integration first"
        answer = self._crm.get(path, params=params)
        answer.raise_for_status()
        return None if answer.status_code == 204 else answer.json()

    # -- chats -------------------------------------------------------------------------------

    def receive(self, *, chat_id: str, user_id: str, name: str, text: str, msgid: str) -> str:
        """A messenger user wrote: the message goes to amoCRM under this integration's source."""
        assert self.bridge is not None, "install the integration first"
        return self.bridge.forward(chat_id=chat_id, user_id=user_id, name=name, text=text, msgid=msgid, source=SOURCE)

    def accept_incoming(self) -> list[int]:
        """Accept every waiting chat lead into its pipeline's first stage; returns the leads' ids."""
        assert self._crm is not None, "install the integration first"
        waiting = self._get("/api/v4/leads/unsorted", {"filter[category][]": "chats"})
        manager = self._get("/api/v4/users")["_embedded"]["users"][0]["id"]
        accepted = []
        for unsorted in waiting["_embedded"]["unsorted"] if waiting else []:
            answer = self._crm.post(f"/api/v4/leads/unsorted/{unsorted['uid']}/accept", json={"user_id": manager})
            answer.raise_for_status()
            accepted.append(answer.json()["_embedded"]["leads"][0]["id"])
        return accepted

    def lead(self, lead_id: int) -> Any:
        return self._get(f"/api/v4/leads/{lead_id}", {"with": "contacts,source"})

    # -- the app amoCRM calls ----------------------------------------------------------------

    def app(self) -> Starlette:
        """``GET /oauth`` (the redirect URI) and ``POST /amojo/{scope_id}`` (webhooks, once installed)."""

        async def oauth(request: Request) -> Response:
            code, referer = request.query_params.get("code"), request.query_params.get("referer")
            if not code or not referer:
                return PlainTextResponse("code and referer are required", status_code=400)
            await run_in_threadpool(self.authorize, code, referer)
            return PlainTextResponse("installed")

        async def hooks(request: Request) -> Response:
            if self.bridge is None:
                return PlainTextResponse("not installed", status_code=404)
            raw = await request.body()
            status = await run_in_threadpool(self.bridge.handle_webhook, raw, request.headers.get("x-signature", ""))
            return Response(status_code=status)

        return Starlette(routes=[Route("/oauth", oauth), Route("/amojo/{scope_id}", hooks, methods=["POST"])])

    def close(self) -> None:
        if self._crm is not None:
            self._crm.close()
        if self.bridge is not None:
            self.bridge.close()
