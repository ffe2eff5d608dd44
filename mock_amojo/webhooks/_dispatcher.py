"""The webhook dispatcher: turns a manager's action into a signed hook, sends it once and records the outcome.

It orchestrates the other parts: the outbox that prepares a hook (:mod:`._outbox`), the record log
(:mod:`._records`), the sending loop and its lanes (:mod:`._lanes`) or the caller's thread (sync mode),
and the attempts through the sender (:mod:`._attempts`, :mod:`._senders`).
"""

from __future__ import annotations

import asyncio
import threading
import time as _time
from collections.abc import Callable
from typing import Literal

from ..domain import Backend, Chat, Message
from ._attempts import Attempts
from ._faults import FaultTable, WebhookFaults
from ._lanes import Job, LaneKey, SendLoop
from ._outbox import Outbox, Prepared
from ._records import Delivery, DeliveryLog, Listener
from ._senders import HookSender, WebhookClient, make_sender

__all__ = ["WebhookDispatcher", "WebhookMode"]

WebhookMode = Literal["async", "sync"]
_STOP_GRACE = 1.0


class WebhookDispatcher:
    """Signs, sends (once, with a timeout) and records the webhooks of one backend.

    ``mode="async"`` (default) queues each hook on a per-chat lane of the event loop the
    app's lifespan started it on (or of a private worker thread) and returns at once;
    ``mode="sync"`` sends before returning. Either way every hook becomes a
    :class:`~mock_amojo.webhooks.Delivery` in :meth:`deliveries`, whose ``outcome`` the listeners are told.
    ``client`` is what sends: ``"httpx"`` (respx and in-process routing see the hooks) or ``"lean"``
    (see :func:`~mock_amojo.webhooks.choose_client`).

    >>> from mock_amojo.domain import Backend
    >>> from mock_amojo.wire._signing import sign_webhook
    >>> backend = Backend()
    >>> channel = backend.register_channel(secret="0" * 40)  # no webhook_url: hooks are recorded, not sent
    >>> from mock_amojo.wire import Connect, CreateChat, Party, Text
    >>> scope = backend.connect(channel.id, Connect("acc-1", hook_api_version="v2"))
    >>> _ = backend.create_chat(scope.id, CreateChat("c1", Party("u1", name="Ann")))
    >>> dispatcher = WebhookDispatcher(backend, mode="sync")
    >>> seen = []
    >>> dispatcher.add_listener(seen.append)
    >>> reply = backend.operator_reply(scope.id, conversation_id="c1", message=Text("Hi"))
    >>> delivery = dispatcher.send_message_hook(reply)
    >>> seen == [delivery], delivery.outcome, delivery.json()["message"]["message"]["text"]
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
        client: WebhookClient = "httpx",
    ) -> None:
        if mode not in ("async", "sync"):
            raise ValueError(f"webhook mode must be 'async' or 'sync', got {mode!r}")
        self.backend = backend
        self.timeout = timeout
        self.mode: WebhookMode = mode
        #: How long an ``out_of_order`` hook waits for the chat's next hook before it goes alone (async mode).
        self.out_of_order_wait = out_of_order_wait
        self.client: WebhookClient = client
        self.sender: HookSender = make_sender(client, timeout)
        self._log = DeliveryLog(max_deliveries)
        self._faults = FaultTable()
        self._outbox = Outbox(backend, self._faults, self._log)
        self._attempts = Attempts(backend, self.sender, self._log, timeout)
        self._held_lock = threading.Lock()
        self._held: dict[LaneKey, list[Job]] = {}
        self._sending = SendLoop(self._attempts.run, self._attempts.abandon)
        backend.add_seeder(self._forget)

    @property
    def listener_errors(self) -> list[Exception]:
        """Exceptions listeners raised (a listener's bug never stops the hooks)."""
        return self._log.listener_errors

    # -- lifecycle -------------------------------------------------------------------------

    def _forget(self, backend: Backend) -> None:
        """A backend reset forgets deliveries and faults too (pending hooks still finish)."""
        self._log.clear()
        self._faults.clear()

    async def start(self) -> None:
        """Send on the running loop (the server's) from now on; called by the app's lifespan.

        Bound in sync mode too, so switching :attr:`mode` to ``"async"`` later still sends from the server's loop.
        """
        self._sending.bind()

    async def stop(self) -> None:
        """Let queued hooks finish briefly, then cancel the rest (recorded as failed) and close the sender's client."""
        if not self._sending.bound_to_running_loop():
            return
        self._release_all_held()
        await self._sending.drain(_STOP_GRACE)
        await self.sender.aclose()
        self._sending.unbind()

    def close(self) -> None:
        """Send held hooks, stop the private worker thread (if one was started), close HTTP clients; idempotent."""
        if self.mode == "sync":
            self._release_all_held()
        self._sending.stop_worker(self.stop, self.timeout + 5)
        self.sender.close()

    # -- faults and listeners --------------------------------------------------------------

    def set_faults(self, faults: WebhookFaults, channel_id: str | None = None) -> None:
        """Apply ``faults`` to every hook of a channel (all channels when ``channel_id`` is None)."""
        self._faults.set(faults, channel_id)

    def clear_faults(self, channel_id: str | None = None) -> None:
        """Switch faults off for one channel, or for all when ``channel_id`` is None."""
        self._faults.clear(channel_id)

    def faults(self) -> dict[str, WebhookFaults]:
        """The configured faults by channel id (``"*"``: every channel)."""
        return self._faults.all()

    def faults_for(self, channel_id: str) -> WebhookFaults:
        return self._faults.for_channel(channel_id)

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(delivery)`` for every finished delivery (delivered, failed or skipped)."""
        self._log.add_listener(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._log.remove_listener(listener)

    # -- reading deliveries ----------------------------------------------------------------

    def deliveries(
        self,
        scope_id: str | None = None,
        conversation_id: str | None = None,
        *,
        chat_id: str | None = None,
        kind: str | None = None,
        outcome: str | None = None,
        status: str | None = None,
        since: int = 0,
    ) -> list[Delivery]:
        """Recorded deliveries, oldest first, filtered; ``conversation_id`` is the integration's chat id.

        ``status`` is ``outcome``'s former name.
        """
        return self._log.select(scope_id, conversation_id, chat_id=chat_id, kind=kind, outcome=outcome or status, since=since)

    def wait_for(self, predicate: Callable[[Delivery], bool] | None = None, timeout: float = 5.0) -> Delivery:
        """The first finished delivery matching ``predicate``, waiting up to ``timeout`` seconds for it.

        No sleeping: woken the moment a delivery finishes. Call it from a test's thread, not
        from the event loop that sends the hooks (use :meth:`wait_for_async` there).
        """
        if self._sending.on_loop_thread():
            raise RuntimeError("wait_for would block the event loop that sends the hooks; use 'await dispatcher.wait_for_async(...)'")
        return self._log.wait_for(predicate, timeout)

    async def wait_for_async(self, predicate: Callable[[Delivery], bool] | None = None, timeout: float = 5.0) -> Delivery:
        """:meth:`wait_for` for async code: waits on a helper thread, so the loop keeps sending."""
        return await asyncio.to_thread(self.wait_for, predicate, timeout)

    def flush(self, timeout: float | None = None) -> None:
        """Send any held (``out_of_order``) hooks now and wait until no delivery is pending."""
        self._release_all_held()
        self._log.wait_settled(timeout if timeout is not None else self.timeout + 5)

    # -- submitting ------------------------------------------------------------------------

    def send_message_hook(self, message: Message, faults: WebhookFaults | None = None) -> Delivery:
        """Queue the message hook for a manager's message, in the scope's hook version."""
        return self._launch(self._outbox.message(message, faults))

    def send_typing_hook(self, chat: Chat, faults: WebhookFaults | None = None) -> Delivery:
        """Queue the typing hook for a manager typing in ``chat`` (skipped within 5 s of the last one)."""
        return self._launch(self._outbox.typing(chat, faults))

    def send_reaction_hook(
        self, message: Message, user_id: str, *, type: str, emoji: str | None, faults: WebhookFaults | None = None
    ) -> Delivery:
        """Queue the reaction hook for a manager reacting to ``message``."""
        return self._launch(self._outbox.reaction(message, user_id, type=type, emoji=emoji, faults=faults))

    def _launch(self, prepared: Prepared) -> Delivery:
        """Send (sync) or queue (async) a prepared hook — never under the backend lock."""
        delivery, effective, skip = prepared
        if skip is not None:
            self._log.finish(delivery, "skipped", error=skip)
            return delivery
        jobs = [(delivery, effective.delay)]
        if effective.duplicate:
            jobs.append((self._outbox.duplicate(delivery), 0.0))
        self._dispatch((delivery.scope_id, delivery.chat_id), jobs, effective.out_of_order)
        return delivery

    def _dispatch(self, key: LaneKey, jobs: list[Job], hold: bool) -> None:
        with self._held_lock:
            held = self._held.pop(key, [])
            if hold:
                self._held[key] = held + jobs
                ready: list[Job] = []
            else:
                ready = jobs + held  # the held hooks go right after the one that overtook them
        if hold and self.mode == "async":
            self._sending.call_later(self.out_of_order_wait, lambda: self._release_held(key))
        if ready:
            self._send(key, ready)

    def _release_held(self, key: LaneKey) -> None:
        with self._held_lock:
            held = self._held.pop(key, [])
        if held:
            self._send(key, held)

    def _release_all_held(self) -> None:
        with self._held_lock:
            keys = list(self._held)
        for key in keys:
            self._release_held(key)

    def _send(self, key: LaneKey, jobs: list[Job]) -> None:
        if self.mode == "async":
            self._sending.submit(key, jobs)
            return
        for delivery, delay in jobs:
            if delay:
                _time.sleep(delay)
            self._attempts.run_blocking(delivery)
