"""The console's server-sent event stream (``/__mock__/ui/events``): what a page should re-fetch.

Events are ``state``, ``journal`` and ``webhooks``, each carrying the feed's mark (revision or last
sequence number) so the page re-fetches a fragment only when its mark moved. A burst of changes
queues one event per kind; a stream ends after a while (the browser reconnects by itself) or as soon
as the server stops, so an open tab never holds a shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import orjson
from starlette.responses import StreamingResponse

if TYPE_CHECKING:
    from ..domain import Backend

__all__ = ["event_stream"]

_KEEPALIVE_SECONDS = 1.0


def event_stream(backend: Backend, webhooks: Any, seconds: float, generation: Callable[[], int]) -> StreamingResponse:
    """Server-sent events over ``backend`` (and ``webhooks``, the dispatcher if any) for ``seconds``.

    The stream also ends within a keep-alive once ``generation()`` differs from its value when the
    stream started (the console bumps it when the server stops).
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str] = asyncio.Queue()
    pending: set[str] = set()

    def push(kind: str) -> Callable[[Any], None]:
        def deliver() -> None:
            if kind not in pending:  # one queued event per kind: a burst of changes is one refresh
                pending.add(kind)
                queue.put_nowait(kind)

        def listener(_: Any) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is gone: the stream is over
                loop.call_soon_threadsafe(deliver)

        return listener

    def marks() -> dict[str, int]:
        """Where each feed stands: the page re-fetches a fragment only when its mark moved."""
        return {"state": backend.changes.revision, "journal": _journal_seq(backend), "webhooks": _webhook_seq(webhooks)}

    async def stream() -> AsyncIterator[str]:
        # Subscribed here, not before: only a stream that runs can unsubscribe (in its finally).
        unsubscribe = [backend.changes.subscribe(push("state")), backend.journal.subscribe(push("journal"))]
        if webhooks is not None:
            on_delivery = push("webhooks")
            webhooks.add_listener(on_delivery)
            unsubscribe.append(lambda: webhooks.remove_listener(on_delivery))
        try:
            yield f"retry: 500\nevent: hello\ndata: {orjson.dumps(marks()).decode()}\n\n"
            deadline = loop.time() + seconds
            started = generation()
            while loop.time() < deadline and started == generation():
                try:
                    kind = await asyncio.wait_for(queue.get(), _KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                pending.discard(kind)
                yield f"event: {kind}\ndata: {marks()[kind]}\n\n"
        finally:
            for stop in unsubscribe:
                stop()

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _journal_seq(backend: Backend) -> int:
    last = backend.journal.entries(limit=1)
    return int(last[0]["seq"]) if last else 0


def _webhook_seq(webhooks: Any) -> int:
    if webhooks is None:
        return 0
    deliveries = webhooks.deliveries()
    return int(deliveries[-1].seq) if deliveries else 0
