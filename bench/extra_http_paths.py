"""The fake's two HTTP paths against the bare Starlette echo app on plain uvicorn, in one run.

    python -m bench.extra_http_paths [--quick]   # standalone
    python -m bench                              # as an "extra" section of the bench runner

Signed, schema-checked, stored ``new_message`` at 32 connections on `mock-amojo serve` (inline
protocol, the default) and `mock-amojo serve --http stock` (uvicorn's own httptools protocol),
each reset before every run as a test suite resets between tests; the ceiling is the bare echo
app on plain uvicorn (``--loop asyncio --http h11``). Goal (issue #15): both ≥ 1.5 × the ceiling.
The three servers run side by side, pinned to the same core; every round runs each once, and
each row keeps its best round (``ratio``) and the median of its run-by-run ratios (``ratio_paired``).
"""

from __future__ import annotations

import sys

from .common import HOST, bare_command, free_port, mock_command, server, standalone_main
from .loadgen import LoadResult, have_wrk, run_load
from .served import MAX_RPS, _best, _fresh, _message_pool, _paired_ratio, _row

TITLE = "HTTP paths (new_message at 32 connections: inline, --http stock, bare Starlette on plain uvicorn asyncio+h11)"
CONNECTIONS = 32


def plain_command(port: int) -> list[str]:
    """The bare echo app on uvicorn with no extras: asyncio's loop and the pure-Python h11 protocol."""
    command = bare_command(port)
    command[command.index("--loop") + 1] = "asyncio"
    return [*command, "--http", "h11"]


def run(quick: bool) -> list[dict[str, object]]:
    seconds, rounds = (1.0, 2) if quick else (3.0, 3)
    generator = "wrk" if have_wrk() else "python"
    cap = int(MAX_RPS * seconds)
    plain_port, inline_port, stock_port = free_port(), free_port(), free_port()
    health = "http://{}:{}/__mock__/health"
    with (
        server(plain_command(plain_port), health.format(HOST, plain_port)),
        server(mock_command(inline_port), health.format(HOST, inline_port)),
        server(mock_command(stock_port, "--http", "stock"), health.format(HOST, stock_port)),
    ):
        plain: list[LoadResult] = []
        inline: list[LoadResult] = []
        stock: list[LoadResult] = []
        for _ in range(rounds):
            plain.append(run_load(_message_pool(seconds), plain_port, CONNECTIONS, seconds, cap, generator))
            for port, runs in ((inline_port, inline), (stock_port, stock)):
                _fresh(port)
                runs.append(run_load(_message_pool(seconds), port, CONNECTIONS, seconds, cap, generator))
    rows = [_row("bare Starlette echo on plain uvicorn, asyncio+h11 (ceiling)", CONNECTIONS, _best(plain), None)]
    for name, runs in (("mock-amojo serve (inline)", inline), ("mock-amojo serve --http stock", stock)):
        rows.append(_row(f"{name} new_message", CONNECTIONS, _best(runs), _best(plain), _paired_ratio(runs, plain)))
    for row in rows:
        row["generator"] = generator
    return rows


if __name__ == "__main__":
    standalone_main(run, sys.modules[__name__].__doc__)
