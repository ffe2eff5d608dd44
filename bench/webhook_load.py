"""Sustained webhooks/s: `mock-amojo serve` sending manager-reply hooks to a receiver process.

The receiver is a bare uvicorn app in its own process (so it does not share a GIL with the
load); replies go in through ``POST /__mock__/operator/reply`` over keep-alive connections
as fast as the server takes them. Measured: hooks received per second from the first reply
to the last hook, over 1 chat (one ordered lane) and over 50 chats (lanes in parallel).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import httpx
import orjson

from mock_amojo.testing._client import AmojoClient

from .common import ACCOUNT_ID, CHANNEL_ID, HOST, SCOPE_ID, SECRET, free_port, mock_command, server
from .loadgen import Pool, run_load

RECEIVER = "bench.webhook_receiver:app"


def _receiver_command(port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", RECEIVER, "--host", HOST, "--port", str(port), "--log-level", "warning", "--no-access-log"]


def _burst(port: int, receiver: str, chats: int, count: int, generator: str) -> tuple[float, int, float]:
    """Replies as fast as the server takes them (the same load generator as the served benchmark), then wait for the hooks."""
    bodies = [
        orjson.dumps({"scope_id": SCOPE_ID, "conversation_id": f"hook-chat-{n % chats}", "message": {"type": "text", "text": f"reply {n}"}})
        for n in range(count + 16)
    ]
    pool = Pool.signed("POST", "/__mock__/operator/reply", bodies)  # the control plane ignores the signature headers
    with httpx.Client(timeout=5, trust_env=False) as rx:
        before = rx.get(f"{receiver}/count").json()["count"]
        started = time.perf_counter()
        load = run_load(pool, port, 8, 60, count, generator)
        api_done = time.perf_counter() - started
        deadline = time.perf_counter() + 120
        received = 0
        while time.perf_counter() < deadline:
            received = rx.get(f"{receiver}/count").json()["count"] - before
            if received >= load.requests:
                break
            time.sleep(0.005)
        assert load.non2xx == 0, load
        return time.perf_counter() - started, received, api_done


def run(quick: bool = False) -> list[dict[str, Any]]:
    count = 1000 if quick else 5000
    # Count-bounded: wrk stops sending at the cap but still waits out its duration, so the Python client measures this.
    generator = "python"
    rx_port, mock_port = free_port(), free_port()
    receiver = f"http://{HOST}:{rx_port}"
    rows: list[dict[str, Any]] = []
    with (
        server(_receiver_command(rx_port), f"{receiver}/count", core=1),
        server(
            mock_command(mock_port, "--webhook-url", f"{receiver}/hooks/:scope_id", "--hook-api-version", "v2"),
            f"http://{HOST}:{mock_port}/__mock__/health",
            core=0,
        ),
    ):
        base = f"http://{HOST}:{mock_port}"
        with httpx.Client(base_url=base, timeout=10, trust_env=False) as http:
            amojo = AmojoClient(http, CHANNEL_ID, SECRET)
            assert amojo.connect(ACCOUNT_ID, hook_api_version="v2").status_code == 200
            for chat in range(50):
                assert amojo.create_chat(f"hook-chat-{chat}", {"id": f"hook-user-{chat}", "name": "Client"}).status_code == 200
        for chats in (1, 50):
            elapsed, received, api_done = _burst(mock_port, receiver, chats, count, generator)
            rows.append(
                {
                    "case": f"{count} replies over {chats} chat{'s' if chats > 1 else ''}",
                    "hooks_received": received,
                    "hooks_per_s": round(received / elapsed),
                    "api_replies_per_s": round(count / api_done),
                    "load_generator": generator,
                    "goal": "≥ 1,000/s",
                    "met": received >= count and received / elapsed >= 1000,
                }
            )
    return rows
