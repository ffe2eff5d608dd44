"""The benchmark's open-loop generator counts a stall against every request it held up (no coordinated omission)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mock_amojo.serve._server import ServerThread

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not (ROOT / "bench" / "loadgen.py").is_file(), reason="needs the source checkout (bench/)")


class _StallingApp:
    """Answers 200 at once, except that request number ``stall_at`` blocks the whole server for ``stall`` s."""

    def __init__(self, stall_at: int, stall: float) -> None:
        self.seen = 0
        self.stall_at = stall_at
        self.stall = stall

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await receive()
        self.seen += 1
        if self.seen == self.stall_at:
            time.sleep(self.stall)  # a GC pause, a stalled VM: the loop does nothing else meanwhile
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"{}"})


def test_paced_load_is_sent_at_the_rate_and_times_latency_from_when_each_request_was_due() -> None:
    sys.path.insert(0, str(ROOT))
    from bench.loadgen import Pool, run_paced

    rate, seconds, connections = 200.0, 2.0, 2
    app = _StallingApp(stall_at=40, stall=0.25)
    pool = Pool.signed("POST", "/anything", [b"{}"] * int(rate * seconds))
    with ServerThread(app) as server:
        result = run_paced(pool, server.port, connections, seconds, rate)
    assert result.requests == int(rate * seconds) and result.non2xx == 0 and result.socket_errors == 0
    assert result.max_ms is not None and result.max_ms >= 250 * 0.9
    # The stall held up every request due during it (~50 at 5 ms apart, 6 % of the run), not only the
    # 2 in flight: timed from when each was actually sent, 0.5 % would be slow and p99 a few ms.
    assert result.p99_ms > 100
