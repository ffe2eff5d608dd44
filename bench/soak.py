"""Soak: `mock-amojo serve` under bounded mixed load, its RSS and open files sampled — they must stay flat.

    python -m bench.soak                 # 120 s
    python -m bench.soak --seconds 15 --json

The load is what a CI run of contract tests does to a shared server, looped: connect,
signed messages into many chats, history pages, delivery statuses, typing, refused
requests (bad signature, broken JSON, unknown scope), manager replies that fire webhooks
to a receiver process, journal and state reads — and a ``/__mock__/reset`` every 10 s (shorter runs: every sixth of the run), as
test suites reset between tests (without resets the store grows by design; its cost per
message is the growth benchmark's job). Samples start after a warm-up quarter.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import threading
import time
from typing import Any

import httpx
import orjson

from mock_amojo.wire._signing import sign_request

from .common import (
    ACCOUNT_ID,
    CHANNEL_ID,
    HOST,
    PREFIX,
    SCOPE_ID,
    SECRET,
    free_port,
    incoming_message,
    mock_command,
    open_files,
    rss_kib,
    server,
)
from .webhook_load import _receiver_command

WORKERS = 16
#: Seconds between resets (shorter soaks reset more often, so they still see many cycles).
RESET_EVERY = 10.0


class _Load:
    def __init__(self, base: str) -> None:
        self.base = base
        self.statuses: dict[int, int] = {}
        self.errors = 0
        self.ids = itertools.count()

    def count(self, status: int) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1

    async def signed(self, http: httpx.AsyncClient, method: str, path: str, body: Any = None, *, secret: str = SECRET) -> httpx.Response:
        raw = b"" if body is None else (body if isinstance(body, bytes) else orjson.dumps(body))
        answer = await http.request(method, path, content=raw, headers=sign_request(secret, method, path.split("?")[0], raw))
        self.count(answer.status_code)
        return answer

    async def connect(self, http: httpx.AsyncClient) -> None:
        await self.signed(http, "POST", f"{PREFIX}/{CHANNEL_ID}/connect", {"account_id": ACCOUNT_ID, "hook_api_version": "v2"})

    async def worker(self, k: int, deadline: float) -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=30, trust_env=False) as http:
            await self.connect(http)
            while time.perf_counter() < deadline:
                n = next(self.ids)
                chat = f"soak-{k}-{n % 20}"
                try:
                    sent = await self.signed(http, "POST", f"{PREFIX}/{SCOPE_ID}", incoming_message(f"soak-{n}", chat, f"user-{chat}"))
                    if sent.status_code == 404:  # a reset just happened: connect again, as a test's setup would
                        await self.connect(http)
                        continue
                    if sent.status_code != 200:
                        continue
                    created = sent.json()["new_message"]
                    step = n % 10
                    if step == 0:
                        chat_id = await self._chat_id(http, chat)  # create_chat is idempotent: it answers the chat's amojo id
                        if chat_id:
                            await self.signed(http, "GET", f"{PREFIX}/{SCOPE_ID}/chats/{chat_id}/history?limit=50")
                    elif step == 1:
                        body = {"msgid": created["msgid"], "delivery_status": 2}
                        await self.signed(http, "POST", f"{PREFIX}/{SCOPE_ID}/{created['msgid']}/delivery_status", body)
                    elif step == 2:
                        await self.signed(
                            http, "POST", f"{PREFIX}/{SCOPE_ID}/typing", {"conversation_id": chat, "sender": {"id": f"user-{chat}"}}
                        )
                    elif step == 3:
                        await self.signed(http, "POST", f"{PREFIX}/{SCOPE_ID}", b'{"event_type": "new_mess', secret="0" * 40)
                        await self.signed(http, "POST", f"{PREFIX}/{SCOPE_ID}", b'{"event_type": "new_mess')
                        await self.signed(http, "POST", f"{PREFIX}/nosuch_scope/typing", {"conversation_id": "x", "sender": {"id": "y"}})
                    elif step == 4:
                        answer = await http.post(
                            "/__mock__/operator/reply",
                            json={"scope_id": SCOPE_ID, "conversation_id": chat, "message": {"type": "text", "text": "ok"}},
                        )
                        self.count(answer.status_code)
                    elif step == 5:
                        self.count((await http.get("/__mock__/journal?limit=20")).status_code)
                    elif step == 6 and n % 100 == 6:
                        self.count((await http.get(f"/__mock__/state?scope_id={SCOPE_ID}")).status_code)
                except httpx.HTTPError:
                    self.errors += 1

    async def _chat_id(self, http: httpx.AsyncClient, conversation: str) -> str | None:
        answer = await self.signed(
            http,
            "POST",
            f"{PREFIX}/{SCOPE_ID}/chats",
            {"conversation_id": conversation, "user": {"id": f"user-{conversation}", "name": "Load Test Client"}},
        )
        return answer.json()["id"] if answer.status_code == 200 else None

    async def resetter(self, deadline: float, every: float) -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=30, trust_env=False) as http:
            while time.perf_counter() + every < deadline:
                await asyncio.sleep(every)
                self.count((await http.post("/__mock__/reset")).status_code)
                await self.connect(http)


def _sampler(pid: int, stop: threading.Event, samples: list[tuple[float, int, int]]) -> None:
    started = time.perf_counter()
    while not stop.wait(1.0):
        try:
            samples.append((time.perf_counter() - started, rss_kib(pid), open_files(pid)))
        except OSError:
            return


def run(seconds: float = 120.0) -> list[dict[str, Any]]:
    rx_port, port = free_port(), free_port()
    base = f"http://{HOST}:{port}"
    samples: list[tuple[float, int, int]] = []
    load = _Load(base)
    with (
        server(_receiver_command(rx_port), f"http://{HOST}:{rx_port}/count", core=1),
        server(
            mock_command(port, "--webhook-url", f"http://{HOST}:{rx_port}/hooks/:scope_id", "--hook-api-version", "v2"),
            f"{base}/__mock__/health",
            core=0,
        ) as proc,
    ):
        stop = threading.Event()
        sampler = threading.Thread(target=_sampler, args=(proc.pid, stop, samples), daemon=True)
        sampler.start()
        deadline = time.perf_counter() + seconds

        async def main() -> None:
            await asyncio.gather(
                load.resetter(deadline, min(RESET_EVERY, seconds / 6)), *(load.worker(k, deadline) for k in range(WORKERS))
            )

        asyncio.run(main())
        stop.set()
        sampler.join(5)
    # After the warm-up quarter, before the clients wind down (their connections closing is not a trend).
    warm = [s for s in samples if seconds / 4 <= s[0] <= seconds - 1.5] or samples
    quarter = max(1, len(warm) // 3)
    first_rss = statistics.median(s[1] for s in warm[:quarter]) / 1024
    last_rss = statistics.median(s[1] for s in warm[-quarter:]) / 1024
    fds = [s[2] for s in warm]
    first_fds = statistics.median(s[2] for s in warm[:quarter])
    last_fds = statistics.median(s[2] for s in warm[-quarter:])
    total = sum(load.statuses.values())
    server_errors = sum(v for k, v in load.statuses.items() if k >= 500)
    flat = last_rss <= first_rss * 1.10 + 5 and last_fds <= first_fds + 4 and server_errors == 0 and load.errors == 0
    return [
        {
            "seconds": round(seconds),
            "requests": total,
            "req_per_s": round(total / seconds),
            "status_counts": " ".join(f"{k}:{v}" for k, v in sorted(load.statuses.items())),
            "5xx": server_errors,
            "client_errors": load.errors,
            "rss_mib_after_warmup": round(first_rss, 1),
            "rss_mib_at_end": round(last_rss, 1),
            "rss_mib_max": round(max(s[1] for s in warm) / 1024, 1),
            "open_files_after_warmup": first_fds,
            "open_files_at_end": last_fds,
            "open_files_min_max": f"{min(fds)}–{max(fds)}",
            "flat": flat,
        }
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="Soak mock-amojo serve under mixed load.")
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--json", action="store_true", help="print the result row as JSON (for tests)")
    args = parser.parse_args()
    rows = run(args.seconds)
    if args.json:
        print(orjson.dumps(rows[0]).decode())
    else:
        for key, value in rows[0].items():
            print(f"{key:>22}  {value}")
    sys.exit(0 if rows[0]["flat"] else 1)


if __name__ == "__main__":
    main()
