"""The operator console in a real browser (Debian's chromium via Playwright) against a real server.

Skipped with a reason when chromium or Playwright is missing — unless
``MOCK_AMOJO_REQUIRE_BROWSER=1`` (CI sets it), then a missing browser fails the run.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from mock_amojo import Config, create_app, verify_webhook
from mock_amojo.serve._server import ServerThread
from mock_amojo.testing._client import AmojoClient

from .conftest import Receiver, free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 5000


def browser_missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found (apt-get install chromium); set MOCK_AMOJO_REQUIRE_BROWSER=1 to make this a failure"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = browser_missing()
    if reason is not None:
        if os.environ.get("MOCK_AMOJO_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests required (MOCK_AMOJO_REQUIRE_BROWSER=1) but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Served:
    """A real mock-amojo on 127.0.0.1 whose channel posts webhooks to ``receiver``."""

    server: ServerThread
    config: Config
    amojo: AmojoClient
    receiver: Receiver

    @property
    def console(self) -> str:
        return f"{self.server.url}/__mock__/ui"

    def incoming(self, msgid: str, text: str, *, conversation_id: str = "conv-1", name: str = "Ann Client") -> str:
        payload = {
            "timestamp": 1764000000,
            "msgid": msgid,
            "conversation_id": conversation_id,
            "sender": {"id": f"user-{conversation_id}", "name": name, "profile": {"phone": "+7 916 000-11-22"}},
            "message": {"type": "text", "text": text},
        }
        response = self.amojo.send_message(payload)
        assert response.status_code == 200, response.text
        amojo_id: str = response.json()["new_message"]["msgid"]
        return amojo_id


@pytest.fixture
def served(receiver: Receiver) -> Iterator[Served]:
    config = Config(webhook_url=receiver.url, hook_api_version="v2")
    with ServerThread(create_app(config)) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        amojo = AmojoClient(http, config.channel_id, config.channel_secret)
        assert amojo.connect(config.account_id, hook_api_version="v2", title="My shop").status_code == 200
        yield Served(server, config, amojo, receiver)


@pytest.fixture
def page(browser: Any, served: Served) -> Iterator[Any]:
    """A fresh page, closed before the server stops; fails the test on any script error or alert (an XSS would raise one)."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(WAIT_MS)
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    def on_dialog(dialog: Any) -> None:
        problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    opened.on("dialog", on_dialog)
    yield opened
    seen = list(problems)
    context.close()  # closes the event stream before the server stops
    assert seen == []


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def test_manager_sees_replies_and_follows_delivery(page: Any, served: Served) -> None:
    page.goto(served.server.url + "/")  # a browser on / lands on the console
    assert page.url == served.console

    # The integration sends a message: it appears without a reload, unread.
    expect(page.locator("#live")).to_have_text("live")
    served.incoming("m-1", "Do you deliver on Sundays?")
    chat = page.locator(".chat-item", has_text="Ann Client")
    expect(chat.locator(".badge.unread")).to_have_text("1")
    chat.locator("a").click()
    expect(page.locator("#messages .msg.incoming .text")).to_have_text("Do you deliver on Sundays?")
    expect(page.locator(".chat-item.selected .badge.unread")).to_have_count(0)

    # The manager replies; amojo's signed hook reaches the integration.
    page.fill("#composer-text", "Yes, 10:00–18:00.")
    page.press("#composer-text", "Enter")
    reply = page.locator("#messages .msg.outgoing").last
    expect(reply.locator(".text")).to_have_text("Yes, 10:00–18:00.")
    expect(reply.locator(".delivery")).to_have_text(re.compile("sent"))
    hooks = served.receiver.wait(2)  # the typing hook (from typing in the box), then the message
    message_hook = next(h for h in hooks if b'"message"' in h.body and b"Yes, 10:00" in h.body)
    assert verify_webhook(served.config.channel_secret, message_hook.body, message_hook.headers["x-signature"])
    sent = orjson.loads(message_hook.body)["message"]
    assert sent["message"]["text"] == "Yes, 10:00–18:00."
    assert any(b'"typing"' in h.body for h in hooks)
    expect(reply.locator(".hook")).to_have_text(re.compile("webhook delivered 200"))

    # The integration reports delivery, then an error: the status follows live.
    amojo_id = sent["message"]["id"]
    assert served.amojo.delivery_status(amojo_id, 2).status_code == 200
    expect(reply.locator(".delivery")).to_have_text(re.compile("read"))
    assert served.amojo.delivery_status(amojo_id, -1, error_code=905, error="Blocked by the user").status_code == 200
    expect(reply.locator(".delivery")).to_have_text(re.compile("error 905: Blocked by the user"))

    # A reaction from the manager is a signed reaction hook too.
    first = page.locator("#messages .msg.incoming").first
    before = len(served.receiver.hooks)
    first.hover()
    first.locator("button.react[data-emoji='👍']").click()
    expect(first.locator(".reaction .emoji")).to_have_text("👍")
    expect(first.locator(".reaction")).to_contain_text("thumbs up sign")  # its name, for a browser without an emoji font
    reaction = served.receiver.wait(before + 1)[-1]
    assert b'"reaction"' in reaction.body
    assert verify_webhook(served.config.channel_secret, reaction.body, reaction.headers["x-signature"])

    # Every hook is in the webhooks panel with its outcome.
    page.click("button.tab[data-tab='webhooks']")
    deliveries = page.locator("#panel-webhooks .delivery")
    expect(deliveries.filter(has=page.locator("summary", has_text="reaction"))).to_have_count(1)
    message_row = deliveries.filter(has=page.locator("summary", has_text="message")).first
    expect(message_row.locator(".code")).to_have_text("delivered 200")
    message_row.locator("summary").click()
    expect(message_row.locator("pre.body").first).to_contain_text("Yes, 10:00–18:00.")
    expect(message_row.locator("table.headers")).to_contain_text(message_hook.headers["x-signature"])

    # The first message made an incoming lead.
    page.click("button.tab[data-tab='leads']")
    expect(page.locator("#panel-leads tr[data-lead-id]")).to_have_count(1)
    expect(page.locator("#panel-leads")).to_contain_text("Do you deliver on Sundays?")


