"""The console in a real browser when the fake runs with a control token: asked once, then everything works.

Without a token the console is exercised by ``test_console_browser.py`` (through the same guard).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mock_amojo import Config, create_app, verify_webhook
from mock_amojo.serve._server import ServerThread
from mock_amojo.testing._client import AmojoClient

from .conftest import Receiver
from .test_console_browser import WAIT_MS, expect
from .test_console_browser import browser as browser  # the module's fixture, shared

TOKEN = "console-token-for-the-browser-test"


@pytest.fixture
def locked(receiver: Receiver) -> Iterator[tuple[ServerThread, AmojoClient, Config]]:
    config = Config(webhook_url=receiver.url, hook_api_version="v2", control_token=TOKEN)
    with ServerThread(create_app(config)) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        amojo = AmojoClient(http, config.channel_id, config.channel_secret)
        assert amojo.connect(config.account_id, hook_api_version="v2", title="My shop").status_code == 200
        yield server, amojo, config


def test_console_asks_for_the_token_once_then_works_live(browser: Any, locked: Any, receiver: Receiver) -> None:
    server, amojo, config = locked
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        answer = page.goto(f"{server.url}/__mock__/ui")
        assert answer is not None and answer.status == 401
        page.fill("#token", "not-the-right-token")
        page.click("button[type=submit]")
        expect(page.locator("[role=status]")).to_have_text(re.compile("not this fake's token"))
        page.fill("#token", TOKEN)
        page.click("button[type=submit]")
        expect(page.locator("#live")).to_have_text("● live")  # the event stream is served: the session cookie rides along
        assert TOKEN not in page.url

        payload = {"timestamp": 1764000000, "msgid": "m-1", "conversation_id": "conv-1", "sender": {"id": "u-1", "name": "Ann Client"}}
        assert amojo.send_message({**payload, "message": {"type": "text", "text": "Hello?"}}).status_code == 200
        page.locator(".chat-item", has_text="Ann Client").locator("a").click()
        page.fill("#composer-text", "Hello from the manager")
        page.press("#composer-text", "Enter")
        reply = page.locator("#messages .msg.outgoing").last
        expect(reply.locator(".hook")).to_have_text(re.compile("webhook delivered 200"))
        hooks = receiver.wait(2)  # the typing hook, then the message
        hook = next(h for h in hooks if b"Hello from the manager" in h.body)
        assert verify_webhook(config.channel_secret, hook.body, hook.headers["x-signature"])

        # A new tab of the same browser session needs no token again.
        again = context.new_page()
        reopened = again.goto(f"{server.url}/__mock__/ui")
        assert reopened is not None and reopened.status == 200
        again.close()
    finally:
        context.close()
    assert errors == []

    # Another browser (no session) is asked again.
    stranger = browser.new_context()
    try:
        answer = stranger.new_page().goto(f"{server.url}/__mock__/ui")
        assert answer is not None and answer.status == 401
    finally:
        stranger.close()
