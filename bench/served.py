"""Served mode: `mock-amojo serve` under load vs a bare Starlette+uvicorn JSON echo app.

Both run as real uvicorn processes on 127.0.0.1 with the same settings (loop/http "auto":
uvloop + httptools), pinned to one core; the load generator runs on the other.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

import httpx
import orjson

from mock_amojo.testing._client import AmojoClient

from .common import (
    ACCOUNT_ID,
    CHANNEL_ID,
    HOST,
    PREFIX,
    SCOPE_ID,
    SECRET,
    bare_command,
    free_port,
    mock_command,
    new_message_bodies,
    server,
)
from .loadgen import LoadResult, Pool, have_wrk, run_load, run_paced

CONNECTIONS = (1, 16, 64)
#: Offered rates of the open-loop latency rows, as shares of the ceiling's closed-loop req/s at 64 connections.
PACED_SHARES = (0.25, 0.4)
#: Upper bound on throughput used to size the signed pool (a request is never sent twice).
MAX_RPS = 25_000


def _message_pool(seconds: float) -> Pool:
    return Pool.signed("POST", f"{PREFIX}/{SCOPE_ID}", new_message_bodies(int(MAX_RPS * seconds) + 100))


def _repeat_pool(method: str, path: str, body: bytes, seconds: float) -> Pool:
    single = Pool.signed(method, path.split("?", 1)[0], [body])
    return Pool(method, path, single.date, single.items * (int(MAX_RPS * seconds) + 100))


def _paired_ratio(runs: list[LoadResult], ceiling_runs: list[LoadResult]) -> float:
    """Median of run-by-run ratios: each mock run against the bare run just before it, so both saw the same machine."""
    return round(statistics.median(r.rps / c.rps for r, c in zip(runs, ceiling_runs, strict=True) if c.rps), 2)


def _row(name: str, connections: int, result: LoadResult, ceiling: LoadResult | None, paired: float | None = None) -> dict[str, object]:
    return {
        "case": name,
        "connections": connections,
        "rps": round(result.rps),
        "p50_ms": round(result.p50_ms, 2),
        "p99_ms": round(result.p99_ms, 2),
        "non2xx": result.non2xx,
        "socket_errors": result.socket_errors,
        "ratio": round(result.rps / ceiling.rps, 2) if ceiling and ceiling.rps else None,
        # Best against best can pair a lucky bare run with an unlucky mock one; this cannot.
        "ratio_paired": paired,
        # Time the hypervisor ran someone else: a client-side p99 spike with steal > 0 is the VM, not the server.
        "cpu_steal_pct": result.steal_pct,
    }


def _prepare_mock(port: int) -> dict[str, str]:
    """Connect the demo account; make a chat with 100 messages (history) and one message id (delivery_status)."""
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=10) as http:
        amojo = AmojoClient(http, CHANNEL_ID, SECRET)
        assert amojo.connect(ACCOUNT_ID, hook_api_version="v2").status_code == 200
        chat = amojo.create_chat("bench-history", {"id": "bench-user", "name": "Bench User"}).json()
        msgid = ""
        for n in range(100):
            body = orjson.loads(new_message_bodies(1, tag=f"hist{n}")[0])
            body["payload"]["conversation_id"] = "bench-history"
            body["payload"]["sender"]["id"] = "bench-user"
            msgid = amojo.send_message(body["payload"]).json()["new_message"]["msgid"]
        return {"chat_id": chat["id"], "msgid": msgid}


def _compared_row(name: str, connections: int, runs: list[LoadResult], ceiling_runs: list[LoadResult]) -> dict[str, object]:
    """A mock row from its rounds: best against the ceiling's best, and the paired ratio of the two series."""
    return _row(name, connections, _best(runs), _best(ceiling_runs), _paired_ratio(runs, ceiling_runs))


def _best(runs: list[LoadResult]) -> LoadResult:
    # Other tenants of a shared machine only ever slow a run down: the best round is the truest.
    return max(runs, key=lambda r: r.rps)


def _fresh(port: int) -> None:
    """Back to a just-started fake with the demo account connected (what a test suite does between tests)."""
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=10) as http:
        assert http.post("/__mock__/reset").status_code == 200
        assert AmojoClient(http, CHANNEL_ID, SECRET).connect(ACCOUNT_ID, hook_api_version="v2").status_code == 200