def test_refused_request_shows_why(page: Any, served: Served) -> None:
    page.goto(served.console)
    expect(page.locator("#live")).to_have_text("live")
    path = f"/v2/origin/custom/{served.amojo.scope_id}"
    body = b'{"event_type":"new_message","payload":{}}'
    bad = served.amojo.request("POST", path, raw=body, headers={"X-Signature": "0" * 40})
    assert bad.status_code == 403
    refused = page.locator("#panel-journal .entry.refused").first
    expect(refused.locator(".error-type")).to_have_text("SIGNATURE_MISMATCH")
    canonical = refused.locator("table.canonical")
    expect(canonical.locator("tr").first).to_contain_text("POST")
    expect(canonical).to_contain_text(path)
    expect(refused.locator(".verdict")).to_contain_text("0" * 40)

    invalid = served.amojo.send_message(
        {"timestamp": "yesterday", "msgid": "m-9", "conversation_id": "c", "sender": {"id": "u", "name": "U"}}
    )
    assert invalid.status_code == 400
    schema_error = page.locator("#panel-journal .entry.refused").first
    expect(schema_error.locator(".error-type")).to_have_text("SCHEMA_VIOLATION")
    expect(schema_error.locator(".pointer")).to_have_text(re.compile("^/payload/"))
    assert served.config.channel_secret not in page.content()


def test_user_text_is_shown_as_text(page: Any, served: Served) -> None:
    script = "<script>alert(1)</script>"
    served.incoming("x-1", script, conversation_id="xss", name='<img src=x onerror="alert(2)">')
    page.goto(served.console)
    item = page.locator(".chat-item").first
    expect(item.locator(".who")).to_have_text('<img src=x onerror="alert(2)">')
    item.locator("a").click()
    expect(page.locator("#messages .text").first).to_have_text(script)
    assert page.locator("#messages img").count() == 0
    assert page.locator("#messages script").count() == 0


def test_manager_starts_a_conversation_from_a_phone_number(page: Any, served: Served) -> None:
    page.goto(served.console)
    page.click(".initiate summary")
    page.fill("#initiate-form input[name=phone]", "+7 916 123-45-67")
    page.fill("#initiate-form input[name=name]", "Boris")
    page.fill("#initiate-form textarea[name=text]", "Your order is ready")
    page.click("#initiate-form button[type=submit]")
    expect(page.locator(".chat-head h1")).to_have_text("Boris")
    expect(page.locator("#messages .msg.outgoing .text")).to_have_text("Your order is ready")
    hook = served.receiver.wait(1)[0]
    payload = orjson.loads(hook.body)["message"]
    assert payload["receiver"]["phone"] == "79161234567"
    assert "client_id" not in payload["conversation"]  # a write-first chat has no integration id yet
    assert verify_webhook(served.config.channel_secret, hook.body, hook.headers["x-signature"])


def test_a_refused_action_says_why_in_the_page(page: Any, served: Served) -> None:
    served.incoming("m-1", "hello")
    page.goto(served.console)
    page.locator(".chat-item a").first.click()
    page.select_option("#composer-type", "picture")
    page.fill("#composer-text", "no media given")
    page.click("#send")
    expect(page.locator("#composer-status")).to_have_class(re.compile("failed"))
    expect(page.locator("#composer-status")).to_contain_text("media")


