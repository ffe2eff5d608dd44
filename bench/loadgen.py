"""Load generators for the served benchmark: ``wrk`` (preferred) and a Python asyncio fallback.

Both replay the same :class:`Pool` of pre-signed requests, each request at most once, over
N keep-alive connections, bounded by time and by count, and report req/s and p50/p99.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from mock_amojo.wire._signing import canonical_string, content_md5, format_date, hmac_sha1

from .common import BENCH_DIR, HOST, SECRET, cpu_pin


@dataclass
class Pool:
    """Requests signed up front: one method/path/Date, one (md5, signature, body) per request."""

    method: str
    path: str
    date: str
    items: list[tuple[str, str, bytes]]

    @classmethod
    def signed(cls, method: str, path: str, bodies: list[bytes], secret: str = SECRET) -> Pool:
        date = format_date(time.time())
        items = []
        for body in bodies:
            md5 = content_md5(body)
            items.append((md5, hmac_sha1(secret, canonical_string(method, md5, "application/json", date, path)), body))
        return cls(method, path, date, items)

    def write(self, target: Path, cap: int) -> None:
        with target.open("wb") as out:
            out.write(f"{self.method}\t{self.path}\t{self.date}\t{cap}\n".encode())
            for md5, sig, body in self.items:
                out.write(f"{md5}\t{sig}\t".encode() + body + b"\n")

    def raw(self, index: int, port: int) -> bytes:
        md5, sig, body = self.items[index]
        head = (
            f"{self.method} {self.path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nDate: {self.date}\r\n"
            f"Content-Type: application/json\r\nContent-MD5: {md5}\r\nX-Signature: {sig}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body


@dataclass
class LoadResult:
    requests: int
    seconds: float
    non2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    #: Share of the machine's CPU time the hypervisor took away during the run (VM "steal"), in %.
    steal_pct: float | None = None
    #: Slowest request (the Python generators; wrk's is not read here).
    max_ms: float | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def have_wrk() -> bool:
    """True when wrk is on PATH; tries to install the Debian package once when running as root."""
    if shutil.which("wrk"):
        return True
    if os.geteuid() == 0 and shutil.which("apt-get"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                ["apt-get", "install", "-y", "-qq", "wrk"],
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=120,
                check=False,
            )
    return shutil.which("wrk") is not None


def _cpu_times() -> tuple[int, int] | None:
    """(steal, total) jiffies of all CPUs since boot, from /proc/stat; None where there is none."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    return (fields[7] if len(fields) > 7 else 0), sum(fields)


def run_load(pool: Pool, port: int, connections: int, seconds: float, cap: int, generator: str) -> LoadResult:
    """One bounded load run; the result also says how much CPU the hypervisor stole meanwhile."""
    before = _cpu_times()
    result = _run_load(pool, port, connections, seconds, cap, generator)
    after = _cpu_times()
    if before is not None and after is not None and after[1] > before[1]:
        result.steal_pct = round(100 * (after[0] - before[0]) / (after[1] - before[1]), 1)
    return result


def _run_load(pool: Pool, port: int, connections: int, seconds: float, cap: int, generator: str) -> LoadResult:
    cap = min(cap, len(pool.items) - connections)
    if generator == "wrk":
        return _run_wrk(pool, port, connections, seconds, cap)
    return asyncio.run(_run_python(pool, port, connections, seconds, cap))


def _run_wrk(pool: Pool, port: int, connections: int, seconds: float, cap: int) -> LoadResult:
    threads = 1  # one wrk thread saturates a Python server; the other core stays the server's
    with tempfile.TemporaryDirectory(prefix="mock-amojo-bench-") as tmp:
        pool_file = Path(tmp) / "pool.tsv"
        pool.write(pool_file, cap)
        command = [
            *cpu_pin(1),
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "5s",
            "-s",
            str(BENCH_DIR / "pool.lua"),
            f"http://{HOST}:{port}{pool.path}",
            "--",
            str(pool_file),
            str(threads),
        ]
        out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            data: dict[str, Any] = orjson.loads(line.removeprefix("RESULT "))
            if data["requests"] >= cap:
                # wrk stops sending at the cap but reports the whole -d duration: the rate would be understated.
                raise RuntimeError(f"the signed pool ({cap} requests) ran out before {seconds} s; raise MAX_RPS in bench/served.py")
            return LoadResult(
                data["requests"],
                data["duration_us"] / 1e6,
                data["non2xx"],
                data["socket_errors"],
                data["p50_us"] / 1000,
                data["p99_us"] / 1000,
            )
    raise RuntimeError(f"wrk gave no result: {out.stdout[-2000:]} {out.stderr[-2000:]}")


