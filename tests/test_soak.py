"""A short soak of a real `mock-amojo serve` process: the bench command itself, bounded to a few seconds.

The full 2-minute run is ``python -m bench.soak``; this one proves, on every CI run, that
mixed load with resets, refusals and webhooks leaves RSS and open files flat and never a 5xx.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def _samples(**grow: float) -> tuple[list[Any], float, float]:
    """A 12 s run sampled each second: the load connects 3.5 s in (a busy machine); ``grow`` adds per second after that."""
    from bench.soak import Sample

    samples = []
    for t in range(1, 13):
        up = max(0, t - 3)
        loaded = t >= 4
        samples.append(
            Sample(
                at=float(t),
                rss_kib=int((36 + 20 * loaded + grow.get("rss", 0) * up) * 1024),
                files=14 + int(grow.get("files", 0) * up),
                inbound=17 * loaded,
                # The webhook pool steps up late in the run (a burst meeting a slow receiver), or leaks one per hook.
                hooks=(2 + 9 * (t >= 9) + int(grow.get("hooks", 0) * up)) * loaded,
                replies=60 * up,
            )
        )
    return samples, 3.5, 12.0


@pytest.mark.skipif(not (ROOT / "bench" / "soak.py").is_file(), reason="needs the source checkout (bench/)")
def test_the_soak_verdict_passes_a_ramp_up_and_a_plateau() -> None:
    from bench.soak import verdict

    samples, ready, end = _samples()
    # The webhook pool's late step (2 -> 11) is a plateau, not a leak. Counted from the server's start rather
    # than from when the load runs, the ramp-up (36 MiB, no connections yet) looks like growth.
    assert verdict(samples, ready, end)["flat"] is True
    assert verdict(samples, 0.0, end)["flat"] is False


@pytest.mark.skipif(not (ROOT / "bench" / "soak.py").is_file(), reason="needs the source checkout (bench/)")
@pytest.mark.parametrize(
    "leak", [{"files": 1}, {"hooks": 60}, {"rss": 4}], ids=["a file a second", "a connection a hook", "4 MiB a second"]
)
def test_the_soak_verdict_fails_a_leak(leak: dict[str, float]) -> None:
    from bench.soak import verdict

    assert verdict(*_samples(**leak))["flat"] is False
