"""A short soak of a real `mock-amojo serve` process: the bench command itself, bounded to a few seconds.

The full 2-minute run is ``python -m bench.soak``; this one proves, on every CI run, that
mixed load with resets, refusals and webhooks leaves RSS and open files flat and never a 5xx.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(not (ROOT / "bench" / "soak.py").is_file(), reason="needs the source checkout (bench/)")
def test_short_soak_is_flat_and_error_free() -> None:
    done = subprocess.run(  # our own bench command, fixed arguments
        [sys.executable, "-m", "bench.soak", "--seconds", "12", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    row = json.loads(done.stdout.strip().splitlines()[-1])
    assert row["5xx"] == 0 and row["client_errors"] == 0, row
    assert row["requests"] > 500, row
    assert row["flat"] is True, row
    assert done.returncode == 0, done.stderr[-2000:]
