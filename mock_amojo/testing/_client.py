"""A small signed amojo client — what the tests, the contract suite and the examples speak through.

It signs every request exactly as amojo requires and sends the body bytes it signed. It
works against the fake (served or in-process, through any ``httpx.Client``) and against
real amojo.

>>> import httpx
>>> from mock_amojo.testing._inprocess import SyncASGITransport
>>> from mock_amojo import Config, create_app
>>> config = Config()
>>> http = httpx.Client(transport=SyncASGITransport(create_app(config)), base_url="http://amojo")
>>> amojo = AmojoClient(http, config.channel_id, config.channel_secret)
>>> amojo.connect(config.account_id, hook_api_version="v2").json()["scope_id"] == f"{config.channel_id}_{config.account_id}"
True
>>> http.close()
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from ..wire._endpoints import PREFIX
from ..wire._signing import format_date, sign_request

__all__ = ["AmojoClient"]


def connection_problem(error: Exception) -> str:
    """Why a connection could not be made, in the words a person looks for: "connection refused", "unknown host".

    >>> connection_problem(httpx.ConnectError("[Errno 111] Connection refused"))
    'connection refused'
    """
    text = str(error)
    lowered = text.lower()
    if "refused" in lowered:
        return "connection refused"
    if "name or service not known" in lowered or "nodename nor servname" in lowered or "name resolution" in lowered:
        return "unknown host"
    if "timed out" in lowered or isinstance(error, httpx.TimeoutException):
        return "no answer in time"
    return text or type(error).__name__


class AmojoClient:
    """Signed calls to amojo's chat API for one channel.

    ``http`` is any ``httpx.Client`` whose base URL points at amojo (or the fake);
    ``now`` overrides the clock used for Date (e.g. a test's virtual clock).
    """

    def __init__(self, http: httpx.Client, channel_id: str, secret: str, *, now: Any = None) -> None:
        self.http = http
        self.channel_id = channel_id
        self.secret = secret
        self._now = now
        self.scope_id: str | None = None

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """Sign and send. ``body`` is serialised compactly; ``raw`` sends exact bytes instead."""
        content = raw if raw is not None else (b"" if body is None else orjson.dumps(body))
        full_path = path if path.startswith("/") else f"{PREFIX}/{path}"
        date = format_date(self._now()) if self._now is not None else None
        signed = sign_request(self.secret, method, full_path, content, date=date)
        signed.update(headers or {})
        return self.http.request(method, full_path, content=content, headers=signed, params=params)

    # -- amojo endpoints ----------------------------------------------------------------

    def connect(self, account_id: str, **fields: Any) -> httpx.Response:
        response = self.request("POST", f"{self.channel_id}/connect", {"account_id": account_id, **fields})
        if response.status_code == 200:
            self.scope_id = response.json()["scope_id"]
        return response

    def disconnect(self, account_id: str) -> httpx.Response:
        return self.request("DELETE", f"{self.channel_id}/disconnect", {"account_id": account_id})

    def _scope(self, scope_id: str | None) -> str:
        scope = scope_id or self.scope_id
        if scope is None:
            raise ValueError("connect first, or pass scope_id")
        return scope

    def create_chat(self, conversation_id: str, user: dict[str, Any], *, scope_id: str | None = None, **fields: Any) -> httpx.Response:
        return self.request("POST", f"{self._scope(scope_id)}/chats", {"conversation_id": conversation_id, "user": user, **fields})

    def send_message(self, payload: dict[str, Any], *, scope_id: str | None = None, event_type: str = "new_message") -> httpx.Response:
        return self.request("POST", self._scope(scope_id), {"event_type": event_type, "payload": payload})

    def delivery_status(self, msgid: str, status: int, *, scope_id: str | None = None, **fields: Any) -> httpx.Response:
        body = {"msgid": msgid, "delivery_status": status, **fields}
        return self.request("POST", f"{self._scope(scope_id)}/{msgid}/delivery_status", body)

    def history(self, chat_id: str, *, offset: int | None = None, limit: int | None = None, scope_id: str | None = None) -> httpx.Response:
        params = {k: v for k, v in (("offset", offset), ("limit", limit)) if v is not None}
        return self.request("GET", f"{self._scope(scope_id)}/chats/{chat_id}/history", params=params or None)

    def typing(self, conversation_id: str, sender_id: str, *, scope_id: str | None = None, **fields: Any) -> httpx.Response:
        return self.request(
            "POST", f"{self._scope(scope_id)}/typing", {"conversation_id": conversation_id, "sender": {"id": sender_id}, **fields}
        )

    def react(self, body: dict[str, Any], *, scope_id: str | None = None) -> httpx.Response:
        return self.request("POST", f"{self._scope(scope_id)}/react", body)
