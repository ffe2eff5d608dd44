"""Take docs/console.png: a real server with a few chats, the console in Debian's chromium.

Run from the repository root: ``python docs/screenshot.py`` (needs /usr/bin/chromium and the
``playwright`` package from the test extras).
"""

from __future__ import annotations

import socket
import struct
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from mock_amojo import Config, create_app
from mock_amojo.serve._server import ServerThread
from mock_amojo.testing._client import AmojoClient


def _png(width: int, height: int) -> bytes:
    """A small gradient PNG (stdlib only), standing in for a client's photo."""
    rows = b"".join(b"\x00" + bytes(v for x in range(width) for v in (40 + x * 150 // width, 120 + y * 100 // height, 200)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


class _Ok(BaseHTTPRequestHandler):
    """The integration's side: accepts every webhook, and serves the client's photo."""

    def do_GET(self) -> None:
        body = _png(240, 150)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def message(msgid: str, conversation: str, user: str, name: str, content: dict[str, Any], ts: int) -> dict[str, Any]:
    return {
        "timestamp": ts,
        "msgid": msgid,
        "conversation_id": conversation,
        "sender": {"id": user, "name": name, "profile": {"phone": "+7 916 555-01-02"}},
        "message": content,
    }


def populate(amojo: AmojoClient, http: httpx.Client, scope: str, media: str) -> None:
    ts = 1764000000
    amojo.send_message(message("b-1", "conv-boris", "u-boris", "Boris Petrov", {"type": "text", "text": "Is the blue one in stock?"}, ts))
    amojo.send_message(message("k-1", "conv-kate", "u-kate", "Kate Smirnova", {"type": "text", "text": "Hi! I ordered a lamp yesterday."}, ts))
    amojo.send_message(
        message(
            "k-2",
            "conv-kate",
            "u-kate",
            "Kate Smirnova",
            {"type": "picture", "media": f"{media}/receipt.png", "file_name": "receipt.png", "file_size": 184320, "text": "Here is the receipt"},
            ts + 20,
        )
    )
    chat = http.get("/__mock__/state").json()["chats"]
    kate = next(c["id"] for c in chat if c["conversation_id"] == "conv-kate")
    reply = http.post(
        "/__mock__/operator/reply",
        json={"scope_id": scope, "chat_id": kate, "message": {"type": "text", "text": "Thanks, Kate! It ships today."}},
    ).json()
    amojo.delivery_status(reply["message_id"], 2)
    amojo.send_message(
        message("k-3", "conv-kate", "u-kate", "Kate Smirnova", {"type": "location", "location": {"lat": 55.7558, "lon": 37.6173}}, ts + 60)
    )
    amojo.send_message(
        message("k-4", "conv-kate", "u-kate", "Kate Smirnova", {"type": "file", "media": "https://cdn.example/invoice.pdf", "file_name": "invoice.pdf", "file_size": 52431}, ts + 61)
    )
    k4 = next(m["id"] for m in http.get("/__mock__/state").json()["messages"] if m["msgid"] == "k-4")
    http.post("/__mock__/operator/react", json={"scope_id": scope, "message_id": k4, "emoji": "👍"})
    failed = http.post(
        "/__mock__/operator/reply",
        json={"scope_id": scope, "chat_id": kate, "message": {"type": "text", "text": "Shall we deliver to the pinned address?"}},
    ).json()
    amojo.delivery_status(failed["message_id"], -1, error_code=905, error="Recipient blocked the business account")
    amojo.react({"conversation_id": "conv-kate", "msgid": "k-3", "user": {"id": "u-kate"}, "type": "react", "emoji": "❤️"})
    # The integration's receiver is down for a moment: a failed webhook, in red.
    channel = f"/__mock__/channels/{amojo.channel_id}"
    webhook_url = http.get(channel).json()["webhook_url"]
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{spare.getsockname()[1]}/amojo/:scope_id"
    http.patch(channel, json={"webhook_url": down})
    http.post("/__mock__/operator/reply", json={"scope_id": scope, "chat_id": kate, "message": {"type": "text", "text": "Are you there?"}})
    http.patch(channel, json={"webhook_url": webhook_url})
    amojo.typing("conv-kate", "u-kate")
    # A client with a broken signature: the journal explains it.
    amojo.request("POST", scope, raw=b'{"event_type":"new_message","payload":{}}', headers={"X-Signature": "3fa5856b066091e4112361eb781a044085cebba5"})


def main(out: str = "docs/console.png") -> None:
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    config = Config(webhook_url=f"http://127.0.0.1:{receiver.server_address[1]}/amojo/:scope_id", hook_api_version="v2")
    from playwright.sync_api import sync_playwright

    # Sync webhooks: every outcome is known before the picture is taken.
    with ServerThread(create_app(config, webhook_mode="sync")) as server, httpx.Client(base_url=server.url) as http:
        amojo = AmojoClient(http, config.channel_id, config.channel_secret)
        amojo.connect(config.account_id, hook_api_version="v2", title="Lamp shop")
        assert amojo.scope_id is not None
        populate(amojo, http, amojo.scope_id, f"http://127.0.0.1:{receiver.server_address[1]}")
        kate = next(c["id"] for c in http.get("/__mock__/state").json()["chats"] if c["conversation_id"] == "conv-kate")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1440, "height": 860})
            page.goto(f"{server.url}/__mock__/ui?chat={kate}")
            page.wait_for_selector("#live.on")
            page.click("button.tab[data-tab='webhooks']")
            page.wait_for_function("[...document.images].every(i => i.complete)")
            page.eval_on_selector(".timeline", "t => { t.scrollTop = t.scrollHeight; }")
            page.screenshot(path=out)
            browser.close()
    receiver.shutdown()
    print(f"wrote {Path(out).resolve()}")


if __name__ == "__main__":
    main(*sys.argv[1:])
