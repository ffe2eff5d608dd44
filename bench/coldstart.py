"""Cold start: `mock-amojo serve` process start to its first 200 vs a bare uvicorn start of a one-route app, in one run.

python -m bench.coldstart [--quick]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .common import HOST, ROOT, free_port, mock_command, stop_process, wait_http

GOAL = 1.25


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bare_command(port: int) -> list[str]:
    """Stock uvicorn (its default loop and HTTP protocol) serving ``bench.one_route:app``."""
    return [sys.executable, "-m", "uvicorn", "bench.one_route:app", "--host", HOST, "--port", str(port), "--log-level", "warning"]


def _start(command: list[str], port: int, env: dict[str, str]) -> tuple[float, float]:
    """Seconds from process start to the first 200, and the CPU seconds the server spent until then."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        ready = wait_http(f"http://{HOST}:{port}/__mock__/health", interval=0.001)
        cpu = _cpu_seconds(proc.pid)
    finally:
        stop_process(proc)
    return ready - started, cpu


def _starts(repeats: int, env: dict[str, str]) -> dict[str, tuple[list[float], list[float]]]:
    """Both servers, taking turns (a burst of load slows one start of each, not every start of one)."""
    commands: dict[str, Callable[[int], list[str]]] = {"bare": bare_command, "mock": mock_command}
    samples: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in commands}
    for _ in range(repeats):
        for name, command in commands.items():
            port = free_port()
            wall, cpu = _start(command(port), port, env)
            samples[name][0].append(wall)
            samples[name][1].append(cpu)
    return samples


def _row(case: str, walls: list[float], cpu: list[float], ratio: float | None, goal: bool) -> dict[str, object]:
    return {
        "case": case,
        "median_s": round(statistics.median(walls), 3),
        "best_s": round(min(walls), 3),
        "server_cpu_s": round(statistics.median(cpu), 3),
        "runs": len(walls),
        "ratio": None if ratio is None else round(ratio, 2),
        "goal": f"≤ {GOAL}× bare" if goal else "—",
        "met": (ratio is not None and ratio <= GOAL) if goal else None,
    }


def run(repeats: int = 5) -> list[dict[str, object]]:
    """Median wall time to the first 200, and the CPU time the server spent to get there; the ratio of medians.

    Measured as installed: ``pip install`` compiles packages to bytecode, so both servers start with a
    bytecode cache (kept outside the checkout, in a temporary PYTHONPYCACHEPREFIX, filled by one
    unmeasured start of each). A checkout run with PYTHONDONTWRITEBYTECODE=1 compiles every module
    from source on each start; the last row shows what that costs the fake.
    """
    with tempfile.TemporaryDirectory(prefix="mock-amojo-pycache-") as cache:
        cached = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"PYTHONPYCACHEPREFIX": cache}
        _starts(1, cached)  # writes the bytecode
        samples = _starts(repeats, cached)
    bare, mock = samples["bare"], samples["mock"]
    ratio = statistics.median(mock[0]) / statistics.median(bare[0])
    source_env = {k: v for k, v in os.environ.items() if k != "PYTHONPYCACHEPREFIX"} | {"PYTHONDONTWRITEBYTECODE": "1"}
    from_source = _starts(max(1, repeats // 2), source_env)["mock"]
    return [
        _row("bare uvicorn, one-route Starlette app, to first 200 (ceiling)", *bare, 1.0, goal=False),
        _row("`mock-amojo serve` to first 200 (installed: bytecode cached)", *mock, ratio, goal=True),
        _row("the same, compiling every module from source (PYTHONDONTWRITEBYTECODE=1)", *from_source, None, goal=False),
    ]


if __name__ == "__main__":
    for row in run(3 if "--quick" in sys.argv else 7):
        print(" | ".join(f"{k}: {v}" for k, v in row.items()))
