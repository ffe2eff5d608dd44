"""``mock-amojo``'s refusals: one line, exit status 2, and what to type instead."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from mock_amojo._cli_parser import COMMANDS, command_parser
from mock_amojo.cli import main
from mock_amojo.config import CHANNEL_ID, CHANNEL_SECRET, DEMO_CHANNEL_SECRET
from mock_amojo.wire._signing import verify_request

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


def _refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The one line ``mock-amojo argv`` prints before exiting with 2 (argparse exits, our checks return)."""
    try:
        code = main(list(argv))
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    error = capsys.readouterr().err
    assert code == 2, error
    assert len(error.strip().splitlines()) == 1, error
    return error.strip()


@pytest.mark.parametrize(
    ("argv", "suggestion"),
    [
        (["serve", "--prot", "9000"], "did you mean --port?"),
        (["serve", "--webhok-url=http://127.0.0.1:9/h"], "did you mean --webhook-url?"),
        (["serve", "--no-dmeo"], "did you mean --no-demo?"),
        (["serv"], "did you mean serve?"),
        (["sign", "POST", "/x", "--bdy", "{}"], "did you mean --body?"),
        (["check-receiver", "http://127.0.0.1:9/", "--secert", "s"], "did you mean --secret?"),
        (["channel", "set", "--webhok-url", "none"], "did you mean --webhook-url?"),
    ],
)
def test_a_misspelled_flag_or_command_gets_a_suggestion(capsys: pytest.CaptureFixture[str], argv: list[str], suggestion: str) -> None:
    assert suggestion in _refused(capsys, *argv)


def test_a_flag_like_no_other_gets_no_guess(capsys: pytest.CaptureFixture[str]) -> None:
    assert "did you mean" not in _refused(capsys, "serve", "--zzzzzz")


def test_serve_help_shows_each_default_and_its_variable(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    for default in ("(default: 8080; MOCK_AMOJO_PORT)", "(default: 127.0.0.1; MOCK_AMOJO_HOST)", "(default: on; MOCK_AMOJO_DEMO)"):
        assert default in shown
    assert "(default: text; MOCK_AMOJO_LOG_FORMAT)" in shown


@pytest.mark.parametrize("channel_id", ["not-a-uuid", "f90ba33d-c9d9-44da-b76c", "f90ba33d_c9d9_44da_b76c_c349b0ecbe41"])
def test_a_channel_id_that_is_not_a_uuid_is_refused(capsys: pytest.CaptureFixture[str], channel_id: str) -> None:
    assert _refused(capsys, "serve", "--channel-id", channel_id) == (
        f"mock-amojo: error: channel_id: must be a UUID (8-4-4-4-12 hex digits), as amoCRM issues channel ids; got {channel_id!r}"
    )


def test_the_id_and_secret_rules_are_the_control_planes() -> None:
    # One rule: a start-up channel and one registered with POST /__mock__/channels take the same ids and secrets.
    definitions = json.loads((SCHEMAS / "definitions.json").read_text())["$defs"]
    channel = json.loads((SCHEMAS / "control_channel.request.json").read_text())["properties"]
    assert CHANNEL_ID.pattern == channel["id"]["pattern"]
    assert CHANNEL_SECRET.pattern == definitions["channel_secret"]["pattern"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sign", "PSOT", "/x"], "method: 'PSOT' is not the method of any amojo endpoint (DELETE, GET, POST); did you mean POST?"),
        (["sign", "PUT", "/x"], "method: 'PUT' is not the method of any amojo endpoint (DELETE, GET, POST)"),
        (["sign", "POST", "/x", "--secret", "short"], "--secret: must be 40 lowercase hex characters"),
        (["sign", "POST", "/x", "--secret", DEMO_CHANNEL_SECRET.upper()], "--secret: must be 40 lowercase hex characters"),
        (["sign", "POST", "/x", "--body", "{bad"], "--body: not valid JSON"),
        (["sign", "POST", "/x", "--body", "{'single': 'quotes'}"], "--body: not valid JSON"),
    ],
)
def test_sign_refuses_what_no_amojo_request_could_be(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert _refused(capsys, *argv).startswith(f"mock-amojo: error: {message}")


def test_sign_signs_a_lowercase_method_as_sent_and_a_non_json_body_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sign", "post", "/v2/origin/custom/x/chats", "--body", "{}"]) == 0
    headers = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    verdict = verify_request(DEMO_CHANNEL_SECRET, "POST", "/v2/origin/custom/x/chats", b"{}", headers, now=time.time())
    assert verdict.ok
    assert main(["sign", "POST", "/x", "--body", "{bad", "--not-json"]) == 0
    assert "X-Signature: " in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["serve", "--help"],
        ["sign", "--help"],
        ["check-receiver", "--help"],
        ["channel", "--help"],
        ["channel", "set", "--help"],
    ],
)
def test_help_reads_as_if_every_command_were_built(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    # A command line builds only the commands it names: its help must be the whole command line's.
    with pytest.raises(SystemExit):
        command_parser(None).parse_args(argv)
    whole = capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(argv)
    assert capsys.readouterr().out == whole
    if argv == ["--help"]:
        assert all(f"    {name} " in whole for name, *_ in COMMANDS)


def test_a_misspelled_command_is_told_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert _refused(capsys, "serv") == (
        "mock-amojo: error: argument command: invalid choice: 'serv' (choose from 'serve', 'sign', 'check-receiver', 'channel'); "
        "did you mean serve? (see mock-amojo --help)"
    )
