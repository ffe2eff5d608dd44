"""``mock-amojo channel``: show and change a channel of a fake that is running."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mock_amojo.cli import main
from mock_amojo.config import DEMO_CHANNEL_ID, DEMO_CHANNEL_SECRET

from .conftest import free_port
from .serve_process import Served, start


@pytest.fixture(scope="module")
def running() -> Iterator[Served]:
    with start() as server:
        yield server


def test_set_changes_the_running_channel_and_prints_it(running: Served, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["channel", "set", "--url", running.base_url, "--webhook-url", "http://127.0.0.1:9/amojo/:scope_id", "--hook-api-version", "v2"]
    )
    printed = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (printed["id"], printed["webhook_url"], printed["hook_api_version"]) == (
        DEMO_CHANNEL_ID,
        "http://127.0.0.1:9/amojo/:scope_id",
        "v2",
    )
    with httpx.Client(base_url=running.base_url) as http:
        held = http.get(f"/__mock__/channels/{DEMO_CHANNEL_ID}").json()
    assert held["webhook_url"] == "http://127.0.0.1:9/amojo/:scope_id"
    assert main(["channel", "set", "--url", running.base_url, "--webhook-url", "none", "--no-write-first"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["webhook_url"], printed["write_first"]) == (None, False)
    assert main(["channel", "show", "--url", running.base_url]) == 0
    assert json.loads(capsys.readouterr().out)["write_first"] is False


def test_rotate_secret_prints_the_new_secret_once(running: Served, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["channel", "set", "--url", running.base_url, "--rotate-secret"]) == 0
    secret = json.loads(capsys.readouterr().out)["secret"]
    assert len(secret) == 40 and secret != DEMO_CHANNEL_SECRET
    assert main(["channel", "set", "--url", running.base_url, "--secret", DEMO_CHANNEL_SECRET]) == 0
    assert DEMO_CHANNEL_SECRET not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--webhook-url", "http://127.0.0.1:99999/x"], "400 Body does not match control_channel_update.request.json: at /webhook_url"),
        (["--secret", "short"], "400 Body does not match control_channel_update.request.json: at /secret"),
        (["--channel-id", "344a5002-f8ca-454d-af3d-396180102ac7", "--name", "x"], "404 No channel with channel id"),
        ([], "channel set: nothing to change"),
    ],
)
def test_a_refused_change_is_one_line_with_exit_2(
    running: Served, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    assert main(["channel", "set", "--url", running.base_url, *flags]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"mock-amojo: error: {message}"), error
    assert len(error.strip().splitlines()) == 1


def test_no_fake_running_says_connection_refused(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["channel", "show", "--url", url]) == 2
    error = capsys.readouterr().err
    assert (
        error.strip() == f"mock-amojo: error: no fake answers at {url} (connection refused); is `mock-amojo serve` running there? (--url)"
    )


def test_a_restart_on_a_state_file_shows_the_channel_as_it_was_left(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "state.sqlite")
    with start("--db", db) as first:
        assert main(["channel", "set", "--url", first.base_url, "--rotate-secret", "--webhook-url", "http://127.0.0.1:9/h"]) == 0
        secret = json.loads(capsys.readouterr().out)["secret"]
    with start("--db", db) as again:
        assert secret in again.banner and DEMO_CHANNEL_SECRET not in again.banner
        assert "http://127.0.0.1:9/h" in again.banner
        curl = next(line.strip() for line in again.banner.splitlines() if line.strip().startswith("curl "))
        connected = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, timeout=20, check=False)
        if connected.returncode == 127:
            pytest.skip("curl is not installed")
        assert '"scope_id"' in connected.stdout, connected.stdout  # the banner's curl is signed with the secret the fake holds