def test_short_streams_reconnect_quietly_and_keep_updating(page: Any, served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mock_amojo.http._console.STREAM_SECONDS", 0.2)
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url) if "/fragments/" in request.url else None)
    page.goto(served.console)
    expect(page.locator("#live")).to_have_text("live")
    page.wait_for_timeout(1200)  # several reconnects, nothing changed
    assert fetched == []
    served.incoming("m-1", "still live after reconnects")
    expect(page.locator(".chat-item .preview")).to_have_text("still live after reconnects")


def test_reply_as_another_manager_of_the_account(page: Any, served: Served) -> None:
    account = served.config.account_id
    created = httpx.post(f"{served.server.url}/__mock__/accounts", json={"amojo_id": account, "users": [{"name": "Kate Manager"}]})
    kate = next(u["id"] for u in created.json()["users"] if u["name"] == "Kate Manager")
    served.incoming("m-1", "hello")
    page.goto(served.console)
    page.locator(".chat-item a").first.click()
    page.select_option("#composer-user", label="Kate Manager")
    page.fill("#composer-text", "Kate here")
    page.click("#send")
    expect(page.locator("#messages .msg.outgoing .sender")).to_have_text("Kate Manager")
    hook = next(h for h in served.receiver.wait(2) if b"Kate here" in h.body)
    assert orjson.loads(hook.body)["message"]["sender"]["id"] == kate


def test_the_status_line_follows_a_pending_webhook_to_its_outcome(page: Any, served: Served) -> None:
    # Hooks go out in the background: the reply's answer says "pending"; the line used to stay so.
    served.incoming("m-1", "hello")
    page.goto(served.console)
    page.locator(".chat-item a").first.click()
    expect(page.locator("#live")).to_have_text("live")
    served.receiver.gate = threading.Event()  # the receiver answers only when let go: the answer comes first
    page.fill("#composer-text", "On its way")
    page.click("#send")
    expect(page.locator("#composer-status")).to_have_text(re.compile("webhook pending"))
    served.receiver.gate.set()
    expect(page.locator("#composer-status")).to_have_text("sent · webhook delivered 200")
    expect(page.locator("#messages .msg.outgoing .hook")).to_have_text(re.compile("webhook delivered 200"))


def test_the_manager_changes_the_channel_from_the_console(page: Any, served: Served) -> None:
    served.incoming("m-1", "hello")
    page.goto(served.console)
    page.click(".channel-settings summary")
    form = page.locator("#channel-form")
    expect(form.locator("input[name=webhook_url]")).to_have_value(served.receiver.url)
    form.locator("input[name=webhook_url]").fill("ftp://127.0.0.1/hooks")
    form.locator("button[type=submit]").click()
    expect(form.locator("output")).to_have_class(re.compile("failed"))
    expect(form.locator("output")).to_contain_text("webhook_url")
    down = f"http://127.0.0.1:{free_port()}/amojo/:scope_id"
    form.locator("input[name=webhook_url]").fill(down)
    form.locator("input[name=write_first]").uncheck()
    form.locator("button[type=submit]").click()
    expect(form.locator("output")).to_have_text(f"saved: webhooks go to {down}")
    channel = httpx.get(f"{served.server.url}/__mock__/channels/{served.config.channel_id}").json()
    assert (channel["webhook_url"], channel["write_first"], channel["hook_api_version"]) == (down, False, "v2")


def test_the_install_button_performs_amocrms_redirect_with_a_code_that_works(page: Any, served: Served) -> None:
    http = served.amojo.http
    registered = http.post("/__mock__/integrations", json={"redirect_uri": f"{served.receiver.url}/oauth", "name": "Shop <app>"})
    app = registered.json()
    page.goto(served.console)
    page.click("#integrations summary")
    expect(page.locator("#integrations li")).to_contain_text("Shop <app>")
    page.click(f"#integrations li[data-client-id='{app['client_id']}'] button.install")
    status = page.locator("#install-status")
    expect(status).to_contain_text("your server answered")
    shown = status.text_content()
    assert app["client_secret"] not in page.content()
    url = re.search(r"redirect: (\S+)", shown or "")
    assert url is not None and url.group(1).startswith(f"{served.receiver.url}/oauth?code=")
    code = httpx.URL(url.group(1)).params["code"]
    token = http.post(
        "/oauth2/access_token",
        json={"client_id": app["client_id"], "client_secret": app["client_secret"], "grant_type": "authorization_code", "code": code},
    )
    assert token.status_code == 200, token.text
