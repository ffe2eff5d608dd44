"""A webhook receiver with the mistakes `mock-amojo check-receiver` exists to catch. Do not copy it.

- It checks X-Signature only when the header is present, so anyone can post unsigned hooks.
- It assumes every hook names the integration's chat (conversation.client_id): a chat started
  in the CRM ("write first") has none, and the handler crashes with a 500.
- It assumes every hook is a message, so typing and reaction hooks crash as well.

    python examples/receivers/naive_receiver.py --secret YOUR_CHANNEL_SECRET --port 8766
    mock-amojo check-receiver http://127.0.0.1:8766/ --secret YOUR_CHANNEL_SECRET   # exits 1
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

inbox: list[tuple[str, str]] = []


def make_handler(secret: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            signature = self.headers.get("X-Signature")
            if signature is not None and signature != hmac.new(secret.encode(), raw, hashlib.sha1).hexdigest():
                return self.answer(403)
            body = json.loads(raw)
            try:
                chat = body["message"]["conversation"]["client_id"]
                text = body["message"]["message"]["text"]
            except KeyError:
                return self.answer(500)
            inbox.append((chat, text))
            return self.answer(200)

        def answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--secret", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), make_handler(args.secret))
    print(f"listening on http://{args.host}:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
