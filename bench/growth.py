"""Growth: send and history cost at 1k, 100k and 1M stored messages, and memory per stored message.

Each size runs in its own child process so its RSS is the store's alone. The store is filled through
``Backend.send_message`` (the same state code the API calls, minus HTTP, so 1M messages
take seconds); each checkpoint then times requests through the whole in-process pipeline
(signature, schema, state, journal) with pre-signed requests.
"""

from __future__ import annotations

import asyncio
import copy
import gc
import json
import subprocess
import sys
import time
from typing import Any

import orjson

from mock_amojo.wire import parse_connect, parse_send_message

from .asgi_driver import call, request_scope
from .common import ACCOUNT_ID, PREFIX, ROOT, SCOPE_ID, incoming_message, new_message_bodies, rss_kib, standalone_main
from .loadgen import Pool

SIZES = (1_000, 100_000, 1_000_000)
CHATS = 20  # at 1k messages every chat already holds a full history page (50)
SAMPLES = 2_000


def _fill(backend: Any, start: int, stop: int) -> None:
    template = incoming_message("x", "x", "x")
    for n in range(start, stop):
        body = copy.deepcopy(template)
        payload = body["payload"]
        payload["msgid"] = f"fill-{n}"
        payload["conversation_id"] = f"grow-{n % CHATS}"
        payload["sender"]["id"] = f"grow-user-{n % CHATS}"
        payload["message"]["text"] = f"stored message number {n}"
        backend.send_message(SCOPE_ID, parse_send_message(body))


async def _timed(app: Any, pool: Pool) -> tuple[float, float, dict[int, int]]:
    """Mean CPU µs per request and p99 wall µs over the pool."""
    statuses: dict[int, int] = {}
    walls = []
    cpu = time.process_time()
    for i in range(len(pool.items)):
        scope, body = request_scope(pool, i)
        t = time.perf_counter()
        status = await call(app, scope, body)
        walls.append(time.perf_counter() - t)
        statuses[status] = statuses.get(status, 0) + 1
    cpu = time.process_time() - cpu
    walls.sort()
    return cpu / len(walls) * 1e6, walls[int(len(walls) * 0.99)] * 1e6, statuses


def child(sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    from mock_amojo import Config, create_app

    app = create_app(Config(log_level="warning"))
    backend = app.state.backend
    backend.connect(SCOPE_ID.split("_")[0], parse_connect({"account_id": ACCOUNT_ID, "hook_api_version": "v2"}))
    loop = asyncio.new_event_loop()
    rows = []
    stored = 0
    gc.collect()
    base_rss = rss_kib()
    for size in sizes:
        _fill(backend, stored, size)
        stored = size
        gc.collect()
        rss = rss_kib()
        t = time.perf_counter()
        gc.collect()
        full_gc_ms = (time.perf_counter() - t) * 1000
        chat = backend.scope(SCOPE_ID).chats_by_conversation["grow-0"]
        depth = len(chat.messages)
        offset = max(0, (depth - 50) // 2)
        send_pool = Pool.signed("POST", f"{PREFIX}/{SCOPE_ID}", new_message_bodies(SAMPLES, chats=CHATS, tag=f"g{size}"))
        history = Pool.signed("GET", f"{PREFIX}/{SCOPE_ID}/chats/{chat.id}/history", [b""])
        history_pool = Pool(history.method, history.path + f"?offset={offset}&limit=50", history.date, history.items * SAMPLES)
        send_us, send_p99, send_status = loop.run_until_complete(_timed(app, send_pool))
        hist_us, hist_p99, hist_status = loop.run_until_complete(_timed(app, history_pool))
        stored += SAMPLES
        assert set(send_status) == {200} and set(hist_status) == {200}, (send_status, hist_status)
        rows.append(
            {
                "stored": size,
                "send_us": round(send_us, 1),
                "send_p99_us": round(send_p99, 1),
                "history_us": round(hist_us, 1),
                "history_p99_us": round(hist_p99, 1),
                "rss_mib": round(rss / 1024, 1),
                "bytes_per_message": round((rss - base_rss) * 1024 / size),
                "full_gc_ms": round(full_gc_ms, 1),
            }
        )
    return rows


def run(sizes: tuple[int, ...] = SIZES) -> list[dict[str, Any]]:
    # One child per size: the journal keeps the answers to a checkpoint's timed requests (10,000
    # entries, ~22 KiB per history page), so in a shared process a later size's RSS would count
    # the earlier sizes' traffic as bytes per stored message.
    rows: list[dict[str, Any]] = []
    for size in sizes:
        out = subprocess.run(
            [sys.executable, "-m", "bench.growth", json.dumps([size])],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"growth child failed: {out.stderr[-3000:]}")
        rows.extend(json.loads(out.stdout.strip().splitlines()[-1]))
    first = rows[0]
    for row in rows:
        row["send_vs_1k"] = round(row["send_us"] / first["send_us"], 2)
        row["history_vs_1k"] = round(row["history_us"] / first["history_us"], 2)
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("["):
        print(orjson.dumps(child(tuple(json.loads(sys.argv[1])))).decode())
    else:
        standalone_main(lambda quick: run((1_000, 100_000) if quick else SIZES), __doc__)
