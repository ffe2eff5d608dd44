"""Cold start: `mock-amojo serve` process start to its first 200 (wall), and the server's CPU time until then."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from pathlib import Path

from .common import HOST, free_port, mock_command, stop_process, wait_http


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(repeats: int = 5) -> list[dict[str, object]]:
    """Wall time to the first 200, and the CPU time the server spent to get there (load-independent)."""
    samples = []
    cpu = []
    for _ in range(repeats):
        port = free_port()
        started = time.perf_counter()
        proc = subprocess.Popen(mock_command(port), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            ready = wait_http(f"http://{HOST}:{port}/__mock__/health", interval=0.001)
            cpu.append(_cpu_seconds(proc.pid))
        finally:
            stop_process(proc)
        samples.append(ready - started)
    return [
        {
            "case": "cold start: `mock-amojo serve` to first 200",
            "median_s": round(statistics.median(samples), 3),
            "best_s": round(min(samples), 3),
            "server_cpu_s": round(statistics.median(cpu), 3),
            "runs": repeats,
            "goal": "≤ 0.5 s",
            "met": statistics.median(samples) <= 0.5,
        }
    ]
