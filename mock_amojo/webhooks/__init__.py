"""The webhooks amojo sends to an integration: their bodies, faults, records, and the dispatcher that sends them.

- bodies (:func:`message_hook_v2`, :func:`message_hook_v1`, :func:`typing_hook`, :func:`reaction_hook`):
  the exact JSON of amojo-api.md §4, built from domain objects — pure, no I/O;
- :class:`WebhookFaults`: misbehaviour of amojo's webhook path a test switches on;
- :class:`Delivery`: what one attempt recorded, with its **outcome** (:data:`OUTCOMES`) — not to be
  confused with a message's amojo ``delivery_status``;
- :class:`WebhookDispatcher`: signs a body (``X-Signature`` = hex HMAC-SHA1(channel secret, raw body)),
  sends it once — no retries, as amojo — with a timeout, keeps the hooks of one chat in order, and
  records every attempt for ``GET /__mock__/webhooks``, :meth:`~WebhookDispatcher.wait_for` and listeners.
  Mode ``"async"`` sends in the background (the API never waits for a receiver), ``"sync"`` before the
  operator call returns;
- one sender interface (:class:`HookSender`) with the ``httpx`` and ``lean`` clients, chosen by
  :func:`choose_client`: httpx everywhere but ``mock-amojo serve``, so respx and in-process routing see the hooks.
"""

from __future__ import annotations

from ._bodies import encode_body, message_hook_v1, message_hook_v2, reaction_hook, typing_hook, v1_unsupported_reason, webhook_url
from ._dispatcher import WebhookDispatcher, WebhookMode
from ._faults import WebhookFaults
from ._records import OUTCOMES, Delivery, HookKind, Outcome, WebhookTimeout
from ._senders import HookSender, WebhookClient, choose_client

#: The former name of :data:`OUTCOMES` (0.1 called a webhook attempt's outcome its "delivery status").
DELIVERY_STATUSES = OUTCOMES

__all__ = [
    "DELIVERY_STATUSES",
    "OUTCOMES",
    "Delivery",
    "HookKind",
    "HookSender",
    "Outcome",
    "WebhookClient",
    "WebhookDispatcher",
    "WebhookFaults",
    "WebhookMode",
    "WebhookTimeout",
    "choose_client",
    "encode_body",
    "message_hook_v1",
    "message_hook_v2",
    "reaction_hook",
    "typing_hook",
    "v1_unsupported_reason",
    "webhook_url",
]
