"""The pytest plugin's costs: per-test setup of ``amojo``, and the in-process round trip vs bare httpx-ASGI.

    python bench/extra_plugin.py [--quick]      # standalone
    python -m bench                             # as the "extra" section of the bench runner

Goals (issue #4): setup ≤ 1 ms per test; an in-process round trip through the plugin's
routing ≤ 2× the same signed request sent straight through ``httpx.ASGITransport``.
Times are CPU time (``process_time``), best of three rounds.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from mock_amojo.testing._client import AmojoClient
from mock_amojo.testing._inprocess import SyncASGITransport
from mock_amojo.testing._sandbox import SandboxHost, SandboxSettings
from mock_amojo.wire._signing import format_date, sign_request

TITLE = "pytest plugin (per-test setup; in-process round trip vs bare httpx-ASGI)"
PREFIX = "/v2/origin/custom"


def _best(job: Callable[[], float], rounds: int = 3) -> float:
    return min(job() for _ in range(rounds))


def setup_cost(n: int) -> float:
    """µs for a clean sandbox: reset, fresh channel and account, clock, routing start and stop."""
    host = SandboxHost()
    try:
        host.open().close()

        def job() -> float:
            t = time.process_time()
            for _ in range(n):
                host.open(SandboxSettings()).close()
            return (time.process_time() - t) / n * 1e6

        return _best(job)
    finally:
        host.close()


_TIMING_CONFTEST = """
import json, time
import pytest

totals = {}

@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    t = time.process_time()
    try:
        return (yield)
    finally:
        group = item.originalname
        totals[group] = totals.get(group, 0.0) + time.process_time() - t

def pytest_sessionfinish(session):
    with open("timings.json", "w") as out:
        json.dump(totals, out)
"""


def pytest_overhead(n: int) -> tuple[float, float]:
    """µs of CPU per test for pytest's whole run protocol, with and without the ``amojo`` fixture."""
    body = textwrap.dedent(
        f"""
        import pytest

        @pytest.mark.parametrize("n", range({n}))
        def test_with_fixture(amojo, n):
            assert amojo.channel_id

        @pytest.mark.parametrize("n", range({n}))
        def test_without_fixture(n):
            assert n >= 0
        """
    )
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "test_overhead.py").write_text(body)
        (Path(folder) / "conftest.py").write_text(_TIMING_CONFTEST)
        (Path(folder) / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider -p no:hypothesispytest\n")
        runs = []
        for _ in range(3):
            subprocess.run([sys.executable, "-m", "pytest", "-q"], cwd=folder, capture_output=True, check=True)
            runs.append(json.loads((Path(folder) / "timings.json").read_text()))
    with_fixture = min(r["test_with_fixture"] for r in runs) / n * 1e6
    without = min(r["test_without_fixture"] for r in runs) / n * 1e6
    return with_fixture, without


def _payload(i: int) -> dict[str, Any]:
    return {
        "timestamp": 1_764_000_000,
        "msgid": f"m-{i}",
        "conversation_id": f"c-{i % 16}",
        "sender": {"id": f"u-{i % 16}", "name": "Ann"},
        "message": {"type": "text", "text": "hello"},
    }


def round_trips(n: int) -> dict[str, float]:
    """µs per signed ``new_message`` — the same bytes, the same app, four ways in."""
    host = SandboxHost()
    results: dict[str, float] = {}
    try:

        def prepared(sandbox: Any) -> list[tuple[str, bytes, dict[str, str]]]:
            path = f"{PREFIX}/{sandbox.scope_id}"
            date = format_date(sandbox.clock.now())
            out = []
            for i in range(n):
                raw = httpx.Request("POST", "http://x", json={"event_type": "new_message", "payload": _payload(i)}).read()
                out.append((path, raw, sign_request(sandbox.channel_secret, "POST", path, raw, date=date)))
            return out

        def sync_run(make_client: Callable[[], httpx.Client]) -> float:
            with host.open() as sandbox:
                sandbox.connect()
                requests = prepared(sandbox)
                with make_client() as client:
                    t = time.process_time()
                    for path, raw, headers in requests:
                        client.post(path, content=raw, headers=headers)
                    elapsed = time.process_time() - t
                assert len(sandbox.refused) == 0, sandbox.explain_refusals()
                return elapsed / n * 1e6

        def async_run(make_client: Callable[[], httpx.AsyncClient]) -> float:
            with host.open() as sandbox:
                sandbox.connect()
                requests = prepared(sandbox)

                async def go() -> float:
                    async with make_client() as client:
                        t = time.process_time()
                        for path, raw, headers in requests:
                            await client.post(path, content=raw, headers=headers)
                        return time.process_time() - t

                elapsed = asyncio.run(go())
                assert len(sandbox.refused) == 0, sandbox.explain_refusals()
                return elapsed / n * 1e6

        base = "https://amojo.amocrm.com"
        results["bare httpx.ASGITransport (async)"] = _best(
            lambda: async_run(lambda: httpx.AsyncClient(transport=httpx.ASGITransport(app=host.app), base_url=base))
        )
        results["plugin routing, async httpx.AsyncClient()"] = _best(lambda: async_run(lambda: httpx.AsyncClient(base_url=base)))
        results["bare SyncASGITransport (sync)"] = _best(
            lambda: sync_run(lambda: httpx.Client(transport=SyncASGITransport(host.app), base_url=base))
        )
        results["plugin routing, sync httpx.Client()"] = _best(lambda: sync_run(lambda: httpx.Client(base_url=base)))
        # AmojoClient signs per request (the fixture's own client): what a test's helper call costs.
        with host.open() as sandbox:
            sandbox.connect()
            client: AmojoClient = sandbox.client

            def signed() -> float:
                t = time.process_time()
                for i in range(n):
                    client.send_message({**_payload(i), "msgid": f"s-{time.perf_counter_ns()}-{i}"})
                return (time.process_time() - t) / n * 1e6

            results["amojo.client.send_message (signs each call)"] = _best(signed)
    finally:
        host.close()
    return results


def run(quick: bool = False) -> list[dict[str, object]]:
    n = 300 if quick else 2000
    rows: list[dict[str, object]] = []
    setup = setup_cost(200 if quick else 2000)
    rows.append({"measure": "sandbox open+close (reset, channel, account, clock, routing)", "µs": round(setup, 1), "goal": "≤ 1000"})
    with_fixture, without = pytest_overhead(200 if quick else 1000)
    rows.append(
        {
            "measure": "pytest: setup+call+teardown per test, with amojo minus without",
            "µs": round(with_fixture - without, 1),
            "goal": "≤ 1000",
            "note": f"{with_fixture:.0f} vs {without:.0f} µs",
        }
    )
    trips = round_trips(n)
    bare_async = trips["bare httpx.ASGITransport (async)"]
    for name, value in trips.items():
        rows.append({"measure": f"round trip: {name}", "µs": round(value, 1), "ratio to bare async": round(value / bare_async, 2)})
    return rows


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(" | ".join(f"{k}: {v}" for k, v in row.items()))
