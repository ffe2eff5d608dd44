"""A manager's action turned into a hook ready to send: its body read from the state, faults applied,
signed, checked for a reason not to send it, and recorded as a pending attempt."""

from __future__ import annotations

from typing import Any, NamedTuple

from ..domain import Backend, Chat, Message, Scope
from ..wire._signing import sign_webhook
from ._bodies import encode_body, message_hook_v1, message_hook_v2, reaction_hook, typing_hook, v1_unsupported_reason, webhook_url
from ._faults import FaultTable, WebhookFaults, tamper
from ._records import Delivery, DeliveryLog, HookKind

__all__ = ["Outbox", "Prepared"]


class Prepared(NamedTuple):
    """A recorded hook, the faults it is sent with, and why it is not sent at all (None: it is)."""

    delivery: Delivery
    faults: WebhookFaults
    skip: str | None


class Outbox:
    """Prepares the hooks of one backend from the state its read methods give."""

    def __init__(self, backend: Backend, faults: FaultTable, log: DeliveryLog) -> None:
        self.backend = backend
        self.faults = faults
        self.log = log

    def message(self, message: Message, faults: WebhookFaults | None) -> Prepared:
        """The message hook for a manager's message, in the scope's hook version."""
        chat = self.backend.chat_of(message)
        scope = self.backend.scope_of(chat)
        reason = v1_unsupported_reason(chat, message) if scope.hook_api_version == "v1" else None
        if scope.hook_api_version == "v1" and reason is None:
            body = message_hook_v1(chat, message)
        else:
            body = message_hook_v2(scope, chat, message, time=self._now())
        return self._prepare("message", scope, chat, message.id, body, faults, skip=reason)

    def typing(self, chat: Chat, faults: WebhookFaults | None) -> Prepared:
        """The typing hook for a manager typing in ``chat`` (skipped within 5 s of the last one)."""
        scope = self.backend.scope_of(chat)
        typing = chat.operator_typing
        user, expired_at, notify = ("", 0, True) if typing is None else (typing.user, typing.expired_at, typing.notify)
        body = typing_hook(scope, chat, user, expired_at=expired_at, time=self._now())
        skip = None if notify else "amojo sends a typing hook at most once per 5 s"
        return self._prepare("typing", scope, chat, None, body, faults, skip=skip)

    def reaction(self, message: Message, user_id: str, *, type: str, emoji: str | None, faults: WebhookFaults | None) -> Prepared:
        """The reaction hook for a manager reacting to ``message``."""
        chat = self.backend.chat_of(message)
        scope = self.backend.scope_of(chat)
        body = reaction_hook(scope, chat, message, user_id, type=type, emoji=emoji, time=self._now())
        return self._prepare("reaction", scope, chat, message.id, body, faults)

    def duplicate(self, delivery: Delivery) -> Delivery:
        """A second attempt with the same signed body (the ``duplicate`` fault)."""
        return self.log.record(self.backend.ids.new(), **delivery.copy_for_duplicate())

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
    ) -> Prepared:
        channel = self.backend.channel(scope.channel_id)
        effective = self.faults.for_channel(channel.id).merged(faults)
        if effective.stale_time and "time" in body:
            body["time"] -= effective.stale_time
        raw = encode_body(body)
        signature = sign_webhook(channel.secret, raw)
        if effective.tamper_signature:
            signature = tamper(signature)
        if skip is None and not scope.connected:
            skip = "scope is disconnected: amojo sends no hooks after disconnect"
        if skip is None and not channel.webhook_url:
            skip = f"channel has no webhook_url (set it with PATCH /__mock__/channels/{channel.id} or --webhook-url)"
        delivery = self.log.record(
            self.backend.ids.new(),
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
        return Prepared(delivery, effective, skip)
