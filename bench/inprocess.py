"""In-process: one signed round trip through the fake, no socket, vs a bare httpx-ASGI call — ratios from one run.

The ceiling is httpx's own ``ASGITransport`` calling the bare echo app with the very request the
fake gets (same path, body bytes and signed headers). The fake is driven the way a test drives it:
``AmojoClient`` over ``SyncASGITransport`` (signing each call), and, for the pipeline alone, the
same pre-signed requests over ``httpx.ASGITransport``. The cases take turns, round after round, and
each reports its best round: times are CPU time per request (wall time on a shared machine is mostly
other tenants' noise), ratios are to the ceiling of the same run.

    python -m bench.inprocess [--quick]
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson

from mock_amojo import Config, create_app
from mock_amojo.testing._client import AmojoClient
from mock_amojo.testing._transports import SyncASGITransport
from mock_amojo.wire._signing import sign_request

from .bare_app import app as bare_app
from .common import ACCOUNT_ID, CHANNEL_ID, PREFIX, SCOPE_ID, SECRET, incoming_message

GOAL = 1.2
_PATH = f"{PREFIX}/{SCOPE_ID}"


def _payloads(tag: str, n: int) -> list[dict[str, Any]]:
    return [incoming_message(f"{tag}-{i}", f"c{i % 16}", f"u{i % 16}")["payload"] for i in range(n)]


def _signed(tag: str, n: int) -> list[tuple[bytes, dict[str, str]]]:
    out = []
    for payload in _payloads(tag, n):
        raw = orjson.dumps({"event_type": "new_message", "payload": payload})
        out.append((raw, sign_request(SECRET, "POST", _PATH, raw)))
    return out


def _over_asgi(app: Any, requests: list[tuple[bytes, dict[str, str]]]) -> float:
    async def go() -> float:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://amojo") as client:
            t = time.process_time()
            for raw, headers in requests:
                response = await client.post(_PATH, content=raw, headers=headers)
            elapsed = time.process_time() - t
            assert response.status_code == 200, response.text
            return elapsed / len(requests)

    return asyncio.run(go())


def _signing_client(app: Any, payloads: list[dict[str, Any]]) -> float:
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://amojo") as http:
        amojo = AmojoClient(http, CHANNEL_ID, SECRET)
        amojo.scope_id = SCOPE_ID
        t = time.process_time()
        for payload in payloads:
            response = amojo.send_message(payload)
        elapsed = time.process_time() - t
        assert response.status_code == 200, response.text
        return elapsed / len(payloads)


def _create_app_cost(n: int) -> float:
    create_app(Config())
    t = time.process_time()
    for _ in range(n):
        create_app(Config())
    return (time.process_time() - t) / n


CEILING = "httpx.ASGITransport → bare echo app, the same signed request (ceiling)"
CLIENT = "AmojoClient.send_message over SyncASGITransport (signs each call; validated, stored)"
PIPELINE = "httpx.ASGITransport → the fake, the same signed request (validated, stored)"


def run(quick: bool = False) -> list[dict[str, object]]:
    n, rounds = (400, 3) if quick else (2000, 5)
    fake = create_app(Config())
    with httpx.Client(transport=SyncASGITransport(fake), base_url="http://amojo") as http:
        assert AmojoClient(http, CHANNEL_ID, SECRET).connect(ACCOUNT_ID, hook_api_version="v2").status_code == 200
    cases: dict[str, Callable[[str], float]] = {
        CEILING: lambda tag: _over_asgi(bare_app, _signed(tag, n)),
        CLIENT: lambda tag: _signing_client(fake, _payloads(tag, n)),
        PIPELINE: lambda tag: _over_asgi(fake, _signed(tag, n)),
    }
    best: dict[str, float] = {}
    for round_ in range(rounds):  # the cases take turns: a burst of load slows one round of each, not one case
        for index, (case, job) in enumerate(cases.items()):
            seconds = job(f"r{round_}c{index}")
            best[case] = min(best.get(case, seconds), seconds)
    ceiling = best[CEILING]
    rows: list[dict[str, object]] = []
    for case, seconds in best.items():
        ratio = round(seconds / ceiling, 2)
        goal = case == CLIENT
        rows.append(
            {
                "case": case,
                "ms": round(seconds * 1000, 3),
                "ratio": ratio,
                "goal": f"≤ {GOAL}" if goal else "—",
                "met": ratio <= GOAL if goal else None,
            }
        )
    rows.append({"case": "create_app(Config()) — a fresh fake", "ms": round(_create_app_cost(50) * 1000, 3), "ratio": None})
    return rows


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(" | ".join(f"{k}: {v}" for k, v in row.items()))
