"""The guard in a real browser: the console with a control token (asked once, then everything works), and
the attacks of issue #19 as Chromium itself makes them (another origin's page; a rebound host name).

Without a token the console is exercised by ``test_console_browser.py`` (through the same guard).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from mock_amojo import Config, create_app, verify_webhook
from mock_amojo.serve._server import ServerThread
from mock_amojo.testing._client import AmojoClient

from .conftest import Receiver
from .test_console_browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS, expect
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
        expect(page.locator("#live")).to_have_class(re.compile(r"\bon\b"))  # the event stream is served: the session cookie rides along
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


ATTACK = """<!doctype html><title>cat pictures</title><script>
(async () => {
  const fake = "%s";
  const simple = {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}};
  await fetch(fake + "/__mock__/reset", {...simple, body: "{}"}).catch(() => null);
  const channel = {name: "evil", secret: "%s", webhook_url: "http://127.0.0.1:9/hooks/:scope_id"};
  await fetch(fake + "/__mock__/channels", {...simple, body: JSON.stringify(channel)}).catch(() => null);
  await fetch(fake + "/__mock__/reset", {method: "POST", mode: "no-cors"}).catch(() => null);
  document.title = "done";
})();
</script>"""


@pytest.fixture
def plain() -> Iterator[tuple[ServerThread, httpx.Client]]:
    with ServerThread(create_app(Config(demo=False))) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        assert http.post("/__mock__/channels", json={"name": "mine"}).status_code == 201
        yield server, http


@pytest.fixture
def attack_page(plain: Any) -> Iterator[str]:
    """Another web server on this machine serving a page that attacks the fake (Chromium lets only local pages reach loopback)."""
    server, _ = plain
    page = (ATTACK % (server.url, "a" * 40)).encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    # localhost, not 127.0.0.1: another site for the browser, as a page of the wider web is.
    yield f"http://localhost:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join(10)


def test_a_page_of_another_origin_cannot_reset_or_register(browser: Any, plain: Any, attack_page: str) -> None:
    _, http = plain
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    answers: list[int] = []
    page.on("response", lambda response: answers.append(response.status) if "/__mock__/" in response.url else None)
    try:
        page.goto(attack_page)
        expect(page).to_have_title("done")
    finally:
        context.close()
    # The requests reached the fake (Chromium saw its answers; the page could not) and were refused.
    assert answers == [403, 403, 403]
    assert [c["name"] for c in http.get("/__mock__/channels").json()["channels"]] == ["mine"]


def test_a_rebound_host_name_gets_nothing_in_a_real_browser(browser: Any, plain: Any) -> None:
    server, _ = plain
    # evil.example resolves to 127.0.0.1 in this browser: what a DNS-rebinding attacker arranges with a short TTL.
    rebound = browser.browser_type.launch(
        executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP evil.example 127.0.0.1"]
    )
    try:
        page = rebound.new_page()
        for path in ("/__mock__/state", "/__mock__/ui"):
            answer = page.goto(f"http://evil.example:{server.port}{path}")
            assert answer is not None and answer.status == 403
            assert "HOST_NOT_ALLOWED" in page.content()
        local = page.goto(f"http://localhost:{server.port}/__mock__/state")
        assert local is not None and local.status == 200
    finally:
        rebound.close()
