"""One attempt of a prepared hook: sent once through the sender, its outcome recorded.

Delivered means the receiver answered 200; any other answer, no answer within the timeout, or
no connection is failed (amojo does not retry); a scope disconnected before its turn is skipped.
"""

from __future__ import annotations

import asyncio
import time as _time

from ..domain import Backend
from ..wire._signing import redact_secrets
from ._records import Delivery, DeliveryLog, Outcome
from ._senders import MAX_ANSWER, Answer, HookSender, Undelivered, timeout_reason

__all__ = ["Attempts"]

_STOPPED = "not sent: mock-amojo stopped first"


class Attempts:
    """Makes attempts through ``sender`` and records their outcomes in ``log``."""

    def __init__(self, backend: Backend, sender: HookSender, log: DeliveryLog, timeout: float) -> None:
        self.backend = backend
        self.sender = sender
        self.log = log
        self.timeout = timeout

    async def run(self, delivery: Delivery) -> None:
        """One attempt on the sending loop, bounded by the timeout as a whole."""
        if not self._still_connected(delivery):
            return
        delivery.attempted_at = self.backend.clock.now()
        started = _time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                answer = await self.sender.post(delivery.url, delivery.raw, delivery.headers)
        except TimeoutError:
            self.log.finish(delivery, "failed", started=started, error=timeout_reason(self.timeout))
            return
        except Undelivered as failure:
            self.log.finish(delivery, "failed", started=started, error=str(failure))
            return
        except Exception as err:
            self._unforeseen(delivery, err, started)
            return
        self._answered(delivery, answer, started)

    def run_blocking(self, delivery: Delivery) -> None:
        """One attempt on the caller's thread (sync mode); the sender's client bounds it with the timeout."""
        if not self._still_connected(delivery):
            return
        delivery.attempted_at = self.backend.clock.now()
        started = _time.perf_counter()
        try:
            answer = self.sender.post_blocking(delivery.url, delivery.raw, delivery.headers)
        except Undelivered as failure:
            self.log.finish(delivery, "failed", started=started, error=str(failure))
            return
        except Exception as err:
            self._unforeseen(delivery, err, started)
            return
        self._answered(delivery, answer, started)

    def abandon(self, delivery: Delivery) -> None:
        """A hook the fake stopped before sending."""
        self.log.finish(delivery, "failed", error=_STOPPED)

    def _unforeseen(self, delivery: Delivery, error: Exception, started: float) -> None:
        # A failure the sender did not word (e.g. a port no socket takes, inside httpx's task group): the attempt
        # still ends, failed — wait_for and flush rely on every attempt ending, and a reply must not raise.
        while isinstance(error, ExceptionGroup) and len(error.exceptions) == 1 and isinstance(error.exceptions[0], Exception):
            error = error.exceptions[0]
        self.log.finish(delivery, "failed", started=started, error=f"{type(error).__name__}: {error}")

    def _still_connected(self, delivery: Delivery) -> bool:
        scope = self.backend.find_scope(delivery.scope_id)
        connected = scope is not None and scope.connected
        if not connected:
            reason = "scope was disconnected before the hook was sent: amojo sends no hooks after disconnect"
            self.log.finish(delivery, "skipped", error=reason)
        return connected

    def _answered(self, delivery: Delivery, answer: Answer, started: float) -> None:
        text = answer.head[:MAX_ANSWER].decode("utf-8", "replace")
        channel = self.backend.find_channel(delivery.channel_id)
        if channel is not None and channel.secret.lower() in text.lower():
            # A receiver that echoes the secret (a debug answer) must not put it in the record everyone reads.
            text = redact_secrets(text, (channel.secret,))
        outcome: Outcome = "delivered" if answer.status_code == 200 else "failed"
        error = (
            ""
            if outcome == "delivered"
            else f"receiver answered {answer.status_code}; amojo counts only 200 as delivered and does not retry"
        )
        self.log.finish(delivery, outcome, started=started, status_code=answer.status_code, error=error, response_body=text)