async def _drive(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    requests: AsyncIterator[tuple[bytes, float]],
    latencies: list[float],
    counts: dict[str, int],
) -> None:
    """Send each ``(raw, since)`` on one keep-alive connection, read its whole answer, time it from ``since``.

    The connection is closed at the end; a connection that fails counts as one error.
    """
    try:
        async for raw, since in requests:
            writer.write(raw)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - since)
            if int(head[9:12]) >= 300:
                counts["non2xx"] += 1
    except (OSError, asyncio.IncompleteReadError):
        counts["errors"] += 1
    finally:
        writer.close()


def _result(latencies: list[float], seconds: float, counts: dict[str, int]) -> LoadResult:
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000 if latencies else 0.0

    result = LoadResult(len(latencies), seconds, counts["non2xx"], counts["errors"], pct(0.50), pct(0.99))
    result.max_ms = latencies[-1] * 1000 if latencies else None
    return result


async def _run_python(pool: Pool, port: int, connections: int, seconds: float, cap: int) -> LoadResult:
    """Keep-alive HTTP/1.1 over raw asyncio streams: much lighter than an HTTP client library."""
    latencies: list[float] = []
    counts = {"non2xx": 0, "errors": 0}
    deadline = time.perf_counter() + seconds
    share = cap // connections

    async def closed_loop(k: int) -> AsyncIterator[tuple[bytes, float]]:
        for i in range(share):
            if time.perf_counter() > deadline:
                return
            yield pool.raw(k + i * connections, port), time.perf_counter()  # timed from the send

    async def worker(k: int) -> None:
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            counts["errors"] += 1
            return
        await _drive(reader, writer, closed_loop(k), latencies, counts)

    started = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(connections)))
    elapsed = time.perf_counter() - started
    return _result(latencies, elapsed, counts)


def run_paced(pool: Pool, port: int, connections: int, seconds: float, rate: float) -> LoadResult:
    """Open loop: ``rate`` requests/s offered over ``connections``, latency counted from when each was due.

    wrk (like every closed-loop generator) sends the next request only after the last answer,
    so at saturation its latency is queue length ÷ throughput, and a stall delays the requests
    it would have sent (coordinated omission). Here request ``i`` is due at ``start + i / rate``
    whatever happened before it, on connection ``i mod connections``, and its latency runs from
    that moment — so a stall counts against every request it held up. Python (uvloop on its
    own core) because wrk's Lua has no clock to pace with; a sleep waking up to ~1 ms late
    (uvloop's timers have millisecond steps) adds that much to a latency. Bounded by time and by the pool: each request is sent at most once.
    """
    before = _cpu_times()
    pinned = hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2
    if pinned:
        os.sched_setaffinity(0, {1})  # the load generator's core, as wrk's (the servers are on core 0)
    try:
        result = _new_loop_run(_run_paced(pool, port, connections, seconds, rate))
    finally:
        if pinned:
            os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    after = _cpu_times()
    if before is not None and after is not None and after[1] > before[1]:
        result.steal_pct = round(100 * (after[0] - before[0]) / (after[1] - before[1]), 1)
    return result


def _new_loop_run(coroutine: Any) -> LoadResult:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)  # type: ignore[no-any-return]
    return uvloop.run(coroutine)  # type: ignore[no-any-return]


async def _run_paced(pool: Pool, port: int, connections: int, seconds: float, rate: float) -> LoadResult:
    total = min(int(rate * seconds), len(pool.items))
    latencies: list[float] = []
    counts = {"non2xx": 0, "errors": 0}
    streams = []
    for _ in range(connections):  # all open before the clock starts: connecting is not what is measured
        streams.append(await asyncio.open_connection(HOST, port))
    # perf_counter, not loop.time(): uvloop's clock has millisecond steps, too coarse for a latency.
    start = time.perf_counter() + 0.05

    async def paced(k: int) -> AsyncIterator[tuple[bytes, float]]:
        for i in range(k, total, connections):
            due = start + i / rate
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            yield pool.raw(i, port), due  # timed from when it was due, not from when it went out

    async def worker(k: int) -> None:
        reader, writer = streams[k]
        await _drive(reader, writer, paced(k), latencies, counts)

    await asyncio.gather(*(worker(k) for k in range(connections)))
    elapsed = time.perf_counter() - start
    return _result(latencies, elapsed, counts)
