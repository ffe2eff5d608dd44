"""Keep garbage collections short in a long-running server: freeze what survives them.

A served fake only grows until someone resets it, and CPython's full collection walks every
tracked object. :class:`FreezingCollector` moves the survivors of every collection into the
permanent generation (``gc.freeze``), so each pass walks only what is new; when the
interpreter's memory has doubled since the last full collection one is *due* (everything
thawed, walked once so cycles are freed, frozen again), and
:meth:`FreezingCollector.collect_when_quiet` runs it at the first moment without requests.
``mock-amojo serve --gc-policy off`` leaves collection to CPython. Why, with measurements:
``docs/design/performance.md``.

>>> import gc
>>> policy = FreezingCollector(minimum=10**12)  # never due here, however much memory this process holds
>>> policy.install()
>>> _ = gc.collect()
>>> gc.get_freeze_count() > 0
True
>>> policy.uninstall()
>>> gc.unfreeze()
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time
from collections.abc import Callable
from typing import Any

__all__ = ["FreezingCollector", "start_policy"]


class FreezingCollector:
    """Freeze the survivors of every collection; when the interpreter's memory doubles, a full collection is due."""

    def __init__(self, *, minimum: int = 500_000, check_every: float = 1.0) -> None:
        self.minimum = minimum
        #: Seconds between two looks at the memory (a pass comes every few hundred requests).
        self.check_every = check_every
        #: Allocated blocks after the last full collection (at least ``minimum``; a fresh served fake holds ~135k).
        self.baseline = max(sys.getallocatedblocks(), minimum)
        self._checked = time.monotonic()
        #: The memory has doubled since the last full collection: :meth:`collect` should run.
        self.due = False
        self.full_collections = 0
        self.freezes = 0

    def install(self) -> None:
        if self._on_collection not in gc.callbacks:
            gc.callbacks.append(self._on_collection)

    def uninstall(self) -> None:
        if self._on_collection in gc.callbacks:
            gc.callbacks.remove(self._on_collection)

    def _on_collection(self, phase: str, info: dict[str, Any]) -> None:
        if phase != "stop":
            return
        gc.freeze()
        self.freezes += 1
        if self.due:
            return
        now = time.monotonic()
        if now - self._checked < self.check_every:
            return
        self._checked = now
        if sys.getallocatedblocks() > 2 * self.baseline:
            self.due = True

    def collect(self) -> int:
        """Thaw everything, walk it once (freeing any frozen cycle), freeze the survivors; the number collected."""
        gc.unfreeze()
        collected = gc.collect()
        gc.freeze()
        self.baseline = max(sys.getallocatedblocks(), self.minimum)
        self.due = False
        self.full_collections += 1
        return collected

    async def collect_when_quiet(self, activity: Callable[[], int], *, poll: float = 0.1, patience: float = 30.0) -> None:
        """Run :meth:`collect` whenever one is due, at the first ``poll`` with no ``activity`` (a count of requests served).

        After ``patience`` seconds due under unbroken activity it runs anyway. Runs until cancelled.
        """
        seen = activity()
        due_since: float | None = None
        while True:
            await asyncio.sleep(poll)
            now_seen = activity()
            if self.due:
                due_since = due_since if due_since is not None else time.monotonic()
                if now_seen == seen or time.monotonic() - due_since >= patience:
                    self.collect()
                    due_since = None
            seen = now_seen


def start_policy(policy: str, activity: Callable[[], int]) -> asyncio.Task[None] | None:
    """Put ``policy`` (:attr:`Config.gc_policy <mock_amojo.config.Config.gc_policy>`) in force for a server that
    has just started on the running loop; ``activity`` counts its requests. Returns the task to cancel at
    shutdown (cancelling it uninstalls the collector), or None for ``off``: CPython collects as it always does.
    """
    if policy == "off":
        return None
    # Everything loaded so far (modules, schemas, the app, replayed state) lives as long as the process:
    # move it out of the collector's sight, so no full pass rescans it (~40k objects, tens of ms a pass)
    # in the middle of serving requests. No gc.collect() first: it would cost every start ~25 ms to free
    # the few import-time cycles that freezing keeps instead.
    gc.freeze()
    collector = FreezingCollector()
    collector.install()
    task = asyncio.get_running_loop().create_task(collector.collect_when_quiet(activity))
    task.add_done_callback(lambda _: collector.uninstall())
    return task
