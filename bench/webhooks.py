"""Manager reply → webhook latency: how long from an operator action until the receiver has the hook.

    python -m bench.webhooks            # full (≈ 20 s)
    python -m bench.webhooks --quick    # short

``run(quick)`` returns table rows for ``python -m bench`` (section "webhooks").

Scenarios, one request in flight at a time:

- *baseline*: the client POSTs a hook-sized body straight to the receiver (the floor);
- *served*: ``mock-amojo serve`` (uvloop + httptools, a separate process) gets
  ``POST /__mock__/operator/reply``; measured are the API answer and the moment the receiver
  (uvicorn in this process) has the hook — ``time.perf_counter`` is CLOCK_MONOTONIC, shared by
  both processes;
- *served, slow receiver*: the receiver holds each hook 0.5 s — the API answer must not grow;
- *in-process sync*: ``app.state.operator.reply`` with ``webhook_mode="sync"`` (the call
  returns after the receiver answered);
- *in-process listener*: no receiver at all, the hook captured by a listener (the pytest plugin's path).
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson

from bench.common import standalone_main
from mock_amojo import Config, create_app
from mock_amojo.config import DEMO_ACCOUNT_ID, DEMO_CHANNEL_ID, DEMO_CHANNEL_SECRET
from mock_amojo.serve._server import ServerThread
from mock_amojo.testing._client import AmojoClient
from mock_amojo.wire import parse_connect, parse_create_chat

TITLE = "Webhooks (manager reply → receiver)"
SCOPE_ID = f"{DEMO_CHANNEL_ID}_{DEMO_ACCOUNT_ID}"
MESSAGE = {"type": "text", "text": "Yes, the red one is in stock — shall I reserve it?"}


class Receiver:
    """An ASGI hook receiver on uvicorn: notes when each hook arrived, answers 200 (after ``delay``)."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.delay = 0.0
        self._cond = threading.Condition()
        handle = self.app

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:  # a plain function: uvicorn sees ASGI 3
            await handle(scope, receive, send)

        self.server = ServerThread(app, log_level="error")

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        at = time.perf_counter()
        key = _hook_key(body)
        with self._cond:
            self.arrived[key] = at
            self._cond.notify_all()
        if self.delay:
            await asyncio.sleep(self.delay)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    def wait(self, key: str, timeout: float = 10.0) -> float:
        with self._cond:
            if not self._cond.wait_for(lambda: key in self.arrived, timeout):
                raise TimeoutError(f"hook {key} never arrived")
            return self.arrived[key]


