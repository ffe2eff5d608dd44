"""Keep garbage collections short in a long-running server: freeze what survives them.

A served fake only grows (messages, chats, statuses) until someone resets it, and CPython's
full collection walks every tracked object, so its pause grows with the state: ~100 ms at
100k stored messages on a 2-core VM, stalling every request in flight. :class:`FreezingCollector`
moves the survivors of every collection into the permanent generation (``gc.freeze``), so
each pass walks only what was created since the last one. Freezing after the older
generations' passes alone was not enough (measured with ``gc.callbacks`` in the served
process at ~4k requests/s): a generation-1 pass still walked ten youngest passes' worth of
survivors, 3–9 ms every ~1,600 requests, and counting the frozen heap after each freeze
(``gc.get_freeze_count`` walks a linked list: 27 ms for 800k objects) cost as much again —
with 64 requests in flight, each of those pauses held all of them.

Frozen objects are still freed by reference counting when dropped (all of the fake's state
is), but a *cycle* among them would never be collected. So when the interpreter's memory has
doubled since the last full pass — counted in allocated blocks (``sys.getallocatedblocks``,
which reads the allocator's pool headers: ~0.5 ms at 2M blocks, where counting the frozen
heap walks it object by object: 27 ms at 800k objects), and looked at no more than once a
second — the collector thaws it (``gc.unfreeze``) and the next full pass walks everything
once: memory stays within about twice what it was after the last full pass (below
``2 × minimum`` blocks — ~1M, some 60 MB — the heap is never thawed, so a small process is
not walked whole every few thousand requests), one long pause per doubling.

>>> import gc
>>> policy = FreezingCollector(minimum=10**12)  # no thaw here, however much memory this process holds
>>> policy.install()
>>> _ = gc.collect()
>>> gc.get_freeze_count() > 0
True
>>> policy.uninstall()
>>> gc.unfreeze()
"""

from __future__ import annotations

import gc
import sys
import time
from typing import Any

__all__ = ["FreezingCollector"]


class FreezingCollector:
    """Freeze the survivors of every collection; thaw everything when the interpreter's memory doubles."""

    def __init__(self, *, minimum: int = 500_000, check_every: float = 1.0) -> None:
        self.minimum = minimum
        #: Seconds between two looks at the memory (a pass comes every few hundred requests).
        self.check_every = check_every
        #: Allocated blocks after the last full pass that walked everything (at least ``minimum``;
        #: a fresh served fake holds ~135k).
        self.baseline = max(sys.getallocatedblocks(), minimum)
        self._checked = time.monotonic()
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
        if phase != "stop" or (self._thawed and generation < 2):
            return  # after a thaw, everything stays in sight until a full pass has walked it once
        gc.freeze()
        self.freezes += 1
        if self._thawed:
            # That pass walked everything (the thaw put it all back): a new baseline.
            self._thawed = False
            self.baseline = max(sys.getallocatedblocks(), self.minimum)
            return
        now = time.monotonic()
        if now - self._checked < self.check_every:
            return
        self._checked = now
        if sys.getallocatedblocks() > 2 * self.baseline:
            gc.unfreeze()  # the next full pass walks everything once and frees any frozen cycles
            self._thawed = True
            self.thaws += 1
