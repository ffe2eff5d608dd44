"""Shared plumbing for the benchmarks: free ports, server processes, /proc samples, signed bodies."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson

from mock_amojo.config import DEMO_ACCOUNT_ID, DEMO_CHANNEL_ID, DEMO_CHANNEL_SECRET
from mock_amojo.serve._listener import SERVE_LOOP

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
PREFIX = "/v2/origin/custom"
CHANNEL_ID = DEMO_CHANNEL_ID
SECRET = DEMO_CHANNEL_SECRET
ACCOUNT_ID = DEMO_ACCOUNT_ID
SCOPE_ID = f"{CHANNEL_ID}_{ACCOUNT_ID}"
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def cpu_pin(core: int) -> list[str]:
    """``taskset -c N`` when available: server and load generator on separate cores cuts noise."""
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(core)]
    return []


def wait_http(url: str, timeout: float = 10.0, interval: float = 0.002) -> float:
    """Poll until ``url`` answers 200; returns the moment it first did (perf_counter)."""
    deadline = time.perf_counter() + timeout
    with httpx.Client(timeout=1.0) as client:
        while time.perf_counter() < deadline:
            try:
                if client.get(url).status_code == 200:
                    return time.perf_counter()
            except httpx.TransportError:
                pass
            time.sleep(interval)
    raise RuntimeError(f"{url} did not answer 200 within {timeout} s")


def mock_command(port: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "mock_amojo", "serve", "--port", str(port), "--log-level", "warning", *extra]


def bare_command(port: int) -> list[str]:
    # Same uvicorn settings as `mock-amojo serve`: its loop (uvloop accepting connection bursts at once),
    # http "auto" (httptools here), no access log — the ratio is then the fake's own cost.
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.bare_app:app",
        "--loop",
        SERVE_LOOP,
        "--host",
        HOST,
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]


@contextlib.contextmanager
def server(
    command: list[str], health_url: str, *, core: int | None = 0, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server process until the block ends; always stopped (SIGINT, then SIGKILL)."""
    full = (cpu_pin(core) if core is not None else []) + command
    proc = subprocess.Popen(full, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, **(env or {})})
    try:
        try:
            wait_http(health_url)
        except RuntimeError:
            proc.kill()
            _, err = proc.communicate(timeout=5)
            raise RuntimeError(f"server {command} failed to start: {err.decode(errors='replace')[-2000:]}") from None
        yield proc
    finally:
        stop_process(proc)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    if proc.stderr is not None:
        proc.stderr.close()


def rss_kib(pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def open_files(pid: int | str = "self") -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def incoming_message(msgid: str, conversation: str, user: str, text: str = "Hello from the load test") -> dict[str, Any]:
    """A realistic incoming text message (the shape of amojo's published vector)."""
    now = int(time.time())
    return {
        "event_type": "new_message",
        "payload": {
            "timestamp": now,
            "msec_timestamp": now * 1000,
            "msgid": msgid,
            "conversation_id": conversation,
            "sender": {
                "id": user,
                "name": "Load Test Client",
                "avatar": "https://example.com/avatar.png",
                "profile": {"phone": "+79151112233", "email": "client@example.com"},
            },
            "message": {"type": "text", "text": text},
            "silent": False,
        },
    }


def new_message_bodies(count: int, chats: int = 64, tag: str | None = None) -> list[bytes]:
    """``count`` distinct new_message bodies spread over ``chats`` conversations (msgids are unique)."""
    tag = tag or uuid.uuid4().hex[:8]
    return [orjson.dumps(incoming_message(f"{tag}-{n}", f"conv-{tag}-{n % chats}", f"user-{tag}-{n % chats}")) for n in range(count)]


def machine() -> str:
    """One line saying what the numbers were measured on."""
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    return f"{os.cpu_count()} × {model}, {mem} MiB RAM, Python {sys.version.split()[0]}, {sys.platform}"


def standalone_main(run: object, doc: str | None) -> None:
    """``python -m bench.NAME [--quick]``: run one section and print its rows as a Markdown table."""
    import argparse

    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--quick", action="store_true")
    rows = run(parser.parse_args().quick)  # type: ignore[operator]
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join("—" if row[c] is None else str(row[c]) for c in columns) + " |")
    print(f"\n{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, {Path(sys.executable).name}")