def _hook_key(body: bytes) -> str:
    try:
        data = orjson.loads(body)
        return str(data["message"]["message"]["id"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return body.decode("latin-1")[:64]


def _stats(name: str, samples: list[float], note: str = "", baseline: float | None = None) -> dict[str, Any]:
    ms = sorted(s * 1000 for s in samples)
    p50 = statistics.median(ms)
    return {
        "scenario": name,
        "n": len(ms),
        "p50 ms": round(p50, 3),
        "p95 ms": round(ms[int(len(ms) * 0.95) - 1], 3),
        "max ms": round(ms[-1], 3),
        "× baseline p50": round(p50 / baseline, 2) if baseline else None,
        "note": note,
    }


def _baseline(receiver: Receiver, n: int) -> list[float]:
    samples = []
    body = orjson.dumps({"account_id": DEMO_ACCOUNT_ID, "time": 0, "message": {"message": {"id": "x", "text": MESSAGE["text"]}}})
    with httpx.Client(trust_env=False) as client:
        for i in range(n):
            payload = body.replace(b'"id":"x"', f'"id":"b{i}"'.encode())
            started = time.perf_counter()
            client.post(f"{receiver.server.url}/hook", content=payload, headers={"Content-Type": "application/json"})
            samples.append(receiver.wait(f"b{i}") - started)
    return samples


def _serve(receiver: Receiver, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "mock_amojo", "serve", "--port", str(port), "--log-level", "warning"]
    command += ["--webhook-url", f"{receiver.server.url}/hook/:scope_id", "--hook-api-version", "v2"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    with httpx.Client(trust_env=False) as client:
        while time.monotonic() < deadline:
            try:
                if client.get(f"http://127.0.0.1:{port}/__mock__/health").status_code == 200:
                    return process
            except httpx.HTTPError:
                time.sleep(0.02)
    process.kill()
    raise RuntimeError("mock-amojo serve did not start")


def _served(receiver: Receiver, n: int, slow_n: int) -> tuple[list[float], list[float], list[float], list[float]]:
    with socket.socket() as probe:  # a free port, released at once
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    process = _serve(receiver, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False) as http:
            amojo = AmojoClient(http, DEMO_CHANNEL_ID, DEMO_CHANNEL_SECRET)
            amojo.connect(DEMO_ACCOUNT_ID, hook_api_version="v2").raise_for_status()
            amojo.create_chat("bench-chat", {"id": "bench-user", "name": "Bench"}).raise_for_status()
            health = []
            for _ in range(n):
                started = time.perf_counter()
                http.get("/__mock__/health").raise_for_status()
                health.append(time.perf_counter() - started)
            api, hook = [], []
            body = {"scope_id": SCOPE_ID, "conversation_id": "bench-chat", "message": MESSAGE}
            for _ in range(n):
                started = time.perf_counter()
                response = http.post("/__mock__/operator/reply", json=body)
                answered = time.perf_counter()
                message_id = response.json()["message_id"]
                api.append(answered - started)
                hook.append(receiver.wait(message_id) - started)
            receiver.delay = 0.5
            slow_api = []
            for _ in range(slow_n):
                started = time.perf_counter()
                http.post("/__mock__/operator/reply", json=body).raise_for_status()
                slow_api.append(time.perf_counter() - started)
            receiver.delay = 0.0
            return health, api, hook, slow_api
    finally:
        process.terminate()
        process.wait(10)


def _in_process(receiver: Receiver | None, n: int) -> list[float]:
    config = Config(webhook_url=f"{receiver.server.url}/hook/:scope_id" if receiver else None, hook_api_version="v2")
    app = create_app(config, webhook_mode="sync")
    backend, operator = app.state.backend, app.state.operator
    captured: list[Any] = []
    listener: Callable[[Any], None] = captured.append
    app.state.webhooks.add_listener(listener)
    backend.connect(DEMO_CHANNEL_ID, parse_connect({"account_id": DEMO_ACCOUNT_ID}))
    backend.create_chat(SCOPE_ID, parse_create_chat({"conversation_id": "bench-chat", "user": {"id": "bench-user", "name": "Bench"}}))
    samples = []
    try:
        for _ in range(n):
            started = time.perf_counter()
            operator.reply(SCOPE_ID, conversation_id="bench-chat", message=MESSAGE)
            samples.append(time.perf_counter() - started)
    finally:
        app.state.webhooks.close()
    assert len(captured) == n
    return samples


def run(quick: bool = False) -> list[dict[str, Any]]:
    n = 100 if quick else 1000
    receiver = Receiver()
    receiver.server.start()
    try:
        _baseline(receiver, 20)  # warm up connections and code paths
        base = _baseline(receiver, n)
        base_p50 = statistics.median(base) * 1000
        health, api, hook, slow_api = _served(receiver, n, 10 if quick else 30)
        sync = _in_process(receiver, n)
        listener = _in_process(None, n)
    finally:
        receiver.server.stop()
    return [
        _stats("baseline: client → receiver POST", base, "the floor: one local HTTP round trip", base_p50),
        _stats("served: GET /__mock__/health", health, "reference: the cheapest round trip to mock-amojo serve", base_p50),
        _stats("served: reply API answer", api, "mock-amojo serve; hook sent in the background", base_p50),
        _stats("served: reply → hook at receiver", hook, "from sending the reply to the receiver reading the hook", base_p50),
        _stats("served: reply API, receiver holds 0.5 s", slow_api, "the API does not wait for the receiver", base_p50),
        _stats("in-process sync: operator.reply", sync, "returns after the receiver answered", base_p50),
        _stats("in-process: operator.reply, listener only", listener, "no receiver, no network (pytest plugin path)", base_p50),
    ]


if __name__ == "__main__":
    standalone_main(run, __doc__)
