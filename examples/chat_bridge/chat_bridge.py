"""A small chat bridge between a messenger and amoCRM's chat API (amojo) — the integration the tests exercise.

It is what a team connecting a messenger to amoCRM writes, using nothing but httpx and
Starlette (no mock-amojo at run time):

* :meth:`Bridge.install` connects the channel to the account (``hook_api_version`` v2);
* :meth:`Bridge.forward` sends a messenger user's message to amoCRM (signed, as amojo
  requires), answering a chat a manager started ("write first") in that chat;
* :meth:`Bridge.webhook_app` is the endpoint amojo calls with a manager's reply: it checks
  the signature, hands the text to the messenger and reports the delivery status back.
"""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["AMOJO_URL", "AmojoRefused", "Bridge", "Channel", "Messenger", "Unreachable", "sign"]

AMOJO_URL = "https://amojo.amocrm.com"
PREFIX = "/v2/origin/custom"


class Messenger(Protocol):
    """The messenger side: deliver ``text`` to one of its users (raise :class:`Unreachable` if you cannot)."""

    def send(self, user_id: str, text: str) -> None: ...


class Unreachable(Exception):
    """The messenger cannot reach this user (amojo error code 904: cannot create the conversation)."""


class AmojoRefused(Exception):
    """amojo answered with an error; the message carries its explanation."""

    def __init__(self, response: httpx.Response) -> None:
        try:
            body = response.json()
            text = f"{body.get('error_type')}: {body.get('error_description')}"
        except ValueError:
            text = response.text or response.reason_phrase
        super().__init__(f"amojo refused {response.request.method} {response.request.url.path}: {response.status_code} {text}")
        self.status_code = response.status_code


@dataclass(frozen=True)
class Channel:
    """What amoCRM support issues for a custom channel, plus the account to connect."""

    channel_id: str
    secret: str
    account_id: str
    base_url: str = AMOJO_URL


def sign(secret: str, method: str, path: str, body: bytes, date: str, content_type: str = "application/json") -> dict[str, str]:
    """amojo's request signature: HMAC-SHA1 over method, Content-MD5, Content-Type, Date and path."""
    md5 = hashlib.md5(body).hexdigest()  # amojo's protocol requires MD5
    canonical = "\n".join([method.upper(), md5, content_type, date, path])
    signature = hmac.new(secret.encode(), canonical.encode(), hashlib.sha1).hexdigest()
    return {"Date": date, "Content-Type": content_type, "Content-MD5": md5, "X-Signature": signature}


@dataclass
class _WriteFirst:
    """A chat a manager started for a phone: the ids the client's answer must carry."""

    chat_id: str
    client_ref_id: str


