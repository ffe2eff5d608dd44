"""Where asynchronous hooks are sent from: one event loop — the server's, bound by the app's lifespan, else a
private worker thread's — with one lane per chat, so a chat's hooks go out one after another, in order."""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

import msgspec

from ._records import Delivery

__all__ = ["Job", "LaneKey", "SendLoop"]

#: A hook and the seconds to wait before sending it.
Job = tuple[Delivery, float]
#: (scope id, chat id): the hooks of one chat.
LaneKey = tuple[str, str]


class _Lane(msgspec.Struct):
    """The hooks of one chat, sent one after another so their order holds."""

    queue: deque[Job] = msgspec.field(default_factory=deque)
    task: asyncio.Task[None] | None = None


class SendLoop:
    """Runs ``send(delivery)`` for each queued hook on one event loop, lane by lane.

    A hook a stop cancels, or one still queued when the loop stops, goes to ``abandon(delivery)``.
    """

    def __init__(self, send: Callable[[Delivery], Awaitable[None]], abandon: Callable[[Delivery], None]) -> None:
        self._send = send
        self._abandon = abandon
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread_id: int | None = None
        self.lanes: dict[LaneKey, _Lane] = {}
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def on_loop_thread(self) -> bool:
        return self.thread_id is not None and threading.get_ident() == self.thread_id

    def bind(self) -> None:
        """Send on the running loop from now on (unless bound already)."""
        if self.loop is None:
            self.loop = asyncio.get_running_loop()
            self.thread_id = threading.get_ident()

    def bound_to_running_loop(self) -> bool:
        return self.loop is not None and self.loop is asyncio.get_running_loop()

    async def drain(self, grace: float) -> None:
        """Let the lanes finish for ``grace`` seconds, then cancel the rest and abandon what is still queued."""
        tasks = [lane.task for lane in self.lanes.values() if lane.task is not None]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for lane in self.lanes.values():
            while lane.queue:
                delivery, _delay = lane.queue.popleft()
                self._abandon(delivery)
        self.lanes.clear()

    def unbind(self) -> None:
        self.loop = None
        self.thread_id = None

    def stop_worker(self, stop: Callable[[], Coroutine[Any, Any, None]], timeout: float) -> None:
        """Run ``stop()`` on the private worker's loop, then end the worker (if one was started)."""
        thread, loop = self._thread, self.loop
        if thread is None or loop is None:
            return
        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()
        self._thread = None

    def submit(self, key: LaneKey, jobs: Iterable[Job]) -> None:
        """Queue ``jobs`` on the lane ``key``, from any thread."""
        loop = self._ensure_loop()
        if self.on_loop_thread():
            self._enqueue(key, jobs)
        else:
            loop.call_soon_threadsafe(self._enqueue, key, jobs)

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        """Call ``callback`` on the loop after ``delay`` seconds, from any thread."""
        loop = self._ensure_loop()
        loop.call_soon_threadsafe(loop.call_later, delay, callback)

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        loop = self.loop
        if loop is not None:
            return loop
        with self._start_lock:
            return self.loop or self._start_worker()

    def _start_worker(self) -> asyncio.AbstractEventLoop:
        # Not started by a server's lifespan (in-process use): a private loop on a worker thread.
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            self.thread_id = threading.get_ident()
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="mock-amojo-webhooks", daemon=True)
        self.loop = loop
        self._thread.start()
        ready.wait()
        return loop

    def _enqueue(self, key: LaneKey, jobs: Iterable[Job]) -> None:
        lane = self.lanes.get(key)
        if lane is None:
            lane = self.lanes[key] = _Lane()
        lane.queue.extend(jobs)
        if lane.task is None:
            lane.task = asyncio.get_running_loop().create_task(self._run(key, lane), name=f"mock-amojo-webhooks {key[1]}")

    async def _run(self, key: LaneKey, lane: _Lane) -> None:
        try:
            while lane.queue:
                delivery, delay = lane.queue.popleft()
                try:
                    if delay:
                        await asyncio.sleep(delay)
                    await self._send(delivery)
                except asyncio.CancelledError:
                    self._abandon(delivery)
                    raise
        finally:
            lane.task = None
            if not lane.queue and self.lanes.get(key) is lane:
                del self.lanes[key]
