"""What a webhook attempt recorded, and the bounded log of those records that tests wait on.

An attempt's **outcome** (``pending``, ``delivered``, ``failed``, ``skipped``) says what became of
one POST of a hook to the integration. It is not a message's amojo ``delivery_status`` (sent,
delivered, read, error) that an integration reports about its own messages: the two share the
word "delivered" and nothing else.
"""

from __future__ import annotations

import threading
import time as _time
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

import msgspec
import orjson

__all__ = ["OUTCOMES", "Delivery", "DeliveryLog", "HookKind", "Listener", "Outcome", "WebhookTimeout"]

HookKind = Literal["message", "typing", "reaction"]
Outcome = Literal["pending", "delivered", "failed", "skipped"]
#: Every outcome of a webhook attempt: waiting to be sent, answered 200, not answered 200, not sent (with why).
OUTCOMES: tuple[Outcome, ...] = ("pending", "delivered", "failed", "skipped")


class Delivery(msgspec.Struct):
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
    faults: list[str] = msgspec.field(default_factory=list)
    duplicate_of: str | None = None
    outcome: Outcome = "pending"
    status_code: int | None = None
    latency_ms: float | None = None
    error: str = ""
    response_body: str = ""
    attempted_at: float | None = None
    #: True once the listeners have seen the outcome: what wait_for and flush wait for.
    settled: bool = False

    @property
    def status(self) -> Outcome:
        """The :attr:`outcome` under its former name (kept for code written against 0.1)."""
        return self.outcome

    @property
    def body(self) -> str:
        """The raw body exactly as signed and sent."""
        return self.raw.decode("utf-8")

    def json(self) -> Any:
        return orjson.loads(self.raw)

    @property
    def done(self) -> bool:
        return self.outcome != "pending"

    def copy_for_duplicate(self) -> dict[str, Any]:
        """The fields of a second attempt with the same signed body (the ``duplicate`` fault)."""
        return {
            "kind": self.kind,
            "scope_id": self.scope_id,
            "channel_id": self.channel_id,
            "account_id": self.account_id,
            "chat_id": self.chat_id,
            "conversation_id": self.conversation_id,
            "message_id": self.message_id,
            "hook_api_version": self.hook_api_version,
            "url": self.url,
            "headers": dict(self.headers),
            "raw": self.raw,
            "queued_at": self.queued_at,
            "faults": list(self.faults),
            "duplicate_of": self.id,
        }

    def as_dict(self) -> dict[str, Any]:
        """The JSON record; ``status`` repeats ``outcome`` under the name 0.1 gave it."""
        return {
            "id": self.id,
            "seq": self.seq,
            "kind": self.kind,
            "outcome": self.outcome,
            "status": self.outcome,
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


class DeliveryLog:
    """The last ``max_deliveries`` attempts, numbered; each outcome told to the listeners, then waited-for.

    Thread-safe: hooks are recorded on the caller's thread and finished on the sending loop's.
    """

    def __init__(self, max_deliveries: int) -> None:
        self._cond = threading.Condition()
        self._deliveries: deque[Delivery] = deque(maxlen=max_deliveries)
        self._seq = 0
        self._listeners: list[Listener] = []
        self.listener_errors: list[Exception] = []

    def record(self, id: str, **fields: Any) -> Delivery:
        """A new pending attempt."""
        with self._cond:
            self._seq += 1
            delivery = Delivery(id=id, seq=self._seq, **fields)
            self._deliveries.append(delivery)
            return delivery

    def clear(self) -> None:
        with self._cond:
            self._deliveries.clear()

    def add_listener(self, listener: Listener) -> None:
        with self._cond:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with self._cond:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def finish(
        self,
        delivery: Delivery,
        outcome: Outcome,
        *,
        started: float | None = None,
        status_code: int | None = None,
        error: str = "",
        response_body: str = "",
    ) -> None:
        """Record the outcome (once: a later call for the same attempt changes nothing), tell the listeners, wake waiters."""
        with self._cond:
            if delivery.done:
                return
            if started is not None:
                delivery.latency_ms = round((_time.perf_counter() - started) * 1000, 3)
            delivery.status_code = status_code
            delivery.error = error
            delivery.response_body = response_body
            delivery.outcome = outcome
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(delivery)
            except Exception as exc:  # a listener's bug must not stop the hooks; the test sees it in listener_errors
                self.listener_errors.append(exc)
        with self._cond:
            delivery.settled = True
            self._cond.notify_all()

    def select(
        self,
        scope_id: str | None = None,
        conversation_id: str | None = None,
        *,
        chat_id: str | None = None,
        kind: str | None = None,
        outcome: str | None = None,
        since: int = 0,
    ) -> list[Delivery]:
        with self._cond:
            return [
                d
                for d in self._deliveries
                if d.seq > since
                and (scope_id is None or d.scope_id == scope_id)
                and (conversation_id is None or d.conversation_id == conversation_id)
                and (chat_id is None or d.chat_id == chat_id)
                and (kind is None or d.kind == kind)
                and (outcome is None or d.outcome == outcome)
            ]

    def wait_for(self, predicate: Callable[[Delivery], bool] | None, timeout: float) -> Delivery:
        """The first settled attempt matching ``predicate``, woken the moment one settles (no sleeping)."""
        deadline = _time.monotonic() + timeout
        with self._cond:
            while True:
                for delivery in self._deliveries:
                    if delivery.settled and (predicate is None or predicate(delivery)):
                        return delivery
                remaining = deadline - _time.monotonic()
                if remaining <= 0:
                    seen = [f"{d.kind} {d.outcome} {d.url or '(no url)'} {d.error}".strip() for d in self._deliveries]
                    raise WebhookTimeout(
                        f"No matching webhook delivery finished within {timeout} s. Recorded: {seen[-10:] or 'none'}."
                        " Is the scope connected with a webhook_url?"
                    )
                self._cond.wait(remaining)

    def wait_settled(self, timeout: float) -> None:
        """Wait until every recorded attempt has settled."""
        deadline = _time.monotonic() + timeout
        with self._cond:
            while any(not d.settled for d in self._deliveries):
                remaining = deadline - _time.monotonic()
                if remaining <= 0:
                    raise WebhookTimeout("Webhook deliveries still pending after flush timeout.")
                self._cond.wait(remaining)
