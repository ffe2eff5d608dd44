"""The line ``mock-amojo serve`` prints per amojo request and per webhook attempt."""

from __future__ import annotations

import io
import json
import signal
from collections.abc import Iterator

import httpx
import pytest

from mock_amojo import Config, ManualClock, create_app
from mock_amojo.config import DEMO_ACCOUNT_ID, DEMO_CHANNEL_ID, DEMO_CHANNEL_SECRET
from mock_amojo.serve._terminal import MAX_LINES, TerminalLog, wants_color
from mock_amojo.testing._client import AmojoClient
from mock_amojo.testing._inprocess import SyncASGITransport

from .conftest import Receiver, free_port, text_payload
from .serve_process import start as _start

GREEN, YELLOW, RED = "\x1b[32m", "\x1b[33m", "\x1b[31m"


class World:
    def __init__(self, webhook_url: str | None) -> None:
        self.app = create_app(Config(webhook_url=webhook_url, hook_api_version="v2"), clock=ManualClock(1_764_000_000), webhook_mode="sync")
        self.http = httpx.Client(transport=SyncASGITransport(self.app), base_url="https://amojo.amocrm.com")
        self.amojo = AmojoClient(self.http, DEMO_CHANNEL_ID, DEMO_CHANNEL_SECRET, now=self.app.state.backend.clock.now)
        self.out = io.StringIO()

    def log(self, **options: bool) -> TerminalLog:
        log = TerminalLog(self.out, self.app.state.backend, color=options.get("color", False), json=options.get("json", False))
        self.app.state.webhooks.add_listener(log.hook)
        return log

    def reply(self) -> None:
        body = {"scope_id": self.amojo.scope_id, "conversation_id": "conv-1", "message": {"type": "text", "text": "hi"}}
        assert self.http.post("/__mock__/operator/reply", json=body).status_code == 201


@pytest.fixture
def world(receiver: Receiver) -> Iterator[World]:
    built = World(receiver.url)
    yield built
    built.http.close()


def test_a_line_per_request_and_per_webhook_with_status_verdict_and_time(world: World) -> None:
    log = world.log()
    assert world.amojo.connect(DEMO_ACCOUNT_ID).status_code == 200
    assert world.amojo.send_message(text_payload("m-1")).status_code == 200
    world.amojo.secret = "0" * 40
    assert world.amojo.send_message(text_payload("m-2")).status_code == 403
    world.reply()
    log.flush()
    lines = world.out.getvalue().splitlines()
    assert len(lines) == 4, lines
    assert "  amojo  POST /v2/origin/custom/f90ba33d…/connect  200 connect  " in lines[0]
    assert "  amojo  POST /v2/origin/custom/f90ba33d…_af9945ff…  200 send_message  " in lines[1]
    assert lines[2].split("  amojo  ")[1].startswith("POST /v2/origin/custom/f90ba33d…_af9945ff…  403 SIGNATURE_MISMATCH  ")
    assert "  hook   message → http://127.0.0.1:" in lines[3] and "/amojo/f90ba33d…_af9945ff…  200 delivered  " in lines[3]
    assert all(line.endswith(" ms") for line in lines)
    log.flush()
    assert len(world.out.getvalue().splitlines()) == 4  # a line once


def test_a_failed_webhook_says_why(receiver: Receiver) -> None:
    world = World(f"http://127.0.0.1:{free_port()}/amojo/:scope_id")
    try:
        log = world.log()
        world.amojo.connect(DEMO_ACCOUNT_ID)
        world.amojo.send_message(text_payload("m-1"))
        world.reply()
        log.flush()
        hook = world.out.getvalue().splitlines()[-1]
        assert "  hook   message → " in hook and "failed ConnectError" in hook, hook
    finally:
        world.http.close()


def test_colour_by_status(world: World) -> None:
    log = world.log(color=True)
    world.amojo.connect(DEMO_ACCOUNT_ID)
    world.amojo.send_message(text_payload("m-1"))
    world.reply()
    world.amojo.secret = "0" * 40
    world.amojo.send_message(text_payload("m-2"))
    world.http.patch(f"/__mock__/channels/{DEMO_CHANNEL_ID}", json={"webhook_url": f"http://127.0.0.1:{free_port()}/h"})
    world.reply()
    log.flush()
    connect, _, delivered, refused, failed = world.out.getvalue().splitlines()
    assert f"{GREEN}200 connect\x1b[0m" in connect and f"{GREEN}200 delivered\x1b[0m" in delivered
    assert f"{YELLOW}403 SIGNATURE_MISMATCH\x1b[0m" in refused
    assert f"{RED}failed ConnectError" in failed


