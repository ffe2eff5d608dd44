"""Keep full garbage collections short in a long-running server: freeze what survives them.

A served fake only grows (messages, chats, statuses) until someone resets it, and CPython's
full collection walks every tracked object, so its pause grows with the state: ~100 ms at
100k stored messages on a 2-core VM, stalling every request in flight. :class:`FreezingCollector`
moves the survivors of each collection of the older generations (1 and 2) into the
permanent generation (``gc.freeze``), so a full pass only walks what was created since the
last generation-1 pass. Freezing after full passes alone was not enough: with the frozen
heap out of the count, CPython runs a full pass every tenth generation-1 pass, and it
walked ~10 passes' worth of survivors (30–45 ms at ~4k requests/s, measured with
``gc.callbacks`` in the served process: the 64 requests in flight waited that long).

Frozen objects are still freed by reference counting when dropped (all of the fake's state
is), but a *cycle* among them would never be collected. So when the frozen heap has doubled
since it was last thawed, the collector thaws it (``gc.unfreeze``) and the next full pass
walks everything once: memory stays within twice the live set, one long pause per doubling.

>>> import gc
>>> policy = FreezingCollector(minimum=10**9)  # no thaw here, however many objects this process holds
>>> policy.install()
>>> _ = gc.collect()
>>> gc.get_freeze_count() > 0
True
>>> policy.uninstall()
>>> gc.unfreeze()
"""

from __future__ import annotations

import gc
from typing import Any

__all__ = ["FreezingCollector"]


class FreezingCollector:
    """Freeze the survivors of every generation-1 and full collection; thaw everything when the frozen heap doubles."""

    def __init__(self, *, minimum: int = 100_000) -> None:
        self.minimum = minimum
        #: Frozen objects after the last full pass that walked everything (at least ``minimum``).
        self.baseline = max(gc.get_freeze_count(), minimum)
        self.thaws = 0
        self.freezes = 0
        self._thawed = False

    def install(self) -> None:
        if self._on_collection not in gc.callbacks:
            gc.callbacks.append(self._on_collection)

    def uninstall(self) -> None:
        if self._on_collection in gc.callbacks:
            gc.callbacks.remove(self._on_collection)

    def _on_collection(self, phase: str, info: dict[str, Any]) -> None:
        generation = info.get("generation", 0)
        if phase != "stop" or generation < 1 or (self._thawed and generation < 2):
            return  # after a thaw, everything stays in sight until a full pass has walked it once
        gc.freeze()
        self.freezes += 1
        frozen = gc.get_freeze_count()
        if self._thawed:
            # That pass walked everything (the thaw put it all back): a new baseline.
            self._thawed = False
            self.baseline = max(frozen, self.minimum)
        elif frozen > 2 * self.baseline:
            gc.unfreeze()  # the next full pass walks everything once and frees any frozen cycles
            self._thawed = True
            self.thaws += 1
