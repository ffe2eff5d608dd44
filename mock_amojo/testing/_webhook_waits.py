"""Waiting for a test's webhooks: the next one matching a kind, a chat or a part of its body, without sleeping.

A mixin of :class:`~mock_amojo.testing._sandbox.Sandbox` (the ``amojo`` fixture), and
:func:`webhook_matches`, the containment rule its ``match`` dicts follow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..webhooks import Delivery

if TYPE_CHECKING:
    from ._sandbox import SandboxHost

__all__ = ["WebhookWaits", "webhook_matches"]


class WebhookWaits:
    """The sandbox's webhooks: every delivery of the test, and waiting for the next matching one."""

    host: SandboxHost
    #: Deliveries a wait already returned: consecutive waits walk through the hooks.
    _returned_webhooks: set[str]

    @property
    def webhooks(self) -> list[Delivery]:
        """Every webhook of this test (delivered, failed or skipped), oldest first: ``.json()``, ``.outcome``, ``.headers``."""
        return self.host.webhooks.deliveries()

    def wait_for_webhook(
        self,
        match: Mapping[str, Any] | Callable[[Delivery], bool] | None = None,
        *,
        kind: str | None = None,
        conversation_id: str | None = None,
        timeout: float = 5.0,
    ) -> Delivery:
        """The next webhook of this test matching all criteria — returned the moment it is sent, never by sleeping.

        ``match`` is a predicate on the :class:`~mock_amojo.webhooks.Delivery`, or a dict that
        must be contained in the hook's JSON body (nested: ``{"message": {"message": {"text": "Hi"}}}``).
        Each delivery is returned once, so consecutive calls walk through the hooks.
        """

        def wanted(delivery: Delivery) -> bool:
            if delivery.id in self._returned_webhooks:
                return False
            if kind is not None and delivery.kind != kind:
                return False
            if conversation_id is not None and delivery.conversation_id != conversation_id:
                return False
            if match is None:
                return True
            if callable(match):
                return bool(match(delivery))
            return webhook_matches(delivery.json(), match)

        delivery = self.host.webhooks.wait_for(wanted, timeout)
        self._returned_webhooks.add(delivery.id)
        return delivery

    async def wait_for_webhook_async(
        self,
        match: Mapping[str, Any] | Callable[[Delivery], bool] | None = None,
        *,
        kind: str | None = None,
        conversation_id: str | None = None,
        timeout: float = 5.0,
    ) -> Delivery:
        """:meth:`wait_for_webhook` for async tests (the event loop keeps running while it waits)."""
        return await asyncio.to_thread(self.wait_for_webhook, match, kind=kind, conversation_id=conversation_id, timeout=timeout)


def webhook_matches(body: Any, expected: Any) -> bool:
    """Whether ``expected`` is contained in ``body``: dicts by subset (recursively), anything else by equality.

    >>> webhook_matches({"message": {"message": {"text": "Hi", "type": "text"}}}, {"message": {"message": {"text": "Hi"}}})
    True
    >>> webhook_matches({"action": {"typing": {}}}, {"action": {"reaction": {}}})
    False
    """
    if isinstance(expected, Mapping):
        return isinstance(body, Mapping) and all(k in body and webhook_matches(body[k], v) for k, v in expected.items())
    return bool(body == expected)
