"""The ``mock-amojo`` command as a user runs it: a real server process, real HTTP, clean exits."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mock_amojo.cli import main
from mock_amojo.config import DEMO_ACCOUNT_ID, DEMO_CHANNEL_ID, DEMO_CHANNEL_SECRET, Config
from mock_amojo.wire._signing import sign_request

from .conftest import Receiver
from .serve_process import Served, run, start


@pytest.fixture
def served() -> Iterator[Served]:
    with start() as server:
        yield server


def test_serve_prints_credentials_and_a_working_signed_curl(served: Served) -> None:
    assert DEMO_CHANNEL_ID in served.banner
    assert DEMO_CHANNEL_SECRET in served.banner
    assert DEMO_ACCOUNT_ID in served.banner
    assert served.base_url.startswith("http://127.0.0.1:")
    curl = next(line.strip() for line in served.banner.splitlines() if line.strip().startswith("curl "))
    result = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, timeout=20, check=False)
    if result.returncode == 127:
        pytest.skip("curl is not installed")
    assert f'"scope_id":"{DEMO_CHANNEL_ID}_{DEMO_ACCOUNT_ID}"' in result.stdout


def test_served_fake_answers_real_http_and_stops_on_sigterm(served: Served) -> None:
    path = f"/v2/origin/custom/{DEMO_CHANNEL_ID}/connect"
    body = f'{{"account_id":"{DEMO_ACCOUNT_ID}","hook_api_version":"v2"}}'.encode()
    with httpx.Client(base_url=served.base_url) as client:
        response = client.post(path, content=body, headers=sign_request(DEMO_CHANNEL_SECRET, "POST", path, body))
        assert response.status_code == 200
        assert response.json()["hook_api_version"] == "v2"
        assert client.get("/__mock__/health").json()["status"] == "ok"
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=10) == 0


def test_serve_stops_on_sigint(served: Served) -> None:
    served.process.send_signal(signal.SIGINT)
    assert served.process.wait(timeout=10) == 0


def test_serve_with_own_channel_from_flags_and_env() -> None:
    with (
        start("--channel-id", "0b5c1c8e-1111-4222-8333-444455556666", "--channel-secret", "a" * 40, "--no-demo") as server,
        httpx.Client(base_url=server.base_url) as client,
    ):
        # --no-demo: nothing registered, even though a channel was named.
        assert client.get("/__mock__/channels").json()["channels"] == []


def test_no_demo_banner_shows_no_demo_credentials_and_a_curl_that_works() -> None:
    # Issue #14 item 9: --no-demo printed the demo channel, secret and account and a connect curl that 404s.
    with start("--no-demo") as server:
        for shown in (DEMO_CHANNEL_ID, DEMO_CHANNEL_SECRET, DEMO_ACCOUNT_ID, "/connect"):
            assert shown not in server.banner
        curl = next(line.strip() for line in server.banner.splitlines() if line.strip().startswith("curl "))
        result = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, timeout=20, check=False)
        if result.returncode == 127:
            pytest.skip("curl is not installed")
        created = json.loads(result.stdout)
        assert len(created["secret"]) == 40
        with httpx.Client(base_url=server.base_url) as client:
            assert [c["id"] for c in client.get("/__mock__/channels").json()["channels"]] == [created["id"]]


def _assert_one_line_error(args: list[str], message: str) -> None:
    """``mock-amojo args`` exits with 2 and one line that says ``message``, and no traceback."""
    result = run(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "--port", "eighty"], "--port: expected an integer, got 'eighty'"),
        (["serve", "--port", "70000"], "port: must be a whole number, 0..65535"),
        (["serve", "--hook-api-version", "v3"], "hook_api_version: v1 or v2"),
        (["serve", "--channel-secret", "short"], "channel_secret: must be 40 lowercase hex"),
        (["serve", "--webhook-url", "ftp://x"], "webhook_url: must start with http:// or https://"),
        (["serve", "--bogus"], "unrecognized arguments: --bogus"),
        (["serve", "--stance", "empty_txt=off"], "--stance: unknown rule 'empty_txt' (did you mean 'empty_text'?)"),
        (["serve", "--stance", "empty_text=loud"], "--stance: empty_text: strict, warn or off, got 'loud'"),
        (["serve", "--stance", "empty_text"], "--stance: expected RULE=STANCE"),
        (["serve", "--error-bodies", "terse"], "error_bodies: explain or bare, got 'terse'"),
        (["launch"], "invalid choice: 'launch'"),
    ],
)
def test_bad_flags_are_one_line_errors_with_exit_2(args: list[str], message: str) -> None:
    _assert_one_line_error(args, message)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # Issue #14 item 7: each of these was a traceback.
        (["sign", "POST", "/x", "--body", "\udcff"], "--body: not valid UTF-8 text"),
        (["sign", "POST", "/x", "--body=\udcff"], "--body: not valid UTF-8 text"),
        (["sign", "POST", "/x\udcff"], "argument 3: not valid UTF-8 text"),
        (["sign", "POST", "/x", "--secret", "\udcff"], "--secret: not valid UTF-8 text"),
        (["check-receiver", "http://127.0.0.1:9/", "--secret", "s", "--timeout", "-1"], "timeout: must be a finite number, 0..3600"),
        (["check-receiver", "http://127.0.0.1:9/", "--secret", "s", "--timeout", "nan"], "timeout: must be a finite number"),
        (["check-receiver", "http://127.0.0.1:9/", "--secret", "s", "--timeout", "inf"], "timeout: must be a finite number"),
        (["check-receiver", "http://127.0.0.1:9/", "--secret", "s", "--timeout", "1e400"], "timeout: must be a finite number"),
        (["check-receiver", "http://127.0.0.1:9/", "--secret", "\udcff"], "--secret: not valid UTF-8 text"),
        (["check-receiver", "", "--secret", "s"], "url: must start with http:// or https://"),
        # Found fuzzing the other arguments: no traceback, but nothing usable either.
        (["sign", "", "/x"], "method: "),
        (["sign", "POST", "x"], "path: "),
        (["sign", "POST", "/x", "--curl", "--base-url", ""], "--base-url: must start with http"),
        (["serve", "--host", ""], "host: empty"),
        (["serve", "--journal-size", "9" * 30], "journal_size: must be a whole number, 1..10000000"),
        (["serve", "--channel-name", "\udcff"], "--channel-name: not valid UTF-8 text"),
        # Issue #14 item 8: these started a server that accepted any Date / never finished a delivery.
        (["serve", "--max-age", "nan"], "--max-age: must be a finite number, got 'nan'"),
        (["serve", "--max-future-skew", "inf"], "--max-future-skew: must be a finite number, got 'inf'"),
        (["serve", "--webhook-timeout", "nan"], "--webhook-timeout: must be a finite number, got 'nan'"),
        (["serve", "--webhook-timeout", "1e400"], "--webhook-timeout: must be a finite number, got '1e400'"),
        (["serve", "--webhook-timeout", "1e300"], "webhook_timeout: must be a finite number, 0..3600"),
    ],
)
def test_odd_arguments_are_one_line_errors_with_exit_2(args: list[str], message: str) -> None:
    _assert_one_line_error(args, message)


@pytest.mark.parametrize(
    ("variable", "value"), [("MOCK_AMOJO_MAX_AGE", "nan"), ("MOCK_AMOJO_WEBHOOK_TIMEOUT", "inf"), ("MOCK_AMOJO_CHANNEL_NAME", "\udcff")]
)
def test_odd_environment_values_are_one_line_errors(variable: str, value: str) -> None:
    result = run("serve", env={variable: value})
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_bad_environment_value_is_one_line_error() -> None:
    result = run("serve", env={"MOCK_AMOJO_MAX_AGE": "soon"})
    assert result.returncode == 2
    assert result.stderr.strip() == "mock-amojo: error: MOCK_AMOJO_MAX_AGE: expected a number, got 'soon'"


def test_config_file_typo_is_named_with_a_suggestion(tmp_path: Path) -> None:
    config = tmp_path / "amojo.toml"
    config.write_text('[mock-amojo]\nport = 9000\nwebhok_url = "http://127.0.0.1:9/hook"\n')
    result = run("serve", "--config", str(config))
    assert result.returncode == 2
    assert "unknown setting 'webhok_url' (did you mean 'webhook_url'?)" in result.stderr


def test_config_file_that_is_not_toml(tmp_path: Path) -> None:
    config = tmp_path / "amojo.toml"
    config.write_text("port = = 1\n")
    result = run("serve", "--config", str(config))
    assert result.returncode == 2
    assert "is not valid TOML" in result.stderr


def test_missing_config_file() -> None:
    result = run("serve", "--config", "/nonexistent/amojo.toml")
    assert result.returncode == 2
    assert "does not exist" in result.stderr


def test_port_in_use_is_a_clear_error(served: Served) -> None:
    port = served.base_url.rsplit(":", 1)[1]
    result = run("serve", "--port", port, "--log-level", "critical")
    assert result.returncode == 2
    assert f"could not listen on 127.0.0.1:{port}" in result.stderr


def test_sign_prints_headers_that_verify(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sign", "POST", "/v2/origin/custom/x/connect", "--body", "{}", "--secret", "b" * 40]) == 0
    lines = dict(line.split(": ", 1) for line in capsys.readouterr().out.strip().splitlines())
    assert lines["Content-MD5"] == "99914b932bd37a50b983c5e7c90ae93b"
    expected = sign_request("b" * 40, "POST", "/v2/origin/custom/x/connect", b"{}", date=lines["Date"])
    assert lines["X-Signature"] == expected["X-Signature"]


def test_sign_curl_quotes_the_body(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sign", "POST", "/p", "--body", '{"a":"it\'s"}', "--curl"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("curl -sS -X POST http://127.0.0.1:8080/p -H ")
    assert "--data-binary" in out


@pytest.mark.parametrize(("flags", "user_agent"), [((), "mock-amojo-webhooks"), (("--webhook-client", "httpx"), "python-httpx/")])
def test_serve_sends_hooks_with_the_lean_client_unless_told_otherwise(receiver: Receiver, flags: tuple[str, ...], user_agent: str) -> None:
    scope_id = f"{DEMO_CHANNEL_ID}_{DEMO_ACCOUNT_ID}"
    with start("--webhook-url", receiver.url, "--hook-api-version", "v2", *flags) as server:
        with httpx.Client(base_url=server.base_url, trust_env=False) as client:
            path = f"/v2/origin/custom/{DEMO_CHANNEL_ID}/connect"
            body = json.dumps({"account_id": DEMO_ACCOUNT_ID}).encode()
            assert client.post(path, content=body, headers=sign_request(DEMO_CHANNEL_SECRET, "POST", path, body)).status_code == 200
            path = f"/v2/origin/custom/{scope_id}/chats"
            body = json.dumps({"conversation_id": "c1", "user": {"id": "u1", "name": "Ann"}}).encode()
            assert client.post(path, content=body, headers=sign_request(DEMO_CHANNEL_SECRET, "POST", path, body)).status_code == 200
            reply = {"scope_id": scope_id, "conversation_id": "c1", "message": {"type": "text", "text": "hi"}}
            assert client.post("/__mock__/operator/reply", json=reply).status_code == 201
        (hook,) = receiver.wait(1)
        assert hook.headers["user-agent"].startswith(user_agent)


def test_the_command_starts_without_garbage_collection_and_runs_with_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What a start builds lives as long as the process: the entry point collects none of it, then turns collection back on."""
    import gc

    import mock_amojo.__main__ as entry
    import mock_amojo.cli as cli
    from mock_amojo import _cli_commands, _cli_parser

    seen: dict[str, bool] = {}
    parser, sign = _cli_parser.command_parser, _cli_commands.run_sign

    def parsing(argv: object = None) -> object:
        seen["while starting"] = gc.isenabled()
        return parser(argv)  # type: ignore[arg-type]

    def signing(args: object) -> int:
        seen["while running"] = gc.isenabled()
        return sign(args)  # type: ignore[arg-type]

    monkeypatch.setattr(cli, "command_parser", parsing)
    monkeypatch.setattr(cli, "run_sign", signing)
    monkeypatch.setattr(sys, "argv", ["mock-amojo", "sign", "POST", "/v2/origin/custom/x/connect", "--body", "{}"])
    assert entry.main() == 0
    assert seen == {"while starting": False, "while running": True} and gc.isenabled()
    assert "X-Signature: " in capsys.readouterr().out


def test_the_banner_says_which_fidelity_stances_are_on() -> None:
    from mock_amojo._cli_serve import banner

    default = banner(Config(), "http://127.0.0.1:8080")
    assert "fidelity        default stances (warn where amoCRM's documents disagree)" in default
    strict = banner(Config(strict=True, stances={"empty_text": "warn"}, error_bodies="bare"), "http://127.0.0.1:8080")
    assert "fidelity        every stance strict except empty_text=warn; bare error bodies" in strict
