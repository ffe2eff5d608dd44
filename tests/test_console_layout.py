"""The console's layout in Debian's chromium at 1024, 1366 and 1920 px, with every kind of thing on screen.

A rich state (every message type, quotes, forwards, edits, buttons, delivery statuses, reactions,
a write-first chat, delivered, failed and skipped webhooks, refused requests, long unbroken text)
must fit the window: no horizontal scroll, every tab label whole, the panels' text not cut, each
status in its colour, and no character the machine's fonts cannot draw (an empty box).
Screenshots go to pytest's temporary directory, for a person to look at when a test fails.
"""

from __future__ import annotations

import functools
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_amojo import Config, create_app
from mock_amojo.serve._server import ServerThread
from mock_amojo.testing._client import AmojoClient

from .conftest import Receiver, free_port
from .test_console_browser import WAIT_MS, browser, expect

__all__ = ["browser"]

WIDTHS = [(1024, 768), (1366, 768), (1920, 1080)]
#: Computed colours of the status pills (console.css: --ok, --bad and their backgrounds).
GREEN, GREEN_BG = "rgb(30, 158, 90)", "rgb(227, 246, 236)"
RED, RED_BG = "rgb(214, 69, 69)", "rgb(253, 232, 232)"
LONG = "https://cdn.example/" + "x" * 180  # an unbroken string must wrap, not widen a column


def _message(msgid: str, conversation: str, name: str, content: dict[str, Any], **extra: Any) -> dict[str, Any]:
    sender = {"id": f"u-{conversation}", "name": name, "profile": {"phone": "+7 916 555-01-02", "email": f"{conversation}@example.com"}}
    return {"timestamp": 1764000000, "msgid": msgid, "conversation_id": conversation, "sender": sender, "message": content, **extra}


CONTENTS: list[dict[str, Any]] = [
    {"type": "text", "text": "Hello! Is the blue lamp in stock?"},
    {"type": "picture", "media": "https://cdn.example/receipt.png", "file_name": "receipt.png", "file_size": 184320, "text": "The receipt"},
    {"type": "file", "media": "https://cdn.example/invoice.pdf", "file_name": "invoice.pdf", "file_size": 52431},
    {
        "type": "video",
        "media": "https://cdn.example/unboxing.mp4",
        "file_name": "unboxing.mp4",
        "file_size": 9_000_000,
        "media_duration": 65,
    },
    {"type": "audio", "media": "https://cdn.example/song.mp3", "file_name": "song.mp3", "file_size": 3_000_000, "media_duration": 200},
    {"type": "voice", "media": "https://cdn.example/voice.ogg", "media_duration": 7},
    {"type": "sticker", "media": "https://cdn.example/sticker.webp", "sticker_id": "st-42"},
    {"type": "location", "location": {"lat": 55.7558, "lon": 37.6173}},
    {"type": "contact", "contact": {"name": "Boris Petrov", "phone": "+79990001122"}},
    {"type": "text", "text": f"A link without spaces: {LONG}"},
]


