"""Cost of durable state: a signed new_message in memory vs. with ``--db`` (SQLite), and start-up replay.

    python -m bench.store            # full
    python -m bench.store --quick    # short

``run(quick)`` returns table rows for ``python -m bench`` (section "store"). One request at a
time, in process (httpx → ASGI, no socket), so the numbers show the store's own cost:

- *memory*: the default store (the baseline);
- *sqlite normal*: ``--db`` (WAL, ``synchronous=NORMAL``: one commit per change, survives ``kill -9``);
- *sqlite full*: ``--db-synchronous full`` (also an fsync per change: survives power loss);
- *replay*: a restart on a file of n changes, until the app is ready.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import standalone_main
from mock_amojo import Config, create_app
from mock_amojo.testing._client import AmojoClient
from mock_amojo.testing._inprocess import SyncASGITransport


def _payload(n: int) -> dict[str, Any]:
    return {
        "timestamp": 1764000000,
        "msgid": f"m-{n}",
        "conversation_id": f"c-{n % 50}",
        "sender": {"id": f"u-{n % 50}", "name": "Client"},
        "message": {"type": "text", "text": f"message {n}"},
    }


def _sends(config: Config, n: int) -> tuple[list[float], Any]:
    app = create_app(config)
    samples = []
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://amojo") as http:
        amojo = AmojoClient(http, config.channel_id, config.channel_secret)
        assert amojo.connect(config.account_id).status_code == 200
        for i in range(n):
            started = time.perf_counter()
            response = amojo.send_message(_payload(i))
            samples.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
    return samples, app


def _stats(name: str, samples: list[float], note: str, baseline: float | None) -> dict[str, Any]:
    ms = sorted(s * 1000 for s in samples)
    p50 = statistics.median(ms)
    return {
        "scenario": name,
        "n": len(ms),
        "p50 ms": round(p50, 3),
        "p95 ms": round(ms[max(0, int(len(ms) * 0.95) - 1)], 3),
        "max ms": round(ms[-1], 3),
        "× memory p50": round(p50 / baseline, 2) if baseline else None,
        "note": note,
    }


def run(quick: bool = False) -> list[dict[str, Any]]:
    n = 300 if quick else 3000
    with tempfile.TemporaryDirectory() as folder:
        _sends(Config(), 50)  # warm up code paths and schema validators
        memory, _ = _sends(Config(), n)
        base = statistics.median(memory) * 1000
        normal_db = str(Path(folder) / "normal.sqlite")
        normal, app = _sends(Config(db=normal_db), n)
        app.state.store.close()
        full, app = _sends(Config(db=str(Path(folder) / "full.sqlite"), db_synchronous="full"), n)
        app.state.store.close()
        started = time.perf_counter()
        restarted = create_app(Config(db=normal_db))
        replay = time.perf_counter() - started
        changes = restarted.state.store.replayed
        restarted.state.store.close()
    return [
        _stats("memory: new_message", memory, "default store", base),
        _stats("sqlite normal: new_message", normal, "--db: committed before the answer", base),
        _stats("sqlite full: new_message", full, "--db-synchronous full: + fsync per change", base),
        {
            "scenario": f"replay {changes} changes at start-up",
            "n": 1,
            "p50 ms": round(replay * 1000, 1),
            "p95 ms": None,
            "max ms": None,
            "× memory p50": None,
            "note": f"{round(replay / changes * 1e6, 1)} µs per change",
        },
    ]


if __name__ == "__main__":
    standalone_main(run, __doc__)
