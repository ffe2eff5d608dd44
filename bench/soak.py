"""Soak: `mock-amojo serve` under bounded mixed load, its RSS and open files sampled — they must stay flat.

    python -m bench.soak                 # 120 s
    python -m bench.soak --seconds 15 --json

The load is what a CI run of contract tests does to a shared server, looped: connect,
signed messages into many chats, history pages, delivery statuses, typing, refused
requests (bad signature, broken JSON, unknown scope), manager replies that fire webhooks
to a receiver process, journal and state reads — and a ``/__mock__/reset`` every 10 s (shorter runs: every sixth of the run), as
test suites reset between tests (without resets the store grows by design; its cost per
message is the growth benchmark's job).

What "flat" means: samples start once every worker is connected (on a busy machine that can take
seconds: counting from the server's start let the ramp-up pass for growth), after a warm-up quarter,
and the first third of them is compared with the last. Open files
are told apart: connections follow the load (the workers' keep-alive connections; the webhook
sender's pool grows with how many hooks are in flight at once, so with the receiver's latency) and may
step up, within what the load can hold; every other file must stay level. A leak grows with the work
done, so it still shows in the last third: a file or socket per request or per hook, or memory.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

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
    rss_kib,
    server,
)
from .webhook_load import _receiver_command

WORKERS = 16
#: Chats each worker writes to. Hooks go one at a time per chat, so the load has at most
#: WORKERS * CHATS_PER_WORKER hooks in flight, and the webhook sender no more connections.
CHATS_PER_WORKER = 20
#: Webhook connections the last third may add over the first one, at least: the pool steps up when
#: a burst of hooks meets a slow receiver (and closes idle ones again). Beyond that, up to half the
#: hooks sent meanwhile: a leak adds one per hook.
HOOK_POOL_STEP = 16
#: Seconds between resets (shorter soaks reset more often, so they still see many cycles).
RESET_EVERY = 10.0


class _Load:
    def __init__(self, base: str) -> None:
        self.base = base
        self.statuses: dict[int, int] = {}
        self.errors = 0
        self.ids = itertools.count()
        self.connected = 0
        #: Manager replies answered so far: each fires one hook.
        self.replies = 0
        #: When every worker had its first answer: the load is running from then on.
        self.ready_at: float | None = None

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
            self.connected += 1
            if self.connected == WORKERS:
                self.ready_at = time.perf_counter()
            while time.perf_counter() < deadline:
                n = next(self.ids)
                chat = f"soak-{k}-{n % CHATS_PER_WORKER}"
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
                        self.replies += answer.status_code == 200
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


class Sample(NamedTuple):
    at: float  # time.perf_counter()
    rss_kib: int
    files: int  # open files that are not TCP connections
    inbound: int  # connections to the server's port
    hooks: int  # connections to the webhook receiver
    replies: int  # manager replies answered so far (one hook each)


def _connections(pid: int) -> dict[str, tuple[int, int]]:
    """The process's TCP connections (not listening sockets): socket inode -> (local port, remote port)."""
    found: dict[str, tuple[int, int]] = {}
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] != "0A":  # 0A: LISTEN
                found[fields[9]] = (int(fields[1].rsplit(":", 1)[1], 16), int(fields[2].rsplit(":", 1)[1], 16))
    return found


def sample(pid: int, port: int, hook_port: int, replies: int = 0) -> Sample:
    """RSS and open files of ``pid``, its TCP connections to ``port`` and to ``hook_port`` counted apart."""
    connections = _connections(pid)
    files = inbound = hooks = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue  # closed since the listing
        ends = connections.get(target[8:-1]) if target.startswith("socket:[") else None
        if ends is not None and ends[0] == port:
            inbound += 1
        elif ends is not None and ends[1] == hook_port:
            hooks += 1
        else:
            files += 1
    return Sample(time.perf_counter(), rss_kib(pid), files, inbound, hooks, replies)


def _sampler(pid: int, ports: tuple[int, int], load: _Load, stop: threading.Event, samples: list[Sample]) -> None:
    while not stop.wait(1.0):
        try:
            samples.append(sample(pid, *ports, load.replies))
        except OSError:
            return


def verdict(samples: list[Sample], ready_at: float, end: float) -> dict[str, Any]:
    """Whether RSS and open files stayed flat: the first third of the samples against the last.

    The window starts a quarter of the load's run after every worker connected and ends before the
    clients wind down (their connections closing is not a trend).
    """
    start = ready_at + (end - ready_at) / 4
    window = [s for s in samples if start <= s.at <= end - 1.5] or samples
    third = max(1, len(window) // 3)
    first, last = window[:third], window[-third:]
    first_rss, last_rss = (statistics.median(s.rss_kib for s in part) / 1024 for part in (first, last))
    first_files, last_files = (statistics.median(s.files for s in part) for part in (first, last))
    first_hooks, last_hooks = (max(s.hooks for s in part) for part in (first, last))
    rss_flat = last_rss <= first_rss * 1.10 + 5
    # A sample can catch a socket between the fd listing and the TCP table: the medians absorb that.
    files_flat = last_files <= first_files + 1
    inbound_held = max(s.inbound for s in window) <= WORKERS + 1  # the workers and the resetter
    hooks_sent = last[-1].replies - first[-1].replies
    hooks_held = (
        last_hooks - first_hooks <= max(HOOK_POOL_STEP, hooks_sent // 2) and max(s.hooks for s in window) <= WORKERS * CHATS_PER_WORKER
    )
    totals = [s.files + s.inbound + s.hooks for s in window]
    return {
        "rss_mib_after_warmup": round(first_rss, 1),
        "rss_mib_at_end": round(last_rss, 1),
        "rss_mib_max": round(max(s.rss_kib for s in window) / 1024, 1),
        "open_files_after_warmup": statistics.median(s.files + s.inbound + s.hooks for s in first),
        "open_files_at_end": statistics.median(s.files + s.inbound + s.hooks for s in last),
        "open_files_min_max": f"{min(totals)}–{max(totals)}",
        "other_files": f"{first_files}→{last_files}",
        "connections_max": f"{max(s.inbound for s in window)} in, {first_hooks}→{last_hooks} hooks",
        "flat": rss_flat and files_flat and inbound_held and hooks_held,
    }


def run(seconds: float = 120.0) -> list[dict[str, Any]]:
    rx_port, port = free_port(), free_port()
    base = f"http://{HOST}:{port}"
    samples: list[Sample] = []
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
        sampler = threading.Thread(target=_sampler, args=(proc.pid, (port, rx_port), load, stop, samples), daemon=True)
        sampler.start()
        began = time.perf_counter()
        deadline = began + seconds

        async def main() -> None:
            await asyncio.gather(
                load.resetter(deadline, min(RESET_EVERY, seconds / 6)), *(load.worker(k, deadline) for k in range(WORKERS))
            )

        asyncio.run(main())
        stop.set()
        sampler.join(5)
    total = sum(load.statuses.values())
    server_errors = sum(v for k, v in load.statuses.items() if k >= 500)
    flat = verdict(samples, load.ready_at or began, deadline)
    return [
        {
            "seconds": round(seconds),
            "requests": total,
            "req_per_s": round(total / seconds),
            "status_counts": " ".join(f"{k}:{v}" for k, v in sorted(load.statuses.items())),
            "5xx": server_errors,
            "client_errors": load.errors,
            **flat,
            "flat": flat["flat"] and server_errors == 0 and load.errors == 0,
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