def _populate(http: httpx.Client, amojo: AmojoClient, receiver: Receiver) -> str:
    """Everything the console can show, in one account; returns the busiest chat's id."""
    scope = amojo.scope_id
    assert scope is not None
    for n, content in enumerate(CONTENTS):
        assert amojo.send_message(_message(f"k-{n}", "conv-kate", "Kate Smirnova-Longsurname-Verylongname", content)).status_code == 200
    first = amojo.send_message(_message("b-1", "conv-boris", "Boris", {"type": "text", "text": "Any discounts?"})).json()
    amojo.send_message(
        _message("b-2", "conv-boris", "Boris", {"type": "text", "text": "Also this"}, reply_to={"message": {"msgid": "b-1"}})
    )
    amojo.send_message(_message("b-3", "conv-boris", "Boris", {"type": "text", "text": "fwd"}, forwards={"messages": [{"msgid": "b-1"}]}))
    amojo.send_message(
        {"msgid": "b-1", "conversation_id": "conv-boris", "message": {"type": "text", "text": "Any discounts today?"}},
        event_type="edit_message",
    )
    amojo.send_message(_message("s-1", "conv-silent", "Quiet One", {"type": "text", "text": "silent"}, silent=True))
    state = http.get("/__mock__/state").json()
    kate = next(c["id"] for c in state["chats"] if c["conversation_id"] == "conv-kate")
    boris_message = first["new_message"]["msgid"]
    reply = http.post(
        "/__mock__/operator/reply",
        json={
            "scope_id": scope,
            "chat_id": kate,
            "message": {
                "type": "text",
                "text": "Yes! Pick one:",
                "markup": {"mode": "inline", "buttons": [[{"text": "Blue", "url": "https://shop.example/blue"}, {"text": "Red"}]]},
            },
        },
    ).json()
    receiver.wait(1)
    amojo.delivery_status(reply["message_id"], 2)
    amojo.react({"conversation_id": "conv-kate", "msgid": "k-0", "user": {"id": "u-conv-kate"}, "type": "react", "emoji": "👍"})
    http.post("/__mock__/operator/react", json={"scope_id": scope, "message_id": boris_message, "emoji": "🔥"})
    # A webhook that fails (nothing listens), one that is skipped (no URL), then back to the receiver.
    channel = f"/__mock__/channels/{amojo.channel_id}"
    http.patch(channel, json={"webhook_url": f"http://127.0.0.1:{free_port()}/amojo/:scope_id"})
    failed = http.post("/__mock__/operator/reply", json={"scope_id": scope, "chat_id": kate, "message": {"type": "text", "text": "Hm?"}})
    http.patch(channel, json={"webhook_url": None})
    http.post("/__mock__/operator/reply", json={"scope_id": scope, "chat_id": kate, "message": {"type": "text", "text": "Unsent"}})
    http.patch(channel, json={"webhook_url": receiver.url})
    amojo.delivery_status(failed.json()["message_id"], -1, error_code=905, error="Recipient blocked the business account")
    http.post(
        "/__mock__/operator/initiate", json={"scope_id": scope, "phone": "+7 916 123-45-67", "message": {"type": "text", "text": "Hi"}}
    )
    amojo.typing("conv-kate", "u-conv-kate")
    # Refusals: a bad signature, a schema violation, an unknown scope.
    amojo.request("POST", scope, raw=b'{"event_type":"new_message","payload":{}}', headers={"X-Signature": "0" * 40})
    amojo.send_message({"timestamp": "yesterday", "msgid": "bad", "conversation_id": LONG, "sender": {"id": "u"}})
    amojo.request(
        "POST", f"{amojo.channel_id}_{'0' * 8}-0000-4000-8000-{'0' * 12}/chats", {"conversation_id": "c", "user": {"id": "u", "name": "U"}}
    )
    return str(kate)


@pytest.fixture(scope="module")
def rich(browser: Any) -> Iterator[tuple[str, str]]:
    receiver = Receiver()
    config = Config(webhook_url=receiver.url, hook_api_version="v2")
    try:
        with ServerThread(create_app(config, webhook_mode="sync")) as server, httpx.Client(base_url=server.url, timeout=10) as http:
            amojo = AmojoClient(http, config.channel_id, config.channel_secret)
            amojo.connect(config.account_id, hook_api_version="v2", title="Lamp shop with a rather long account title")
            kate = _populate(http, amojo, receiver)
            yield server.url, kate
    finally:
        receiver.close()


@pytest.fixture(params=WIDTHS, ids=[f"{w}px" for w, _ in WIDTHS])
def page(request: pytest.FixtureRequest, browser: Any, rich: tuple[str, str], tmp_path: Path) -> Iterator[Any]:
    width, height = request.param
    url, kate = rich
    context = browser.new_context(viewport={"width": width, "height": height})
    opened = context.new_page()
    opened.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.goto(f"{url}/__mock__/ui?chat={kate}")
    expect(opened.locator("#live")).to_have_class(re.compile(r"\bon\b"))
    yield opened
    opened.screenshot(path=str(tmp_path / f"console-{width}.png"), full_page=True)
    context.close()
    assert errors == []


