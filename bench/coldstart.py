"""Cold start: `mock-amojo serve` process start to its first 200 (wall), and the server's CPU time until then."""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from .common import HOST, free_port, mock_command, stop_process, wait_http


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _starts(repeats: int, env: dict[str, str]) -> tuple[list[float], list[float]]:
    samples, cpu = [], []
    for _ in range(repeats):
        port = free_port()
        started = time.perf_counter()
        proc = subprocess.Popen(mock_command(port), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        try:
            ready = wait_http(f"http://{HOST}:{port}/__mock__/health", interval=0.001)
            cpu.append(_cpu_seconds(proc.pid))
        finally:
            stop_process(proc)
        samples.append(ready - started)
    return samples, cpu


def _row(case: str, samples: list[float], cpu: list[float], goal: bool) -> dict[str, object]:
    return {
        "case": case,
        "median_s": round(statistics.median(samples), 3),
        "best_s": round(min(samples), 3),
        "server_cpu_s": round(statistics.median(cpu), 3),
        "runs": len(samples),
        "goal": "≤ 0.5 s" if goal else "—",
        "met": statistics.median(samples) <= 0.5 if goal else None,
    }


def run(repeats: int = 5) -> list[dict[str, object]]:
    """Wall time to the first 200, and the CPU time the server spent to get there (load-independent).

    Measured as installed: ``pip install`` compiles the package to bytecode, so the goal row
    starts with a bytecode cache (kept outside the checkout, in a temporary PYTHONPYCACHEPREFIX,
    filled by one unmeasured start). A checkout run with PYTHONDONTWRITEBYTECODE=1 compiles every
    module from source on each start; that row shows what it costs.
    """
    with tempfile.TemporaryDirectory(prefix="mock-amojo-pycache-") as cache:
        cached = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"PYTHONPYCACHEPREFIX": cache}
        _starts(1, cached)  # writes the bytecode
        with_bytecode = _starts(repeats, cached)
    from_source = _starts(repeats, {k: v for k, v in os.environ.items() if k != "PYTHONPYCACHEPREFIX"} | {"PYTHONDONTWRITEBYTECODE": "1"})
    return [
        _row("cold start: `mock-amojo serve` to first 200 (installed: bytecode cached)", *with_bytecode, goal=True),
        _row("the same, compiling every module from source (PYTHONDONTWRITEBYTECODE=1)", *from_source, goal=False),
    ]