def run(seconds: float, generator: str | None = None, rounds: int = 3) -> tuple[str, list[dict[str, object]]]:
    """All servers up at once; every case alternates bare and mock runs ``rounds`` times and keeps each side's best.

    ``new_message`` runs on two fakes: one keeps every message (its state grows through the whole section,
    the strict case), the other is reset before each run (a test suite's case: each test starts fresh).
    """
    generator = generator or ("wrk" if have_wrk() else "python")
    rows: list[dict[str, object]] = []
    cap = int(MAX_RPS * seconds)
    bare_port, mock_port, fresh_port = free_port(), free_port(), free_port()
    with (
        server(bare_command(bare_port), f"http://{HOST}:{bare_port}/__mock__/health"),
        server(mock_command(mock_port), f"http://{HOST}:{mock_port}/__mock__/health"),
        server(mock_command(fresh_port), f"http://{HOST}:{fresh_port}/__mock__/health"),
    ):
        ids = _prepare_mock(mock_port)
        bare: dict[int, LoadResult] = {}
        stored = 100  # the history chat's messages; then every accepted new_message
        for conns in CONNECTIONS:
            bare_runs, mock_runs, fresh_runs = [], [], []
            for _ in range(rounds):
                bare_runs.append(run_load(_message_pool(seconds), bare_port, conns, seconds, cap, generator))
                mock_runs.append(run_load(_message_pool(seconds), mock_port, conns, seconds, cap, generator))
                _fresh(fresh_port)
                fresh_runs.append(run_load(_message_pool(seconds), fresh_port, conns, seconds, cap, generator))
            bare[conns] = _best(bare_runs)
            stored += sum(r.requests - r.non2xx for r in mock_runs)
            rows.append(_row("bare Starlette echo (ceiling)", conns, bare[conns], None))
            rows.append(_compared_row(f"mock-amojo new_message, state kept ({stored:,} stored by then)", conns, mock_runs, bare_runs))
            rows.append(_compared_row("mock-amojo new_message, reset before each run", conns, fresh_runs, bare_runs))
        others: dict[str, Callable[[], Pool]] = {
            "connect": lambda: _repeat_pool(
                "POST", f"{PREFIX}/{CHANNEL_ID}/connect", orjson.dumps({"account_id": ACCOUNT_ID, "hook_api_version": "v2"}), seconds
            ),
            "history (50 of 100)": lambda: _repeat_pool(
                "GET", f"{PREFIX}/{SCOPE_ID}/chats/{ids['chat_id']}/history?limit=50", b"", seconds
            ),
            "delivery_status": lambda: _repeat_pool(
                "POST",
                f"{PREFIX}/{SCOPE_ID}/{ids['msgid']}/delivery_status",
                orjson.dumps({"msgid": ids["msgid"], "delivery_status": 2}),
                seconds,
            ),
        }
        for name, make_pool in others.items():
            runs = [run_load(make_pool(), mock_port, 64, seconds, cap, generator) for _ in range(rounds)]
            rows.append(_row(f"mock-amojo {name}", 64, _best(runs), bare[64]))
        rows.extend(_paced_rows(bare_port, fresh_port, bare[64].rps, seconds, rounds))
    return generator, rows


def _paced_rows(bare_port: int, mock_port: int, ceiling_rps: float, seconds: float, rounds: int) -> list[dict[str, object]]:
    """Latency below saturation: the same fixed offered rate to both servers, 64 connections, open loop."""
    rows: list[dict[str, object]] = []
    for share in PACED_SHARES:
        rate = round(ceiling_rps * share)
        bare_runs, mock_runs = [], []
        for _ in range(max(2, rounds // 2)):
            bare_runs.append(run_paced(_message_pool(seconds), bare_port, 64, seconds, rate))
            _fresh(mock_port)
            mock_runs.append(run_paced(_message_pool(seconds), mock_port, 64, seconds, rate))
        for name, runs in (("bare Starlette echo", bare_runs), ("mock-amojo new_message, reset before each run", mock_runs)):
            # A latency row keeps its calmest round (lowest p99), as a throughput row keeps its fastest.
            result = min(runs, key=lambda r: r.p99_ms)
            row = _row(f"{name} at {rate:,} req/s offered ({share:.0%} of the ceiling), open loop", 64, result, None)
            row["max_ms"] = round(result.max_ms or 0.0, 1)
            rows.append(row)
    return rows