@dataclass
class Bridge:
    """Moves messages between a messenger and amoCRM for one channel and account."""

    channel: Channel
    messenger: Messenger
    #: messenger users by phone (digits only), to answer chats managers start from the CRM
    directory: dict[str, str] = field(default_factory=dict)
    http: httpx.Client | None = None
    scope_id: str | None = None
    _write_first: dict[str, _WriteFirst] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _client(self) -> httpx.Client:
        if self.http is None:
            self.http = httpx.Client(base_url=self.channel.base_url, timeout=10)
        return self.http

    def close(self) -> None:
        if self.http is not None:
            self.http.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None) -> httpx.Response:
        raw = b"" if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        full_path = f"{PREFIX}/{path}"
        headers = sign(self.channel.secret, method, full_path, raw, email.utils.formatdate(time.time(), usegmt=False))
        response = self._client().request(method, full_path, content=raw, headers=headers)
        if response.status_code >= 400:
            raise AmojoRefused(response)
        return response

    # -- outgoing: messenger -> amoCRM ------------------------------------------------------

    def install(self) -> str:
        """Connect the channel to the account; amojo answers with the scope id every later call uses."""
        body = {"account_id": self.channel.account_id, "title": "Messenger bridge", "hook_api_version": "v2"}
        self.scope_id = str(self._call("POST", f"{self.channel.channel_id}/connect", body).json()["scope_id"])
        return self.scope_id

    def uninstall(self) -> None:
        self._call("DELETE", f"{self.channel.channel_id}/disconnect", {"account_id": self.channel.account_id})
        self.scope_id = None

    def _scope(self) -> str:
        if self.scope_id is None:
            raise RuntimeError("install() first")
        return self.scope_id

    def forward(
        self, *, chat_id: str, user_id: str, name: str, text: str, msgid: str, phone: str | None = None, source: str | None = None
    ) -> str:
        """Send a messenger user's text to amoCRM; returns amojo's message id.

        ``source`` is the ``external_id`` of a source registered in amoCRM (``/api/v4/sources``): the chat's
        incoming lead goes to that source's pipeline.
        """
        now = time.time()
        sender: dict[str, Any] = {"id": user_id, "name": name}
        if phone:
            sender["profile"] = {"phone": phone}
        payload: dict[str, Any] = {
            "timestamp": int(now),
            "msec_timestamp": int(now * 1000),
            "msgid": msgid,
            "conversation_id": chat_id,
            "sender": sender,
            "message": {"type": "text", "text": text},
            "silent": False,
        }
        if source is not None:
            payload["source"] = {"external_id": source}
        with self._lock:
            started = self._write_first.pop(_digits(phone), None) if phone else None
        if started is not None:
            # The client answers a chat a manager started: amojo links it to our ids by these two refs.
            payload["conversation_ref_id"] = started.chat_id
            sender["ref_id"] = started.client_ref_id
        response = self._call("POST", self._scope(), {"event_type": "new_message", "payload": payload})
        return str(response.json()["new_message"]["msgid"])

    def report(self, amojo_msgid: str, status: int, error_code: int | None = None, error: str | None = None) -> None:
        """Tell amoCRM what became of a manager's message: 1 delivered, 2 read, -1 error (with a code)."""
        body: dict[str, Any] = {"msgid": amojo_msgid, "delivery_status": status}
        if error_code is not None:
            body["error_code"] = error_code
        if error:
            body["error"] = error
        self._call("POST", f"{self._scope()}/{amojo_msgid}/delivery_status", body)

    # -- incoming: amoCRM -> messenger ------------------------------------------------------

    def handle_webhook(self, raw: bytes, signature: str) -> int:
        """Process one webhook; returns the HTTP status to answer (amojo counts only 200 as delivered)."""
        expected = hmac.new(self.channel.secret.encode(), raw, hashlib.sha1).hexdigest()
        if not hmac.compare_digest(expected, signature.strip().lower()):
            return 403
        hook = json.loads(raw)
        if "message" not in hook:
            return 200  # typing and reactions: nothing to forward in this bridge
        message = hook["message"]
        content = message["message"]
        receiver = message["receiver"]
        user_id = receiver.get("client_id")
        if user_id is None:
            # "Write first": amoCRM has no chat of ours yet; find the messenger user by phone.
            phone = _digits(receiver.get("phone"))
            user_id = self.directory.get(phone)
            if user_id is not None:
                with self._lock:
                    self._write_first[phone] = _WriteFirst(message["conversation"]["id"], receiver["id"])
        try:
            if user_id is None:
                raise Unreachable(f"no messenger user with phone {receiver.get('phone')!r}")
            self.messenger.send(user_id, content.get("text") or content.get("media", ""))
        except Unreachable as err:
            self.report(content["id"], -1, 904, str(err))
        except Exception as err:  # the messenger failed: amoCRM shows the error text to the manager
            self.report(content["id"], -1, 905, f"messenger error: {err}")
        else:
            self.report(content["id"], 1)
        return 200

    def webhook_app(self) -> Starlette:
        """The HTTP endpoint registered as the channel's webhook URL: ``/amojo/:scope_id``."""

        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            # handle_webhook calls amojo back with a blocking client: keep it off the event loop.
            status = await run_in_threadpool(self.handle_webhook, raw, request.headers.get("x-signature", ""))
            return Response(status_code=status)

        return Starlette(routes=[Route("/amojo/{scope_id}", endpoint, methods=["POST"])])


def _digits(phone: str | None) -> str:
    return "".join(c for c in phone or "" if c.isdigit())
