"""Webhook faults: the misbehaviour of amojo's webhook path a test can switch on, per channel or per call."""

from __future__ import annotations

import threading
from typing import Any

import msgspec

from ..config import check_number
from ..errors import ControlError
from ..wire._validation import load_schemas

__all__ = ["FaultTable", "WebhookFaults", "tamper"]


class WebhookFaults(msgspec.Struct, frozen=True):
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
        known = set(cls.__struct_fields__)
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
        return [name for name in self.__struct_fields__ if getattr(self, name)]

    def as_dict(self) -> dict[str, Any]:
        return msgspec.structs.asdict(self)


class FaultTable:
    """The faults in force by channel id (``"*"``: every channel); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_channel: dict[str, WebhookFaults] = {}

    def set(self, faults: WebhookFaults, channel_id: str | None = None) -> None:
        with self._lock:
            if faults.active():
                self._by_channel[channel_id or "*"] = faults
            else:
                self._by_channel.pop(channel_id or "*", None)

    def clear(self, channel_id: str | None = None) -> None:
        with self._lock:
            if channel_id is None:
                self._by_channel.clear()
            else:
                self._by_channel.pop(channel_id, None)

    def all(self) -> dict[str, WebhookFaults]:
        with self._lock:
            return dict(self._by_channel)

    def for_channel(self, channel_id: str) -> WebhookFaults:
        """The faults every channel has, with the channel's own added."""
        with self._lock:
            return self._by_channel.get("*", WebhookFaults()).merged(self._by_channel.get(channel_id))


def tamper(signature: str) -> str:
    """``signature`` made wrong (``tamper_signature``): the last hex digit flipped.

    Same length and alphabet, so only a real HMAC check notices.

    >>> tamper("ab0"), tamper("ab1")
    ('ab1', 'ab0')
    """
    return signature[:-1] + ("0" if signature[-1] != "0" else "1")
