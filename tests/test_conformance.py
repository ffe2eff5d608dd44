"""Receiver conformance: the battery, its judge, the CLI and the shipped example receivers on real sockets."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from contract_tests.expect import schema_errors
from contract_tests.receiver import Receiver
from mock_amojo.testing._conformance import AMOJO_TIMEOUT, Check, assert_receiver_conforms, battery, check_receiver
from mock_amojo.testing._conformance import _judge as judge
from mock_amojo.wire._signing import verify_webhook

ROOT = Path(__file__).resolve().parent.parent
RECEIVERS = ROOT / "examples" / "receivers"
SECRET = "f2d7f8704eff95087ed45b23ba99c0b5aac8278e"
OTHER = "0" * 40


def _start(script: str, secret: str) -> Iterator[str]:
    """Run an example receiver as its own process on a free port of 127.0.0.1; yield its base URL."""
    process = subprocess.Popen(  # our own example, fixed arguments
        [sys.executable, str(RECEIVERS / script), "--secret", secret, "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    try:
        assert line.startswith("listening on http://127.0.0.1:"), line
        yield line.removeprefix("listening on ").strip()
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


@pytest.fixture(scope="module")
def good() -> Iterator[str]:
    yield from _start("good_receiver.py", SECRET)


@pytest.fixture(scope="module")
def naive() -> Iterator[str]:
    yield from _start("naive_receiver.py", SECRET)


def _schema_for(body: dict[str, object]) -> str:
    action = body.get("action")
    if isinstance(action, dict):
        return "webhook_v2_typing.json" if "typing" in action else "webhook_v2_reaction.json"
    return "webhook_v2_message.json"


def test_genuine_probes_are_schema_valid_and_verify_forged_ones_do_not() -> None:
    probes = battery(SECRET, scope_id="chan_acc", now=1_764_000_000)
    assert len(probes) == 18
    for probe in probes:
        signature = probe.headers.get("X-Signature", "")
        verifies = bool(signature) and verify_webhook(SECRET, probe.body, signature)
        assert verifies is not probe.check.forged, probe.check.name
        body = orjson.loads(probe.body)
        if probe.check.name != "unknown extra fields":
            assert not schema_errors(_schema_for(body), body), (probe.check.name, schema_errors(_schema_for(body), body))
        if body.get("account_id") is not None:
            assert body["account_id"] == "acc"


def test_write_first_probe_has_no_client_ids() -> None:
    (probe,) = [p for p in battery(SECRET) if p.check.name.startswith("write first")]
    message = orjson.loads(probe.body)["message"]
    assert "client_id" not in message["conversation"]
    assert "client_id" not in message["receiver"]


def test_every_documented_message_type_is_probed() -> None:
    kinds = {orjson.loads(p.body)["message"]["message"]["type"] for p in battery(SECRET) if p.check.name.endswith("reply")}
    assert kinds == {"text", "picture", "file", "video", "voice", "audio", "sticker"}


@pytest.mark.parametrize(
    ("expect", "status", "latency", "passed"),
    [
        ("accept", 200, 0.01, True),
        ("accept", 204, 0.01, False),
        ("accept", 200, AMOJO_TIMEOUT + 1, False),
        ("accept", None, 0.01, False),
        ("refuse", 401, 0.01, True),
        ("refuse", 200, 0.01, False),
        ("refuse", None, 0.01, True),
        ("no-error", 409, 0.01, True),
        ("no-error", 500, 0.01, False),
    ],
)
def test_judge(expect: str, status: int | None, latency: float, passed: bool) -> None:
    check = Check("x", expect, "why", forged=expect == "refuse")  # type: ignore[arg-type]
    assert judge(check, status, latency, AMOJO_TIMEOUT)[0] is passed


def test_hooks_go_to_the_url_with_scope_id_replaced() -> None:
    with Receiver() as receiver:
        report = check_receiver(receiver.url("/amojo/:scope_id"), SECRET, scope_id="chan_acc")
        assert {h.path for h in receiver.hooks} == {"/amojo/chan_acc"}
        assert len(receiver.hooks) == len(report.outcomes)
    # The recording receiver checks nothing, so it accepts the forged calls too.
    assert report.exit_code == 1


def test_example_good_receiver_conforms(good: str) -> None:
    report = assert_receiver_conforms(f"{good}/amojo/:scope_id", SECRET, scope_id="chan_acc")
    assert report.exit_code == 0
    assert "the receiver conforms" in report.table()


def test_example_naive_receiver_is_insecure_and_fragile(naive: str) -> None:
    report = check_receiver(naive, SECRET)
    assert [o.check.name for o in report.forged_accepted] == ["missing signature"]
    failed = {o.check.name for o in report.outcomes if not o.passed}
    assert failed == {"missing signature", "write first (no client_id)", "typing hook", "reaction hook", "unreact hook"}
    assert report.exit_code == 1
    with pytest.raises(AssertionError, match="INSECURE: accepted 1 forged call"):
        assert_receiver_conforms(naive, SECRET)


def test_receiver_with_another_secret_refuses_genuine_calls(good: str) -> None:
    report = check_receiver(good, OTHER)
    assert not report.forged_accepted
    assert not report.passed
    assert report.exit_code == 3


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # our own CLI
        [sys.executable, "-m", "mock_amojo", "check-receiver", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_cli_exit_codes_and_table(good: str, naive: str) -> None:
    passing = _cli(f"{good}/hooks/:scope_id", "--secret", SECRET, "--scope-id", "chan_acc")
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "18/18 checks passed" in passing.stdout
    failing = _cli(naive, "--secret", SECRET)
    assert failing.returncode == 1
    assert "FORGED ACCEPTED" in failing.stdout
    assert "INSECURE" in failing.stdout


def test_cli_json_and_bad_scope_id(good: str) -> None:
    result = _cli(good, "--secret", SECRET, "--json")
    assert result.returncode == 0
    rows = orjson.loads(result.stdout)
    assert len(rows) == 18
    assert all(r["passed"] for r in rows)
    bad = _cli(good, "--secret", SECRET, "--scope-id", "no-underscore")
    assert bad.returncode == 2
    assert "scope id" in bad.stderr


def test_an_unreachable_receiver_is_one_reason_not_a_failure_per_check() -> None:
    # It was 18 generic failures ("no answer (timeout or connection error)").
    with Receiver() as receiver:
        url = receiver.url("/")
    report = check_receiver(url, SECRET, timeout=1.0)
    assert (report.exit_code, report.passed, report.unreachable, report.outcomes) == (3, False, "connection refused", [])
    assert report.table() == f"cannot reach the receiver at {url}: connection refused; is it running and listening there?"
    cli = _cli(url, "--secret", SECRET)
    assert (cli.returncode, cli.stdout) == (2, "")
    assert cli.stderr == f"mock-amojo: error: cannot reach the receiver at {url}: connection refused; is it running and listening there?\n"


def test_battery_runs_concurrently_against_one_receiver(good: str) -> None:
    """Two integrations' checks at once (e.g. xdist) do not disturb each other."""
    reports = []
    threads = [threading.Thread(target=lambda: reports.append(check_receiver(good, SECRET))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.exit_code for r in reports] == [0, 0]