def test_json_lines_for_ci(world: World) -> None:
    log = world.log(json=True)
    world.amojo.connect(DEMO_ACCOUNT_ID)
    world.amojo.send_message(text_payload("m-1"))
    world.reply()
    world.amojo.secret = "0" * 40
    world.amojo.send_message(text_payload("m-2"))
    log.flush()
    connect, _, hook, refused = (json.loads(line) for line in world.out.getvalue().splitlines())
    assert {k: connect[k] for k in ("kind", "method", "status", "endpoint")} == {
        "kind": "amojo",
        "method": "POST",
        "status": 200,
        "endpoint": "connect",
    }
    assert (refused["status"], refused["error_type"]) == (403, "SIGNATURE_MISMATCH")
    assert (hook["kind"], hook["hook"], hook["outcome"], hook["status"]) == ("webhook", "message", "delivered", 200)
    assert all(isinstance(record["ms"], float) for record in (connect, refused, hook))


def test_never_the_secret(world: World) -> None:
    log = world.log(json=True)
    world.amojo.connect(DEMO_ACCOUNT_ID)
    # A client that puts the secret in the URL, and a receiver URL that carries it.
    world.http.post(f"/v2/origin/custom/{DEMO_CHANNEL_SECRET}/connect", content=b"{}")
    world.amojo.request("POST", f"{world.amojo.scope_id}/chats", {"conversation_id": DEMO_CHANNEL_SECRET, "user": {"id": "u", "name": "U"}})
    world.http.patch(f"/__mock__/channels/{DEMO_CHANNEL_ID}", json={"webhook_url": f"http://127.0.0.1:{free_port()}/{DEMO_CHANNEL_SECRET}"})
    world.amojo.send_message(text_payload("m-1"))
    world.reply()
    log.flush()
    printed = world.out.getvalue()
    assert len(printed.splitlines()) == 5, printed
    assert DEMO_CHANNEL_SECRET not in printed.lower()
    assert "redacted" in printed


def test_a_flood_prints_a_count_past_the_first_lines_but_every_refusal(world: World) -> None:
    log = world.log()
    world.amojo.connect(DEMO_ACCOUNT_ID)
    for n in range(MAX_LINES + 20):
        world.amojo.send_message(text_payload(f"m-{n}"))
    world.amojo.secret = "0" * 40
    world.amojo.send_message(text_payload("refused"))
    log.flush()
    lines = world.out.getvalue().splitlines()
    assert len(lines) == MAX_LINES + 2
    assert "403 SIGNATURE_MISMATCH" in lines[-2]
    assert "… 21 more accepted amojo requests" in lines[-1]


def test_colour_only_on_a_terminal_and_never_with_no_color() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert wants_color(Terminal(), {}) is True
    assert wants_color(Terminal(), {"NO_COLOR": "1"}) is False
    assert wants_color(io.StringIO(), {}) is False


def _served_output(*flags: str) -> str:
    server = _start("--log-level", "warning", *flags)
    try:
        with httpx.Client(base_url=server.base_url) as http:
            AmojoClient(http, DEMO_CHANNEL_ID, DEMO_CHANNEL_SECRET).connect(DEMO_ACCOUNT_ID)
            http.post(f"/v2/origin/custom/{DEMO_CHANNEL_ID}/connect", content=b"{}")
    finally:
        server.process.send_signal(signal.SIGTERM)
        rest, _ = server.process.communicate(timeout=10)
    return rest


def test_serve_prints_a_line_per_request() -> None:
    lines = [json.loads(line) for line in _served_output("--log-format", "json").splitlines() if line.startswith("{")]
    assert [(line["status"], line.get("error_type")) for line in lines] == [(200, None), (403, "MISSING_SIGNATURE")]


def test_serve_quiet_prints_none() -> None:
    assert "  amojo  " not in _served_output("--quiet")


def test_an_unknown_log_format_is_a_one_line_error() -> None:
    from .serve_process import run

    result = run("serve", "--log-format", "xml")
    assert result.returncode == 2
    assert result.stderr.strip() == "mock-amojo: error: log_format: text or json, got 'xml'"