def _overflow(page: Any, selector: str) -> list[str]:
    """Elements matching ``selector`` whose content is wider than they are (cut off, or scrolled sideways)."""
    found: list[str] = page.eval_on_selector_all(
        selector,
        "els => els.filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)"
        ".map(e => `${e.tagName.toLowerCase()}.${e.className}: ${e.scrollWidth} > ${e.clientWidth}: ${e.textContent.trim().slice(0, 60)}`)",
    )
    return found


def test_nothing_scrolls_sideways(page: Any) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth, document.body.scrollWidth]")
    assert widths[0] <= widths[1] and widths[2] <= widths[1], widths
    assert _overflow(page, ".layout, .sidebar, .chat-pane, .panels, .timeline, .chat-head, .composer") == []


def test_every_tab_label_is_whole(page: Any) -> None:
    assert _overflow(page, ".tab") == []
    right = page.evaluate("document.documentElement.clientWidth")
    for box in (page.locator(".tab").nth(n).bounding_box() for n in range(3)):
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= right


@pytest.mark.parametrize("tab", ["journal", "webhooks", "leads"])
def test_no_panel_cuts_its_text(page: Any, tab: str) -> None:
    page.click(f"button.tab[data-tab='{tab}']")
    for entry in page.locator(f"#panel-{tab} details").all():
        entry.evaluate("d => { d.open = true; }")
    panel = f"#panel-{tab}"
    assert _overflow(page, f"{panel}, {panel} .entry, {panel} summary, {panel} p, {panel} table, {panel} dl") == []
    edge = page.evaluate(f"document.querySelector('{panel}').getBoundingClientRect().right")
    sticking_out = page.eval_on_selector_all(
        f"{panel} *", f"els => els.filter(e => e.offsetParent !== null && e.getBoundingClientRect().right > {edge} + 1).length"
    )
    assert sticking_out == 0


def _colours(page: Any, selector: str) -> list[tuple[str, str]]:
    found = page.eval_on_selector_all(selector, "els => els.map(e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor])")
    assert found, f"nothing matches {selector}"
    return [(colour, background) for colour, background in found]


def test_each_status_in_its_colour(page: Any) -> None:
    page.click("button.tab[data-tab='webhooks']")
    assert set(_colours(page, "#panel-webhooks .delivery-failed .code")) == {(RED, RED_BG)}
    assert set(_colours(page, "#panel-webhooks .delivery-delivered .code")) == {(GREEN, GREEN_BG)}
    assert _colours(page, "#panel-webhooks .delivery-skipped .code")[0] not in ((GREEN, GREEN_BG), (RED, RED_BG))
    assert set(_colours(page, "#messages .hook-failed")) == {(RED, RED_BG)}
    assert set(_colours(page, "#messages .hook-delivered")) == {(GREEN, GREEN_BG)}
    page.click("button.tab[data-tab='journal']")
    assert {colour for colour, _ in _colours(page, "#panel-journal .code-4xx")} == {RED}
    assert {colour for colour, _ in _colours(page, "#panel-journal .code-2xx")} == {GREEN}


@functools.cache
def _drawable(char: str) -> bool:
    """Whether an installed font has ``char`` (else chromium draws an empty box)."""
    found = subprocess.run(["fc-list", f":charset={ord(char):x}", "family"], capture_output=True, text=True, check=False)
    return bool(found.stdout.strip())


def test_no_character_is_an_empty_box(page: Any) -> None:
    if subprocess.run(["which", "fc-list"], capture_output=True, check=False).returncode != 0:
        pytest.skip("fontconfig's fc-list is not installed")
    for tab in ("journal", "webhooks", "leads"):
        page.click(f"button.tab[data-tab='{tab}']")
        page.hover("#messages .msg.incoming >> nth=0")  # the reaction picker
        shown = page.evaluate("document.body.innerText")
        boxes = sorted({char for char in shown if ord(char) > 127 and not char.isspace() and not _drawable(char)})
        assert boxes == [], f"{tab}: no installed font draws {[f'U+{ord(c):04X} {c}' for c in boxes]}"
