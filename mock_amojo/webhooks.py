"""The webhooks amojo sends to an integration: pure body builders and the dispatcher that POSTs them.

Builders turn state into the exact bodies of amojo-api.md §4 (v2.0 message, deprecated v1
message, typing, reaction). :class:`WebhookDispatcher` signs a body
(``X-Signature`` = hex HMAC-SHA1(channel secret, raw body)), sends it once — no retries,
as amojo — with a timeout, keeps the hooks of one chat in order, and records every
delivery (sent, failed or skipped) for ``GET /__mock__/webhooks``, for
:meth:`WebhookDispatcher.wait_for` and for in-process listeners.

Sending is asynchronous (mode ``"async"``): on the server's event loop when the app's
lifespan started the dispatcher, else on a private worker thread; the API never waits for
a receiver. Mode ``"sync"`` sends before the operator call returns — for tests that want
no waiting at all.

>>> from mock_amojo.clock import ManualClock, SequentialIds
>>> from mock_amojo.models import Backend
>>> backend = Backend(clock=ManualClock(1639609975), ids=SequentialIds())
>>> channel = backend.register_channel(secret="0" * 40)
>>> scope = backend.connect(channel.id, {"account_id": "acc-1", "hook_api_version": "v2"})
>>> chat = backend.create_chat(scope.id, {"conversation_id": "c1", "user": {"id": "u1", "name": "Ann"}})
>>> reply = backend.operator_reply(scope.id, conversation_id="c1", message={"type": "text", "text": "Hi"})
>>> body = message_hook_v2(scope, chat, reply, time=1639609975)
>>> body["message"]["conversation"] == {"id": chat.id, "client_id": "c1"}, body["message"]["message"]["text"]
(True, 'Hi')
>>> encode_body({"account_id": "a", "time": 1})
b'{"account_id":"a","time":1}'
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sys
import threading
import time as _time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import orjson

from . import jsonbytes
from .config import check_number
from .errors import ControlError
from .hookclient import HookClient, HookConnectError, HookProtocolError
from .models import Backend, Chat, Message, Scope
from .signing import redact_secrets, sign_webhook
from .validation import load_schemas

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DELIVERY_STATUSES",
    "Delivery",
    "HookKind",
    "WebhookDispatcher",
    "WebhookFaults",
    "WebhookTimeout",
    "encode_body",
    "message_hook_v1",
    "message_hook_v2",
    "reaction_hook",
    "typing_hook",
    "v1_unsupported_reason",
    "webhook_url",
]

HookKind = Literal["message", "typing", "reaction"]
DeliveryStatus = Literal["pending", "delivered", "failed", "skipped"]
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = ("pending", "delivered", "failed", "skipped")
WebhookMode = Literal["async", "sync"]

#: v1 is frozen with these message types (amojo-api.md §4.5).
V1_TYPES = frozenset({"text", "file", "video", "picture"})
_MEDIA_TYPES = frozenset({"picture", "file", "video", "voice", "audio", "sticker"})
_MAX_RESPONSE_CHARS = 2048  # bytes of a receiver's answer kept for the delivery record
_STOP_GRACE = 1.0


def _httpx_patched() -> bool:
    """Is httpx patched (respx, or the pytest plugin's in-process routing)? Then hooks must go through it.

    httpx is imported only when something needs it (it is a fifth of `mock-amojo serve`'s start-up):
    if nobody has imported it, nobody has patched it. Otherwise the two methods respx can patch
    must be httpx's and httpcore's own definitions — found by where they were defined, so the
    answer does not depend on whether a patch came before or after this module was imported.
    """
    if "httpx" not in sys.modules:
        return False
    import httpcore
    import httpx

    return not (
        _defined_in(httpx.AsyncClient._transport_for_url, "httpx")
        and _defined_in(httpcore.AsyncConnectionPool.handle_async_request, "httpcore")
    )


def _defined_in(function: Any, package: str) -> bool:
    module = getattr(function, "__module__", None) or ""
    # A wrapper made with functools.wraps copies __module__ but keeps the original as __wrapped__.
    return (module == package or module.startswith(package + ".")) and not hasattr(function, "__wrapped__")


class _Undelivered(Exception):
    """An httpx failure, worded as a failed delivery records it (httpx's exception types stay in httpx)."""


def _undelivered(error: Exception, timeout: float) -> _Undelivered:
    import httpx

    if isinstance(error, httpx.TimeoutException):
        return _Undelivered(_timeout_reason(timeout))
    return _Undelivered(f"{type(error).__name__}: {error or 'connection failed'}")


def _timeout_reason(timeout: float) -> str:
    return f"timeout: no answer within {timeout:g} s (amojo gives up, no retry)"


# -- pure builders -----------------------------------------------------------------------


def webhook_url(template: str, scope_id: str) -> str:
    """The channel's hook URL with the literal ``:scope_id`` replaced (amojo-api.md §4).

    >>> webhook_url("https://example.com/amojo/:scope_id", "chan_acc")
    'https://example.com/amojo/chan_acc'
    """
    return template.replace(":scope_id", scope_id)


def encode_body(body: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON, non-ASCII unescaped, no trailing newline — what every receiver can verify (§9).

    Trimmed to its length (:mod:`mock_amojo.jsonbytes`): the delivery log keeps it.
    """
    return jsonbytes.dumps(body)


def _hook_content(message: Message) -> dict[str, Any]:
    content = message.content
    kind = content.get("type", "text")
    media = kind in _MEDIA_TYPES
    # The seed example sends "" and 0 for unused media fields; typed receivers depend on that.
    body: dict[str, Any] = {
        "id": message.id,
        "type": kind,
        "text": content.get("text") or "",
        "tag": "",
        "media": (content.get("media") or "") if media else "",
        "thumbnail": (content.get("thumbnail") or "") if kind in ("picture", "video") else "",
        "file_name": content.get("file_name") or "",
        "file_size": content.get("file_size") or 0,
    }
    for name in ("markup", "template", "media_group_id", "location", "contact"):
        if content.get(name) is not None:
            body[name] = content[name]
    if message.reply_to is not None:
        quoted = message.reply_to["message"]
        embedded: dict[str, Any] = {"id": quoted["id"], "type": quoted.get("type") or "text", "text": quoted.get("text") or ""}
        if quoted.get("msgid"):
            embedded["client_id"] = quoted["msgid"]
        body["reply_to"] = {"message": embedded}
    return body


def message_hook_v2(scope: Scope, chat: Chat, message: Message, *, time: int) -> dict[str, Any]:
    """The Webhook v2.0 body for a manager's message (amojo-api.md §4.1; write-first §4.2)."""
    client = message.receiver or chat.client
    receiver: dict[str, Any] = {"id": client.id, "phone": client.phone, "email": client.email}
    if client.client_id:
        receiver["client_id"] = client.client_id
    conversation: dict[str, Any] = {"id": chat.id}
    if chat.conversation_id is not None:
        conversation["client_id"] = chat.conversation_id
    inner: dict[str, Any] = {"receiver": receiver, "sender": {"id": message.sender.id}, "conversation": conversation}
    if message.source:
        inner["source"] = {"external_id": message.source}
    inner["timestamp"] = message.timestamp
    inner["msec_timestamp"] = message.msec_timestamp
    inner["message"] = _hook_content(message)
    return {"account_id": scope.account_id, "time": time, "message": inner}


def v1_unsupported_reason(chat: Chat, message: Message) -> str | None:
    """Why the frozen v1 body cannot carry this message, or None when it can."""
    kind = message.content.get("type", "text")
    if kind not in V1_TYPES:
        return f"hook_api_version v1 has no message type {kind!r} (only text, file, video, picture); connect with v2"
    if chat.conversation_id is None or not (message.receiver or chat.client).client_id:
        return "hook_api_version v1 carries only integration ids, and a chat started from the CRM has none yet; connect with v2"
    return None


def message_hook_v1(chat: Chat, message: Message) -> dict[str, Any]:
    """The deprecated flat v1 body (amojo-api.md §4.5); check :func:`v1_unsupported_reason` first."""
    content = _hook_content(message)
    client = message.receiver or chat.client
    return {
        "receiver": client.client_id or "",
        "conversation_id": chat.conversation_id or "",
        "type": content["type"],
        "text": content["text"],
        "media": content["media"],
        "thumbnail": content["thumbnail"],
        "file_name": content["file_name"],
        "file_size": content["file_size"],
        "msec_timestamp": message.msec_timestamp,
    }


def _conversation(chat: Chat) -> dict[str, Any]:
    conversation: dict[str, Any] = {"id": chat.id}
    if chat.conversation_id is not None:
        conversation["client_id"] = chat.conversation_id
    return conversation


def typing_hook(scope: Scope, chat: Chat, user_id: str, *, expired_at: int, time: int) -> dict[str, Any]:
    """A manager is typing (amojo-api.md §4.3; the user nested as in the reference's example)."""
    typing = {"user": {"id": user_id}, "conversation": _conversation(chat), "expired_at": expired_at}
    return {"account_id": scope.account_id, "time": time, "action": {"typing": typing}}


def reaction_hook(scope: Scope, chat: Chat, message: Message, user_id: str, *, type: str, emoji: str | None, time: int) -> dict[str, Any]:
    """A manager reacts (amojo-api.md §4.4): both the example's flat ``msgid`` and the table's ``message``."""
    target: dict[str, Any] = {"id": message.id}
    if message.msgid is not None:
        target["client_id"] = message.msgid
    target["sender"] = {"id": message.sender.id}
    if message.receiver is not None:
        target["receiver"] = {"id": message.receiver.id}
    target["timestamp"] = message.timestamp
    target["msec_timestamp"] = message.msec_timestamp
    reaction: dict[str, Any] = {
        "msgid": message.id,
        "message": target,
        "user": {"id": user_id},
        "conversation": _conversation(chat),
        "type": type,
    }
    if type == "react" and emoji:
        reaction["emoji"] = emoji
    return {"account_id": scope.account_id, "time": time, "action": {"reaction": reaction}}


# -- faults --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebhookFaults:
    """Misbehaviour of amojo's webhook path an integration must survive; all off by default.

    ``delay``: seconds before sending (amojo moves slow integrations to a slower queue).
    ``duplicate``: the same signed body twice (at-least-once delivery seen in practice).
    ``out_of_order``: sent after the next hook of the same chat (parallel workers).
    ``tamper_signature``: a wrong ``X-Signature`` (a forged request, or a rotated secret).
    ``stale_time``: ``time`` this many seconds in the past (a replayed or long-queued hook).

    >>> WebhookFaults(delay=0.5).merged(WebhookFaults(duplicate=True)).active()
    ['delay', 'duplicate']
    """

    delay: float = 0.0
    duplicate: bool = False
    out_of_order: bool = False
    tamper_signature: bool = False
    stale_time: int = 0

    def __post_init__(self) -> None:
        # Faults are set from Python too (sandbox settings, operator calls): the schema is the one rule for their
        # values, so a NaN delay or a float stale_time is refused here as in a control-plane body.
        if (self.delay, self.duplicate, self.out_of_order, self.tamper_signature, self.stale_time) != (0, False, False, False, 0):
            check_number("faults.delay", self.delay)  # the schema would report NaN as "null"
            check_number("faults.stale_time", self.stale_time)
            load_schemas().validate("control_faults.request.json", {"faults": self.as_dict()})

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> WebhookFaults:
        """From a body shaped like ``webhook_faults`` (schemas/definitions.json); the constructor checks the values."""
        if not data:
            return cls()
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ControlError(f"Unknown webhook fault(s): {', '.join(unknown)}.", hint=f"Known faults: {', '.join(sorted(known))}.")
        return cls(**{k: v for k, v in data.items() if v is not None})

    def merged(self, override: WebhookFaults | None) -> WebhookFaults:
        """These faults with every fault ``override`` switches on added (a per-call fault wins)."""
        if override is None:
            return self
        return WebhookFaults(
            delay=override.delay or self.delay,
            duplicate=self.duplicate or override.duplicate,
            out_of_order=self.out_of_order or override.out_of_order,
            tamper_signature=self.tamper_signature or override.tamper_signature,
            stale_time=override.stale_time or self.stale_time,
        )

    def active(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self) if getattr(self, f.name)]

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# -- deliveries ----------------------------------------------------------------------------


@dataclass(slots=True)
class Delivery:
    """One webhook attempt and its outcome, as ``GET /__mock__/webhooks`` shows it."""

    id: str
    seq: int
    kind: HookKind
    scope_id: str
    channel_id: str
    account_id: str
    chat_id: str
    conversation_id: str | None
    message_id: str | None
    hook_api_version: str
    url: str
    headers: dict[str, str]
    raw: bytes
    queued_at: float
    faults: list[str] = field(default_factory=list)
    duplicate_of: str | None = None
    status: DeliveryStatus = "pending"
    status_code: int | None = None
    latency_ms: float | None = None
    error: str = ""
    response_body: str = ""
    attempted_at: float | None = None
    #: True once the listeners have seen the outcome: what wait_for and flush wait for.
    settled: bool = False

    @property
    def body(self) -> str:
        """The raw body exactly as signed and sent."""
        return self.raw.decode("utf-8")

    def json(self) -> Any:
        return orjson.loads(self.raw)

    @property
    def done(self) -> bool:
        return self.status != "pending"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "seq": self.seq,
            "kind": self.kind,
            "status": self.status,
            "scope_id": self.scope_id,
            "channel_id": self.channel_id,
            "account_id": self.account_id,
            "chat_id": self.chat_id,
            "conversation_id": self.conversation_id,
            "message_id": self.message_id,
            "hook_api_version": self.hook_api_version,
            "url": self.url,
            "method": "POST",
            "headers": dict(self.headers),
            "body": self.body,
            "payload": self.json(),
            "faults": list(self.faults),
            "duplicate_of": self.duplicate_of,
            "queued_at": self.queued_at,
            "attempted_at": self.attempted_at,
            "status_code": self.status_code,
            "latency_ms": self.latency_ms,
            "error": self.error,
            "response_body": self.response_body,
        }


class WebhookTimeout(TimeoutError):
    """No finished delivery matched within the timeout; the message lists what was recorded."""


Listener = Callable[[Delivery], None]
_LaneKey = tuple[str, str]


@dataclass(slots=True)
class _Lane:
    """The hooks of one chat, sent one after another so their order holds."""

    queue: deque[tuple[Delivery, float]] = field(default_factory=deque)
    task: asyncio.Task[None] | None = None


def _tamper(signature: str) -> str:
    # Flip the last hex digit: same length and alphabet, so only a real HMAC check notices.
    return signature[:-1] + ("0" if signature[-1] != "0" else "1")


class WebhookDispatcher:
    """Signs, sends (once, with a timeout) and records the webhooks of one backend.

    ``mode="async"`` (default) queues each hook on a per-chat lane of the event loop the
    app's lifespan started it on (or of a private worker thread) and returns at once;
    ``mode="sync"`` sends before returning. Either way every hook becomes a
    :class:`Delivery` in :meth:`deliveries` and is passed to the listeners.

    >>> from mock_amojo.models import Backend
    >>> backend = Backend()
    >>> channel = backend.register_channel(secret="0" * 40)  # no webhook_url: hooks are recorded, not sent
    >>> scope = backend.connect(channel.id, {"account_id": "acc-1", "hook_api_version": "v2"})
    >>> _ = backend.create_chat(scope.id, {"conversation_id": "c1", "user": {"id": "u1", "name": "Ann"}})
    >>> dispatcher = WebhookDispatcher(backend, mode="sync")
    >>> seen = []
    >>> dispatcher.add_listener(seen.append)
    >>> reply = backend.operator_reply(scope.id, conversation_id="c1", message={"type": "text", "text": "Hi"})
    >>> delivery = dispatcher.send_message_hook(reply)
    >>> seen == [delivery], delivery.status, delivery.json()["message"]["message"]["text"]
    (True, 'skipped', 'Hi')
    >>> dispatcher.wait_for(lambda d: d.message_id == reply.id).headers["X-Signature"] == sign_webhook("0" * 40, delivery.raw)
    True
    >>> dispatcher.close()
    """

    def __init__(
        self,
        backend: Backend,
        *,
        timeout: float = 5.0,
        mode: WebhookMode = "async",
        max_deliveries: int = 10_000,
        out_of_order_wait: float = 1.0,
    ) -> None:
        if mode not in ("async", "sync"):
            raise ValueError(f"webhook mode must be 'async' or 'sync', got {mode!r}")
        self.backend = backend
        self.timeout = timeout
        self.mode: WebhookMode = mode
        #: How long an ``out_of_order`` hook waits for the chat's next hook before it goes alone (async mode).
        self.out_of_order_wait = out_of_order_wait
        self._cond = threading.Condition()
        self._deliveries: deque[Delivery] = deque(maxlen=max_deliveries)
        self._seq = 0
        self._listeners: list[Listener] = []
        self._faults: dict[str, WebhookFaults] = {}
        self._held: dict[_LaneKey, list[tuple[Delivery, float]]] = {}
        self.listener_errors: list[Exception] = []
        # Event-loop side (touched only on the loop's thread).
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._thread: threading.Thread | None = None
        self._client: HookClient | None = None
        self._httpx_client: httpx.AsyncClient | None = None
        self._lanes: dict[_LaneKey, _Lane] = {}
        self._sync_client: httpx.Client | None = None
        self._start_lock = threading.Lock()
        backend.add_seeder(self._forget)

    # -- lifecycle -------------------------------------------------------------------------

    def _forget(self, backend: Backend) -> None:
        """A backend reset forgets deliveries and faults too (pending hooks still finish)."""
        with self._cond:
            self._deliveries.clear()
            self._faults.clear()

    async def start(self) -> None:
        """Send on the running loop (the server's) from now on; called by the app's lifespan.

        Bound in sync mode too, so switching :attr:`mode` to ``"async"`` later still sends from the server's loop.
        """
        if self._loop is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()

    async def stop(self) -> None:
        """Let queued hooks finish briefly, then cancel the rest (recorded as failed) and close the client."""
        if self._loop is None or self._loop is not asyncio.get_running_loop():
            return
        self._release_all_held()
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=_STOP_GRACE)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for lane in self._lanes.values():
            while lane.queue:
                delivery, _delay = lane.queue.popleft()
                self._finish(delivery, "failed", error="not sent: mock-amojo stopped first")
        self._lanes.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._httpx_client is not None:
            await self._httpx_client.aclose()
            self._httpx_client = None
        self._loop = None
        self._loop_thread = None

    def close(self) -> None:
        """Send held hooks, stop the private worker thread (if one was started), close HTTP clients; idempotent."""
        if self.mode == "sync":
            self._release_all_held()
        thread, loop = self._thread, self._loop
        if thread is not None and loop is not None:
            asyncio.run_coroutine_threadsafe(self.stop(), loop).result(timeout=self.timeout + 5)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            loop.close()
            self._thread = None
        if self._sync_client is not None:
            self._sync_client.close()
            self._sync_client = None

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is not None:
            return loop
        with self._start_lock:
            return self._loop or self._start_worker()

    def _start_worker(self) -> asyncio.AbstractEventLoop:
        # Not started by a server's lifespan (in-process use): a private loop on a worker thread.
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            self._loop_thread = threading.get_ident()
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="mock-amojo-webhooks", daemon=True)
        self._loop = loop
        self._thread.start()
        ready.wait()
        return loop

    # -- faults and listeners --------------------------------------------------------------

    def set_faults(self, faults: WebhookFaults, channel_id: str | None = None) -> None:
        """Apply ``faults`` to every hook of a channel (all channels when ``channel_id`` is None)."""
        with self._cond:
            if faults.active():
                self._faults[channel_id or "*"] = faults
            else:
                self._faults.pop(channel_id or "*", None)

    def clear_faults(self, channel_id: str | None = None) -> None:
        """Switch faults off for one channel, or for all when ``channel_id`` is None."""
        with self._cond:
            if channel_id is None:
                self._faults.clear()
            else:
                self._faults.pop(channel_id, None)

    def faults(self) -> dict[str, WebhookFaults]:
        """The configured faults by channel id (``"*"``: every channel)."""
        with self._cond:
            return dict(self._faults)

    def faults_for(self, channel_id: str) -> WebhookFaults:
        with self._cond:
            return self._faults.get("*", WebhookFaults()).merged(self._faults.get(channel_id))

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(delivery)`` for every finished delivery (sent, failed or skipped)."""
        with self._cond:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with self._cond, contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    # -- reading deliveries ----------------------------------------------------------------

    def deliveries(
        self,
        scope_id: str | None = None,
        conversation_id: str | None = None,
        *,
        chat_id: str | None = None,
        kind: str | None = None,
        status: str | None = None,
        since: int = 0,
    ) -> list[Delivery]:
        """Recorded deliveries, oldest first, filtered; ``conversation_id`` is the integration's chat id."""
        with self._cond:
            return [
                d
                for d in self._deliveries
                if d.seq > since
                and (scope_id is None or d.scope_id == scope_id)
                and (conversation_id is None or d.conversation_id == conversation_id)
                and (chat_id is None or d.chat_id == chat_id)
                and (kind is None or d.kind == kind)
                and (status is None or d.status == status)
            ]

    def wait_for(self, predicate: Callable[[Delivery], bool] | None = None, timeout: float = 5.0) -> Delivery:
        """The first finished delivery matching ``predicate``, waiting up to ``timeout`` seconds for it.

        No sleeping: woken the moment a delivery finishes. Call it from a test's thread, not
        from the event loop that sends the hooks (use :meth:`wait_for_async` there).
        """
        if self._loop_thread is not None and threading.get_ident() == self._loop_thread:
            raise RuntimeError("wait_for would block the event loop that sends the hooks; use 'await dispatcher.wait_for_async(...)'")
        deadline = _time.monotonic() + timeout
        with self._cond:
            while True:
                for delivery in self._deliveries:
                    if delivery.settled and (predicate is None or predicate(delivery)):
                        return delivery
                remaining = deadline - _time.monotonic()
                if remaining <= 0:
                    seen = [f"{d.kind} {d.status} {d.url or '(no url)'} {d.error}".strip() for d in self._deliveries]
                    raise WebhookTimeout(
                        f"No matching webhook delivery finished within {timeout} s. Recorded: {seen[-10:] or 'none'}."
                        " Is the scope connected with a webhook_url?"
                    )
                self._cond.wait(remaining)

    async def wait_for_async(self, predicate: Callable[[Delivery], bool] | None = None, timeout: float = 5.0) -> Delivery:
        """:meth:`wait_for` for async code: waits on a helper thread, so the loop keeps sending."""
        return await asyncio.to_thread(self._wait_off_loop, predicate, timeout)

    def _wait_off_loop(self, predicate: Callable[[Delivery], bool] | None, timeout: float) -> Delivery:
        return self.wait_for(predicate, timeout)

    def flush(self, timeout: float | None = None) -> None:
        """Send any held (``out_of_order``) hooks now and wait until no delivery is pending."""
        self._release_all_held()
        deadline = _time.monotonic() + (timeout if timeout is not None else self.timeout + 5)
        with self._cond:
            while any(not d.settled for d in self._deliveries):
                remaining = deadline - _time.monotonic()
                if remaining <= 0:
                    raise WebhookTimeout("Webhook deliveries still pending after flush timeout.")
                self._cond.wait(remaining)

    # -- submitting ------------------------------------------------------------------------

    def send_message_hook(self, message: Message, faults: WebhookFaults | None = None) -> Delivery:
        """Queue the message hook for a manager's message, in the scope's hook version."""
        with self.backend.locked():
            chat = self.backend.chats[message.chat_id]
            scope = self.backend.scopes[chat.scope_id]
            reason = v1_unsupported_reason(chat, message) if scope.hook_api_version == "v1" else None
            if scope.hook_api_version == "v1" and reason is None:
                body = message_hook_v1(chat, message)
            else:
                body = message_hook_v2(scope, chat, message, time=self._now())
            prepared = self._prepare("message", scope, chat, message.id, body, faults, skip=reason)
        return self._launch(*prepared)

    def send_typing_hook(self, chat: Chat, faults: WebhookFaults | None = None) -> Delivery:
        """Queue the typing hook for a manager typing in ``chat`` (skipped within 5 s of the last one)."""
        with self.backend.locked():
            scope = self.backend.scopes[chat.scope_id]
            typing = chat.operator_typing or {}
            body = typing_hook(scope, chat, typing.get("user", ""), expired_at=int(typing.get("expired_at", 0)), time=self._now())
            skip = None if typing.get("notify", True) else "amojo sends a typing hook at most once per 5 s"
            prepared = self._prepare("typing", scope, chat, None, body, faults, skip=skip)
        return self._launch(*prepared)

    def send_reaction_hook(
        self, message: Message, user_id: str, *, type: str, emoji: str | None, faults: WebhookFaults | None = None
    ) -> Delivery:
        """Queue the reaction hook for a manager reacting to ``message``."""
        with self.backend.locked():
            chat = self.backend.chats[message.chat_id]
            scope = self.backend.scopes[chat.scope_id]
            body = reaction_hook(scope, chat, message, user_id, type=type, emoji=emoji, time=self._now())
            prepared = self._prepare("reaction", scope, chat, message.id, body, faults)
        return self._launch(*prepared)

    def _now(self) -> int:
        return int(self.backend.clock.now())

    def _prepare(
        self,
        kind: HookKind,
        scope: Scope,
        chat: Chat,
        message_id: str | None,
        body: dict[str, Any],
        faults: WebhookFaults | None,
        *,
        skip: str | None = None,
    ) -> tuple[Delivery, WebhookFaults, str | None]:
        """Sign and record a hook; runs under the backend lock, so it reads a consistent state."""
        channel = self.backend.channels[scope.channel_id]
        effective = self.faults_for(channel.id).merged(faults)
        if effective.stale_time and "time" in body:
            body["time"] -= effective.stale_time
        raw = encode_body(body)
        signature = sign_webhook(channel.secret, raw)
        if effective.tamper_signature:
            signature = _tamper(signature)
        if skip is None and not scope.connected:
            skip = "scope is disconnected: amojo sends no hooks after disconnect"
        if skip is None and not channel.webhook_url:
            skip = "channel has no webhook_url (set it with POST /__mock__/channels or --webhook-url)"
        delivery = self._record(
            kind=kind,
            scope_id=scope.id,
            channel_id=channel.id,
            account_id=scope.account_id,
            chat_id=chat.id,
            conversation_id=chat.conversation_id,
            message_id=message_id,
            hook_api_version=scope.hook_api_version,
            url=webhook_url(channel.webhook_url, scope.id) if channel.webhook_url else "",
            headers={"Content-Type": "application/json", "X-Signature": signature},
            raw=raw,
            queued_at=self.backend.clock.now(),
            faults=effective.active(),
        )
        return delivery, effective, skip

    def _launch(self, delivery: Delivery, effective: WebhookFaults, skip: str | None) -> Delivery:
        """Send (sync) or queue (async) a prepared hook — never under the backend lock."""
        if skip is not None:
            self._finish(delivery, "skipped", error=skip)
            return delivery
        jobs = [(delivery, effective.delay)]
        if effective.duplicate:
            copy = self._record(**{**_copy_fields(delivery), "duplicate_of": delivery.id})
            jobs.append((copy, 0.0))
        self._dispatch((delivery.scope_id, delivery.chat_id), jobs, effective.out_of_order)
        return delivery

    def _record(self, **fields: Any) -> Delivery:
        with self._cond:
            self._seq += 1
            delivery = Delivery(id=self.backend.ids.new(), seq=self._seq, **fields)
            self._deliveries.append(delivery)
            return delivery

    def _dispatch(self, key: _LaneKey, jobs: list[tuple[Delivery, float]], hold: bool) -> None:
        with self._cond:
            held = self._held.pop(key, [])
            if hold:
                self._held[key] = held + jobs
                ready: list[tuple[Delivery, float]] = []
            else:
                ready = jobs + held  # the held hooks go right after the one that overtook them
        if hold and self.mode == "async":
            loop = self._ensure_loop()
            loop.call_soon_threadsafe(loop.call_later, self.out_of_order_wait, self._release_held, key)
        if ready:
            self._send(key, ready)

    def _release_held(self, key: _LaneKey) -> None:
        with self._cond:
            held = self._held.pop(key, [])
        if held:
            self._send(key, held)

    def _release_all_held(self) -> None:
        with self._cond:
            keys = list(self._held)
        for key in keys:
            self._release_held(key)

    def _send(self, key: _LaneKey, jobs: list[tuple[Delivery, float]]) -> None:
        if self.mode == "sync":
            for delivery, delay in jobs:
                if delay:
                    _time.sleep(delay)
                self._post_sync(delivery)
            return
        loop = self._ensure_loop()
        if threading.get_ident() == self._loop_thread:
            self._enqueue(key, jobs)
        else:
            loop.call_soon_threadsafe(self._enqueue, key, jobs)

    # -- the event-loop side -----------------------------------------------------------------

    def _enqueue(self, key: _LaneKey, jobs: Iterable[tuple[Delivery, float]]) -> None:
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane()
        lane.queue.extend(jobs)
        if lane.task is None:
            lane.task = asyncio.get_running_loop().create_task(self._drain(key, lane), name=f"mock-amojo-webhooks {key[1]}")

    async def _drain(self, key: _LaneKey, lane: _Lane) -> None:
        try:
            while lane.queue:
                delivery, delay = lane.queue.popleft()
                try:
                    if delay:
                        await asyncio.sleep(delay)
                    await self._post_async(delivery)
                except asyncio.CancelledError:
                    self._finish(delivery, "failed", error="not sent: mock-amojo stopped first")
                    raise
        finally:
            lane.task = None
            if not lane.queue and self._lanes.get(key) is lane:
                del self._lanes[key]

    async def _post_async(self, delivery: Delivery) -> None:
        if not self._still_connected(delivery):
            return
        delivery.attempted_at = self.backend.clock.now()
        started = _time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                if _httpx_patched():
                    # respx or the in-process routing serves hooks to apps in the test process: go through httpx so they see them.
                    status_code, head = await self._post_httpx(delivery)
                else:
                    if self._client is None:
                        # A lean keep-alive client: httpx costs ~1 ms of CPU per hook, which caps a served fake far below amojo's pace.
                        self._client = HookClient()
                    # Keep only the start of the answer: a receiver streaming megabytes must not fill the fake's memory.
                    response = await self._client.post(delivery.url, delivery.raw, delivery.headers, max_body=_MAX_RESPONSE_CHARS)
                    status_code, head = response.status_code, response.body
        except TimeoutError:
            self._finish(delivery, "failed", started=started, error=_timeout_reason(self.timeout))
            return
        except _Undelivered as failure:
            self._finish(delivery, "failed", started=started, error=str(failure))
            return
        except HookConnectError as err:
            self._finish(delivery, "failed", started=started, error=f"ConnectError: {err or 'connection failed'}")
            return
        except (HookProtocolError, ConnectionError, OSError) as err:
            self._finish(delivery, "failed", started=started, error=f"{type(err).__name__}: {err or 'connection failed'}")
            return
        self._finish_response(delivery, status_code, head, started)

    async def _post_httpx(self, delivery: Delivery) -> tuple[int, bytes]:
        import httpx

        if self._httpx_client is None:
            # trust_env=False: a proxy from the environment must never intercept hooks to 127.0.0.1.
            self._httpx_client = httpx.AsyncClient(timeout=self.timeout, trust_env=False, follow_redirects=False)
        try:
            request = self._httpx_client.build_request("POST", delivery.url, content=delivery.raw, headers=delivery.headers)
            response = await self._httpx_client.send(request, stream=True)
            try:
                head = b""
                async for chunk in response.aiter_bytes():
                    head += chunk
                    if len(head) >= _MAX_RESPONSE_CHARS:
                        break
            finally:
                await response.aclose()
        except httpx.HTTPError as err:
            raise _undelivered(err, self.timeout) from err
        return response.status_code, head

    # -- the synchronous side ----------------------------------------------------------------

    def _post_sync(self, delivery: Delivery) -> None:
        if not self._still_connected(delivery):
            return
        import httpx

        if self._sync_client is None:
            self._sync_client = httpx.Client(timeout=self.timeout, trust_env=False, follow_redirects=False)
        delivery.attempted_at = self.backend.clock.now()
        started = _time.perf_counter()
        try:
            with self._sync_client.stream("POST", delivery.url, content=delivery.raw, headers=delivery.headers) as response:
                head = b""
                for chunk in response.iter_bytes():
                    head += chunk
                    if len(head) >= _MAX_RESPONSE_CHARS:
                        break
        except httpx.HTTPError as err:
            self._finish(delivery, "failed", started=started, error=str(_undelivered(err, self.timeout)))
            return
        self._finish_response(delivery, response.status_code, head, started)

    # -- outcomes ------------------------------------------------------------------------------

    def _still_connected(self, delivery: Delivery) -> bool:
        with self.backend.locked():
            scope = self.backend.scopes.get(delivery.scope_id)
            connected = scope is not None and scope.connected
        if not connected:
            self._finish(
                delivery, "skipped", error="scope was disconnected before the hook was sent: amojo sends no hooks after disconnect"
            )
        return connected

    def _finish_response(self, delivery: Delivery, status_code: int, head: bytes, started: float) -> None:
        text = head[:_MAX_RESPONSE_CHARS].decode("utf-8", "replace")
        channel = self.backend.channels.get(delivery.channel_id)
        if channel is not None and channel.secret.lower() in text.lower():
            # A receiver that echoes the secret (a debug answer) must not put it in the record everyone reads.
            text = redact_secrets(text, (channel.secret,))
        if status_code == 200:
            self._finish(delivery, "delivered", started=started, status_code=200, response_body=text)
        else:
            error = f"receiver answered {status_code}; amojo counts only 200 as delivered and does not retry"
            self._finish(delivery, "failed", started=started, status_code=status_code, error=error, response_body=text)

    def _finish(
        self,
        delivery: Delivery,
        status: DeliveryStatus,
        *,
        started: float | None = None,
        status_code: int | None = None,
        error: str = "",
        response_body: str = "",
    ) -> None:
        with self._cond:
            if delivery.done:
                return
            if started is not None:
                delivery.latency_ms = round((_time.perf_counter() - started) * 1000, 3)
            delivery.status_code = status_code
            delivery.error = error
            delivery.response_body = response_body
            delivery.status = status
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(delivery)
            except Exception as exc:  # a listener's bug must not stop the hooks; the test sees it in listener_errors
                self.listener_errors.append(exc)
        with self._cond:
            delivery.settled = True
            self._cond.notify_all()


def _copy_fields(delivery: Delivery) -> dict[str, Any]:
    names = (
        "kind",
        "scope_id",
        "channel_id",
        "account_id",
        "chat_id",
        "conversation_id",
        "message_id",
        "hook_api_version",
        "url",
        "raw",
        "queued_at",
    )
    fields_ = {name: getattr(delivery, name) for name in names}
    fields_["headers"] = dict(delivery.headers)
    fields_["faults"] = list(delivery.faults)
    return fields_
