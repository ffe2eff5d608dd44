"""What the contract suite speaks: amojo's signing, written from the reference alone.

The suite deliberately does not import the fake's own signer: a bug mirrored in
``mock_amojo.wire._signing`` and its verifier would otherwise pass unnoticed. This module is
checked against the published vectors (amojo-api.md §7) by the suite itself.

>>> sign("s3cret", "POST", "/v2/origin/custom/abc/connect", b"{}", date="Wed, 15 Dec 2021 23:12:55 +0000")["Content-MD5"]
'99914b932bd37a50b983c5e7c90ae93b'
"""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = [
    "PREFIX",
    "Channel",
    "Wire",
    "compact",
    "hmac_hex",
    "http_date",
    "legacy_signature",
    "md5_hex",
    "new_id",
    "rfc2822_date",
    "sign",
    "webhook_signature",
]

PREFIX = "/v2/origin/custom"


def md5_hex(body: bytes) -> str:
    return hashlib.md5(body).hexdigest()


def hmac_hex(secret: str, message: bytes | str) -> str:
    """Lowercase hex HMAC-SHA1 keyed with the channel secret."""
    data = message.encode() if isinstance(message, str) else message
    return hmac.new(secret.encode(), data, hashlib.sha1).hexdigest()


def rfc2822_date(at: float | None = None, *, offset_minutes: int = 0) -> str:
    """``Wed, 15 Dec 2021 23:12:55 +0000`` (PHP RFC2822), optionally in another zone."""
    moment = (time.time() if at is None else at) + offset_minutes * 60
    base = email.utils.formatdate(moment, localtime=False, usegmt=False)[:-6]
    sign_char = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{base} {sign_char}{hours:02d}{minutes:02d}"


def http_date(at: float | None = None) -> str:
    """``Wed, 15 Dec 2021 23:12:55 GMT`` (JS toUTCString, the client spelling)."""
    return email.utils.formatdate(time.time() if at is None else at, usegmt=True)


def sign(
    secret: str,
    method: str,
    path: str,
    body: bytes,
    *,
    date: str | None = None,
    content_type: str = "application/json",
) -> dict[str, str]:
    """The four headers of §2: MD5 of the raw bytes, HMAC-SHA1 over the five-line canonical string."""
    date = rfc2822_date() if date is None else date
    md5 = md5_hex(body)
    canonical = "\n".join((method.upper(), md5, content_type, date, path.split("?", 1)[0]))
    return {"Date": date, "Content-Type": content_type, "Content-MD5": md5, "X-Signature": hmac_hex(secret, canonical.encode())}


def webhook_signature(secret: str, body: bytes) -> str:
    """§4: webhooks are signed over the raw body alone."""
    return hmac_hex(secret, body)


def legacy_signature(secret: str, body: bytes) -> str:
    """§2 quirk: the older body-only scheme still honoured on connect/disconnect."""
    return hmac_hex(secret, body)


def new_id(prefix: str = "ct") -> str:
    """A unique integration-side id, so tests never collide (also on a shared live account)."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def compact(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class Channel:
    """One channel and the account it is connected to, as the suite sees them."""

    id: str
    secret: str
    account_id: str
    #: The channel's display name when the target can tell it (None on live amojo).
    name: str | None = None
    #: amojo id of a CRM user of the account (for importing operator messages), when known.
    operator_id: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def scope_id(self) -> str:
        return f"{self.id}_{self.account_id}"


class Wire:
    """Signed HTTP calls for one channel over any ``httpx.Client`` (base URL = amojo's host)."""

    def __init__(self, http: httpx.Client, channel: Channel) -> None:
        self.http = http
        self.channel = channel

    def path(self, tail: str) -> str:
        return f"{PREFIX}/{tail}"

    def send(
        self,
        method: str,
        tail: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        date: str | None = None,
        headers: dict[str, str] | None = None,
        drop: tuple[str, ...] = (),
        params: dict[str, Any] | None = None,
        secret: str | None = None,
        content_type: str = "application/json",
    ) -> httpx.Response:
        """Sign ``raw`` (or compact JSON of ``body``) and send it; ``headers`` override, ``drop`` removes."""
        content = raw if raw is not None else (b"" if body is None else compact(body))
        path = self.path(tail)
        signed = sign(secret or self.channel.secret, method, path, content, date=date, content_type=content_type)
        signed.update(headers or {})
        for name in drop:
            signed.pop(name, None)
        return self.http.request(method, path, content=content, headers=signed, params=params)

    # -- endpoints (§3) ----------------------------------------------------------------

    def connect(self, **fields: Any) -> httpx.Response:
        return self.send("POST", f"{self.channel.id}/connect", {"account_id": self.channel.account_id, **fields})

    def disconnect(self) -> httpx.Response:
        return self.send("DELETE", f"{self.channel.id}/disconnect", {"account_id": self.channel.account_id})

    def create_chat(self, conversation_id: str, user: dict[str, Any], **fields: Any) -> httpx.Response:
        return self.send("POST", f"{self.channel.scope_id}/chats", {"conversation_id": conversation_id, "user": user, **fields})

    def message(self, payload: dict[str, Any], *, event_type: str = "new_message") -> httpx.Response:
        return self.send("POST", self.channel.scope_id, {"event_type": event_type, "payload": payload})

    def delivery_status(self, amojo_msgid: str, body: dict[str, Any]) -> httpx.Response:
        return self.send("POST", f"{self.channel.scope_id}/{amojo_msgid}/delivery_status", body)

    def history(self, chat_id: str, **params: Any) -> httpx.Response:
        return self.send("GET", f"{self.channel.scope_id}/chats/{chat_id}/history", params=params or None)

    def typing(self, body: dict[str, Any]) -> httpx.Response:
        return self.send("POST", f"{self.channel.scope_id}/typing", body)

    def react(self, body: dict[str, Any]) -> httpx.Response:
        return self.send("POST", f"{self.channel.scope_id}/react", body)

    # -- conveniences ------------------------------------------------------------------

    def incoming(self, conversation_id: str, user_id: str, text: str = "hello", **payload: Any) -> httpx.Response:
        """An incoming text message from a client (§3.4: sender only)."""
        now = time.time()
        body: dict[str, Any] = {
            "timestamp": int(now),
            "msec_timestamp": int(now * 1000),
            "msgid": payload.pop("msgid", None) or new_id("msg"),
            "conversation_id": conversation_id,
            "sender": {"id": user_id, "name": payload.pop("name", "Contract Client")},
            "message": payload.pop("message", None) or {"type": "text", "text": text},
            "silent": payload.pop("silent", False),
        }
        body.update(payload)
        return self.message(body)

    def chat_id(self, conversation_id: str, user_id: str) -> str:
        """amojo's chat id for a conversation (create chat is idempotent, §3.3)."""
        response = self.create_chat(conversation_id, {"id": user_id, "name": "Contract Client"})
        assert response.status_code == 200, response.text
        chat_id: str = response.json()["id"]
        return chat_id
