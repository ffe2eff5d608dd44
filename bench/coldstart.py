"""Cold start: `mock-amojo serve` process start to its first 200."""

from __future__ import annotations

import statistics
import subprocess
import time

from .common import HOST, free_port, mock_command, stop_process, wait_http


def run(repeats: int = 5) -> list[dict[str, object]]:
    samples = []
    for _ in range(repeats):
        port = free_port()
        started = time.perf_counter()
        proc = subprocess.Popen(mock_command(port), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            ready = wait_http(f"http://{HOST}:{port}/__mock__/health", interval=0.001)
        finally:
            stop_process(proc)
        samples.append(ready - started)
    return [
        {
            "case": "cold start: `mock-amojo serve` to first 200",
            "median_s": round(statistics.median(samples), 3),
            "best_s": round(min(samples), 3),
            "runs": repeats,
            "goal": "≤ 0.5 s",
            "met": statistics.median(samples) <= 0.5,
        }
    ]
