"""In-process: one signed round trip through the fake, no socket, vs a bare httpx-ASGI call.

The ceiling is httpx's own ``ASGITransport`` calling the bare echo app; the fake is driven
the way a test drives it: ``AmojoClient`` over ``SyncASGITransport``. Times are CPU time
per request (wall time on a shared machine is mostly other tenants' noise).
"""

from __future__ import annotations

import asyncio
import time

import httpx

from mock_amojo import Config, create_app
from mock_amojo.testing._client import AmojoClient
from mock_amojo.testing._inprocess import SyncASGITransport

from .bare_app import app as bare_app
from .common import ACCOUNT_ID, CHANNEL_ID, SECRET, incoming_message


def _bare(n: int) -> float:
    async def go() -> float:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=bare_app), base_url="http://amojo") as client:
            body = incoming_message("m", "c", "u")
            await client.post("/v2/origin/custom/x", json=body)
            t = time.process_time()
            for _ in range(n):
                await client.post("/v2/origin/custom/x", json=body)
            return (time.process_time() - t) / n

    return asyncio.run(go())


def _mock(n: int) -> float:
    app = create_app(Config())
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://amojo") as http:
        amojo = AmojoClient(http, CHANNEL_ID, SECRET)
        assert amojo.connect(ACCOUNT_ID, hook_api_version="v2").status_code == 200
        payloads = [incoming_message(f"m{i}", f"c{i % 16}", f"u{i % 16}")["payload"] for i in range(n)]
        t = time.process_time()
        for payload in payloads:
            amojo.send_message(payload)
        return (time.process_time() - t) / n


def _create_app_cost(n: int) -> float:
    create_app(Config())
    t = time.process_time()
    for _ in range(n):
        create_app(Config())
    return (time.process_time() - t) / n


def run(quick: bool = False) -> list[dict[str, object]]:
    n = 500 if quick else 3000
    bare = min(_bare(n) for _ in range(3))
    mock = min(_mock(n) for _ in range(3))
    app_cost = _create_app_cost(50)
    return [
        {"case": "httpx ASGITransport → bare echo app (ceiling)", "ms": round(bare * 1000, 3), "ratio": 1.0},
        {
            "case": "AmojoClient.send_message over SyncASGITransport (signed, validated, stored)",
            "ms": round(mock * 1000, 3),
            "ratio": round(mock / bare, 2),
        },
        {"case": "create_app(Config()) — a fresh fake", "ms": round(app_cost * 1000, 3), "ratio": None},
    ]
